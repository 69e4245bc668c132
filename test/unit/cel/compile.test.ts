import { test } from "node:test";
import assert from "node:assert/strict";
import { CelCompileError, compile, escapePropertyName, type SchemaNode } from "../../../framework/cel/index.ts";

const env = { variables: ["self", "oldSelf"] };

function value(expr: string, self: unknown = null): unknown {
  const r = compile(expr, env).evaluate({ self: self as never });
  assert.equal(r.kind, "value", `${expr}: ${r.kind}`);
  return r.kind === "value" ? r.value : undefined;
}

function compileError(expr: string, schemas?: Record<string, SchemaNode>): CelCompileError {
  try {
    compile(expr, { ...env, ...(schemas ? { schemas } : {}) });
  } catch (e) {
    assert.ok(e instanceof CelCompileError);
    return e;
  }
  assert.fail(`${expr} compiled`);
}

test("compile errors carry the position and the reason", () => {
  const e = compileError("self.size() > 1 &&");
  assert.equal(e.position.line, 1);
  assert.match(e.reason, /^Syntax error/);
  const u = compileError("self > 0 && foo(self)");
  assert.deepEqual([u.position.line, u.position.column], [1, 16]);
  assert.equal(u.reason, "undeclared reference to 'foo' (in container '')");
  assert.match(u.message, /^ERROR: <input>:1:16: undeclared reference to 'foo'/);
  assert.equal(compileError("x + 1").reason, "undeclared reference to 'x' (in container '')");
  assert.match(compileError("[1, 'a']").reason, /expected type 'int' but found 'string'/);
  assert.match(compileError("'a'.matches('(')").reason, /invalid matches argument/);
  assert.match(compileError("duration('1x') > duration('1s')").reason, /invalid duration argument/);
  assert.match(compileError("sets.nope([1], [1])").reason, /undeclared reference to 'sets.nope'/);
});

test("field names are checked against the schema of self, under their escaped names", () => {
  const schema = { type: "object", properties: { "dash-name": { type: "string" }, namespace: { type: "string" } } };
  assert.equal(compileError("self.dashName == 'x'", { self: schema }).reason, "undefined field 'dashName'");
  compile("self.dash__dash__name == 'x' && self.__namespace__ == 'y'", { ...env, schemas: { self: schema } });
});

test("what the engine cannot evaluate exactly is refused, when compiled or when evaluated", () => {
  // sortBy with equal keys (cel-go's sort is not stable), a message construction, format.uri().
  for (const expr of ["[2, 1, 1].sortBy(x, x)[0] == 1", "google.protobuf.Int64Value{value: 1} == 1", "format.uri().validate(self).hasValue()"]) {
    const p = compile(expr, env);
    assert.equal(p.evaluate({ self: "a" }).kind, "refused", expr);
  }
});

test("two-variable comprehensions: (index, value) over lists, (key, value) over maps, as cel-go expands them", () => {
  const m = new Map<string, bigint>([["a", 1n], ["b", 2n]]);
  assert.equal(value("self.all(i, v, v > i)", [1n, 2n]), true);
  assert.equal(value("self.exists(k, v, k == 'b' && v == 2)", m), true);
  assert.equal(value("self.existsOne(k, v, v > 0)", m), false);
  assert.equal(value("self.transformList(i, v, i * v).sum()", [10n, 20n, 30n]), 80n);
  assert.equal(value("self.transformMap(k, v, v > 1, v * 10)['b']", m), 20n);
  assert.equal(value("self.transformMapEntry(k, v, {v: k})[2]", m), "b");
  // An inner comprehension's variable of the same name shadows the outer one.
  assert.equal(value("self.all(k, v, [1].all(v, v == 1) && v > 0)", m), true);
  const dup = compile("self.transformMapEntry(k, v, {'x': v}).size() == 1", env).evaluate({ self: m as never });
  assert.deepEqual(dup, { kind: "error", message: "insert failed: key x already exists" });
  // A list of a map's entries is in Go's random map order on the API server.
  assert.equal(compile("self.transformList(k, v, v).size() == 2", env).evaluate({ self: m as never }).kind, "refused");
  assert.equal(compileError("self.all(k, k, true)").reason, "duplicate variable name: k");
  assert.equal(compileError("self.all(k.a, v, true)").reason, "argument must be a simple name");
});

test("optional syntax: a.?b, a[?k], optional list elements and map entries, as cel-go parses and evaluates them", () => {
  const self = new Map<string, unknown>([["a", 1n], ["m", new Map([["x", "1"]])], ["l", [1n, 2n]]]);
  const schemas = { self: { type: "object", properties: { a: { type: "integer" }, m: { type: "object", additionalProperties: { type: "string" } }, l: { type: "array", items: { type: "integer" } } } } } as Record<string, SchemaNode>;
  const of = (expr: string) => {
    const r = compile(expr, { ...env, schemas }).evaluate({ self: self as never });
    return r.kind === "value" ? r.value : r;
  };
  assert.equal(of("self.?a.orValue(5)"), 1n);
  assert.equal(of("self.?m.?y.orValue('none')"), "none");
  assert.equal(of("self.l[?5].hasValue()"), false);
  assert.equal(of("[1, ?self.?a, ?self.m[?'zz']].size()"), 2n);
  assert.equal(of("{'k': 1, ?'j': optional.none()}.size()"), 1n);
  // `?` inside strings and the conditional operator are left alone.
  assert.equal(of("self.?a.hasValue() ? '?[' : r'.?'"), "?[");
  // Fields are checked through `.?` as through `.`, at cel-go's position.
  const err = compileError("self.?b.orValue(5) == 5", schemas);
  assert.equal(err.reason, "undefined field 'b'");
  assert.equal(err.position.column, 5);
});

test("the format library: named formats validate with apimachinery's messages; uri is refused", () => {
  assert.equal(value("format.dns1123Label().validate(self).hasValue()", "my-name"), false);
  assert.equal(value("format.dns1123Label().validate(self).value()[0]", "a.b"), "must not contain dots");
  // A generateName prefix may end in '-' (upstream checks the name with its last two characters replaced by 'a').
  assert.equal(value("format.dns1123LabelPrefix().validate(self).hasValue()", "web-"), false);
  assert.equal(value("format.named('date').value().validate(self).value()[0]", "2023-02-29"), "invalid date");
  assert.equal(value("format.named('nope').hasValue()"), false);
  assert.equal(compile("format.uri().validate(self).hasValue()", env).evaluate({ self: "x" }).kind, "refused");
});

test("standard CEL and ext strings v2", () => {
  assert.equal(value("self.split('-').join('+')", "a-b"), "a+b");
  assert.equal(value("'%s=%s'.format(['a', 'b'])"), "a=b");
  assert.equal(value("self.all(x, x > 0)", [1n, 2n]), true);
  assert.equal(value("size(self)", "ü"), 1n);
});

test("property names escape as the API server escapes them", () => {
  assert.equal(escapePropertyName("foo"), "foo");
  assert.equal(escapePropertyName("dash-name"), "dash__dash__name");
  assert.equal(escapePropertyName("a.b/c"), "a__dot__b__slash__c");
  assert.equal(escapePropertyName("__x"), "__underscores__x");
  assert.equal(escapePropertyName("namespace"), "__namespace__");
  assert.equal(escapePropertyName("1a"), undefined);
  assert.equal(escapePropertyName("a b"), undefined);
});

test("admission environments: policy variables; authorizer refused in-process; constructions only in the mutating one", async () => {
  const { VALIDATING_POLICY_ENVIRONMENT, MUTATING_POLICY_ENVIRONMENT } = await import("../../../framework/cel/index.ts");
  const p = compile("object.spec.replicas <= params.max && request.operation == 'CREATE'", VALIDATING_POLICY_ENVIRONMENT);
  assert.equal(p.refusal, undefined);
  assert.equal(p.evaluate({ object: new Map([["spec", new Map([["replicas", 3n]])]]), params: new Map([["max", 5n]]), request: new Map([["operation", "CREATE"]]) }).kind, "value");
  assert.match(compile("authorizer.group('apps').resource('deployments').check('create').allowed()", VALIDATING_POLICY_ENVIRONMENT).refusal ?? "", /authz/);
  const patch = compile("[JSONPatch{op: 'add', path: '/x', value: 1}]", MUTATING_POLICY_ENVIRONMENT);
  assert.equal(patch.refusal, undefined);
  assert.equal(patch.evaluate({}).kind, "value");
  assert.match(compile("[JSONPatch{op: 'add', path: '/x', value: 1}]", VALIDATING_POLICY_ENVIRONMENT).refusal ?? "", /message construction/);
  assert.match(compile("[JSONPatch{op: 'add', path: '/x', extra: 1}]", MUTATING_POLICY_ENVIRONMENT).refusal ?? "", /JSONPatch has no field extra/);
  assert.throws(() => compile("objec.x", VALIDATING_POLICY_ENVIRONMENT), CelCompileError);
});

test("== between operands of certainly different types is refused as cel-go's checker refuses it", () => {
  const schema: SchemaNode = { type: "object", properties: { a: { type: "integer" }, s: { type: "string" } } };
  assert.match(compileError("self.a == 1.0", { self: schema }).reason, /found no matching overload for '_==_' applied to '\(int, double\)'/);
  assert.match(compileError("self.s != 1", { self: schema }).reason, /applied to '\(string, int\)'/);
  compile("self.a == 1 && self.s == 'x' && self.a < 2.5", { ...env, schemas: { self: schema } });
});

test("calls whose operand types are certain are refused with cel-go's overload error, at its position", () => {
  // Each message (the first line, position included) is what kube-apiserver v1.36.3 answered
  // for the rule on a CRD field of that schema (the harness' validate-crd, 2026-12-04).
  const cases: Array<[SchemaNode, string, string]> = [
    [{ type: "string", maxLength: 10 }, "self[5] == 'a'", "ERROR: <input>:1:5: found no matching overload for '_[_]' applied to '(string, int)'"],
    [{ type: "string", maxLength: 10 }, "self['a'] == 'a'", "ERROR: <input>:1:5: found no matching overload for '_[_]' applied to '(string, string)'"],
    [{ type: "integer" }, "self[0] == 1", "ERROR: <input>:1:5: found no matching overload for '_[_]' applied to '(int, int)'"],
    [{ type: "boolean" }, "self[0]", "ERROR: <input>:1:5: found no matching overload for '_[_]' applied to '(bool, int)'"],
    [{ type: "number" }, "self[0] == 1.0", "ERROR: <input>:1:5: found no matching overload for '_[_]' applied to '(double, int)'"],
    [{ type: "object", properties: { a: { type: "string", maxLength: 4 } } }, "self.a[0] == 'x'", "ERROR: <input>:1:7: found no matching overload for '_[_]' applied to '(string, int)'"],
    [{ type: "string", maxLength: 10 }, "string(type(self)) == 'x'", "ERROR: <input>:1:7: found no matching overload for 'string' applied to '(type(string))'"],
    [{ type: "integer" }, "string(type(self)) == 'x'", "ERROR: <input>:1:7: found no matching overload for 'string' applied to '(type(int))'"],
    [{ type: "array", maxItems: 5, items: { type: "integer" } }, "string(type(self)) == 'x'", "ERROR: <input>:1:7: found no matching overload for 'string' applied to '(type(list(int)))'"],
    [{ type: "array", maxItems: 5, items: { type: "integer" } }, "self.flatten().size() > 0", "ERROR: <input>:1:13: found no matching overload for 'flatten' applied to 'list(int).()'"],
    [{ type: "array", maxItems: 5, items: { type: "string", maxLength: 5 } }, "self.flatten().size() > 0", "ERROR: <input>:1:13: found no matching overload for 'flatten' applied to 'list(string).()'"],
    [{ type: "integer" }, "self.size() > 0", "ERROR: <input>:1:10: found no matching overload for 'size' applied to 'int.()'"],
    [{ type: "integer" }, "size(self) > 0", "ERROR: <input>:1:5: found no matching overload for 'size' applied to '(int)'"],
    [{ type: "boolean" }, "self.size() > 0", "ERROR: <input>:1:10: found no matching overload for 'size' applied to 'bool.()'"],
  ];
  for (const [schema, rule, message] of cases) {
    assert.equal(compileError(rule, { self: schema }).message.split("\n")[0], message, rule);
  }
  // The API server accepts these: the types are lists, maps, dyn, or not certain here.
  const accepted: Array<[SchemaNode, string]> = [
    [{ type: "array", maxItems: 5, items: { type: "array", maxItems: 5, items: { type: "integer" } } }, "self.flatten().size() > 0"],
    [{ type: "integer" }, "type(self) == int"],
    [{ type: "array", maxItems: 5, items: { type: "string", maxLength: 5 } }, "self[0] == 'a' && self.size() > 0 && size(self[0]) > 0"],
    [{ type: "object", maxProperties: 5, additionalProperties: { type: "integer" } }, "self['a'] == 1"],
    [{ type: "string", maxLength: 10 }, "self.size() > 0 && [self].map(x, x)[0] == 'a'"],
    [{ "x-kubernetes-int-or-string": true }, "string(self) == '1'"],
  ];
  for (const [schema, rule] of accepted) compile(rule, { ...env, schemas: { self: schema } });
});

test("through an optional oldSelf (optionalOldSelf rules) types are optional_type, and fields are still checked, as cel-go does", () => {
  // Messages from kube-apiserver v1.36.3 (validate-crd, 2026-12-04) for these rules with optionalOldSelf: true.
  const optionalEnv = (schema: SchemaNode) => ({ variables: ["self", "oldSelf"], schemas: { self: schema, oldSelf: schema }, optional: ["oldSelf"] });
  const firstLine = (rule: string, schema: SchemaNode): string => {
    try {
      compile(rule, optionalEnv(schema));
    } catch (e) {
      assert.ok(e instanceof CelCompileError);
      return e.message.split("\n")[0]!;
    }
    return "compiled";
  };
  const object: SchemaNode = { type: "object", properties: { a: { type: "integer" } } };
  const list: SchemaNode = { type: "array", maxItems: 3, items: { type: "integer" } };
  assert.equal(firstLine("oldSelf.a == 1", object), "ERROR: <input>:1:11: found no matching overload for '_==_' applied to '(optional_type(int), int)'");
  assert.equal(firstLine("oldSelf.b == 1", object), "ERROR: <input>:1:8: undefined field 'b'");
  assert.equal(firstLine("oldSelf.value().a == 1", object), "compiled");
  assert.equal(firstLine("int(oldSelf) == 1", { type: "integer" }), "ERROR: <input>:1:4: found no matching overload for 'int' applied to '(optional_type(int))'");
  assert.equal(firstLine("size(oldSelf) == 1", { type: "integer" }), "ERROR: <input>:1:5: found no matching overload for 'size' applied to '(optional_type(int))'");
  assert.equal(firstLine("string(oldSelf) == 'x'", { type: "integer" }), "ERROR: <input>:1:7: found no matching overload for 'string' applied to '(optional_type(int))'");
  assert.equal(firstLine("string(oldSelf) == 'x'", { type: "string", maxLength: 10 }), "ERROR: <input>:1:7: found no matching overload for 'string' applied to '(optional_type(string))'");
  assert.equal(firstLine("string(oldSelf) == 'x'", list), "ERROR: <input>:1:7: found no matching overload for 'string' applied to '(optional_type(list(int)))'");
  assert.equal(firstLine("oldSelf.hasValue() ? 'had a value' : 'new'", { type: "integer" }), "compiled");
});
