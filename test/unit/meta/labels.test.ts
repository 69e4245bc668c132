// Ported from apimachinery v0.36.3 pkg/labels/selector_test.go, labels_test.go and
// pkg/apis/meta/v1/helpers_test.go (TestLabelSelectorAsSelector), plus
// pkg/api/validate/content/kube_test.go for the label key/value messages.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  everything,
  formatLabels,
  isLabelKey,
  isLabelValue,
  labelSelectorAsSelector,
  LabelSelectorError,
  matchesNothing,
  newRequirement,
  nothing,
  parseSelector,
  selectorFromRequirements,
  selectorFromSet,
  type SelectionOperator,
} from "../../../framework/meta/index.ts";

const set = (s: Record<string, string>) => s;

test("TestSelectorParse: good strings re-print without spaces; bad strings throw", () => {
  for (const good of ["x=a,y=b,z=c", "", "x!=a,y=b", "x=", "x= ", "x=,z= ", "x= ,z= ", "!x", "x>1", "x>1,z<5"]) {
    assert.equal(parseSelector(good).toString(), good.replaceAll(" ", ""), good);
  }
  for (const bad of ["x=a||y=b", "x==a==b", "!x=a", "x<a"]) {
    assert.throws(() => parseSelector(bad), LabelSelectorError, bad);
  }
});

test("TestDeterministicParse", () => {
  assert.equal(parseSelector("x=a,a=x").toString(), parseSelector("a=x,x=a").toString());
  assert.equal(parseSelector("x=a,a=x").toString(), "a=x,x=a");
});

test("TestEverything / TestMatchesNothing", () => {
  assert.equal(everything().matches({ x: "y" }), true);
  assert.equal(everything().empty(), true);
  assert.equal(nothing().matches({}), false);
  assert.equal(nothing().empty(), false);
  assert.equal(nothing().toString(), "");
  assert.equal(matchesNothing(nothing()), true);
  assert.equal(matchesNothing(everything()), false);
  assert.equal(matchesNothing(selectorFromSet({})), false);
  assert.equal(matchesNothing(selectorFromSet({ key: "value" })), false);
  for (const s of ["", "a", "!a", "a=b", "a!=b", "a in (b)", "a notin (b)", "a,!a", "a=b,a!=b", "a in (b),a notin (b)"]) {
    assert.equal(matchesNothing(parseSelector(s)), false, s);
  }
});

test("TestSelectorMatches", () => {
  const match = (sel: string, ls: Record<string, string>) => assert.equal(parseSelector(sel).matches(ls), true, `${sel} should match ${JSON.stringify(ls)}`);
  const noMatch = (sel: string, ls: Record<string, string>) => assert.equal(parseSelector(sel).matches(ls), false, `${sel} should not match ${JSON.stringify(ls)}`);
  match("", { x: "y" });
  match("x=y", { x: "y" });
  match("x=y,z=w", { x: "y", z: "w" });
  match("x!=y,z!=w", { x: "z", z: "a" });
  match("notin=in", { notin: "in" });
  match("x", { x: "z" });
  match("!x", { y: "z" });
  match("x>1", { x: "2" });
  match("x<1", { x: "0" });
  noMatch("x=z", {});
  noMatch("x=y", { x: "z" });
  noMatch("x=y,z=w", { x: "w", z: "w" });
  noMatch("x!=y,z!=w", { x: "z", z: "w" });
  noMatch("x", { y: "z" });
  noMatch("!x", { x: "z" });
  noMatch("x>1", { x: "0" });
  noMatch("x<1", { x: "2" });
  const labelset = { foo: "bar", baz: "blah" };
  match("foo=bar", labelset);
  match("baz=blah", labelset);
  match("foo=bar,baz=blah", labelset);
  noMatch("foo=blah", labelset);
  noMatch("baz=bar", labelset);
  noMatch("foo=bar,foobar=bar,baz=blah", labelset);
});

test("TestSetMatches / TestNilMapIsValid / TestSetIsEmpty", () => {
  const labelset = { foo: "bar", baz: "blah" };
  for (const s of [{}, { foo: "bar" }, { baz: "blah" }, { baz: "blah", foo: "bar" }] as Record<string, string>[]) assert.equal(selectorFromSet(s).matches(labelset), true);
  assert.equal(selectorFromSet(undefined).empty(), true);
  assert.equal(selectorFromSet({}).empty(), true);
  assert.equal(selectorFromSet(undefined).matches(undefined), true);
  assert.equal(selectorFromSet({ a: "b" }).empty(), false);
});

test("TestRequirementConstructor: the errors and their field paths", () => {
  const cases: Array<[string, SelectionOperator | string, string[], string | undefined]> = [
    ["x1", "in", [], "values: Invalid value: []"],
    ["x2", "notin", [], "values: Invalid value: []"],
    ["x3", "in", ["foo"], undefined],
    ["x4", "notin", ["foo"], undefined],
    ["x5", "=", ["bar", "foo"], "values: Invalid value: [\"bar\",\"foo\"]: exact-match compatibility requires one single value"],
    ["x6", "exists", [], undefined],
    ["x7", "!", [], undefined],
    ["x8", "exists", ["foo"], "values: Invalid value: [\"foo\"]: values set must be empty for exists and does not exist"],
    ["x9", "in", ["bar"], undefined],
    ["x11", "gt", ["1"], undefined],
    ["x12", "lt", ["6"], undefined],
    ["x13", "gt", [], "values: Invalid value: []: for 'Gt', 'Lt' operators, exactly one value is required"],
    ["x14", "gt", ["bar"], "values[0]: Invalid value: \"bar\": for 'Gt', 'Lt' operators, the value must be an integer"],
    ["x15", "lt", ["bar"], "values[0]: Invalid value: \"bar\""],
    ["a".repeat(254), "exists", [], "key: Invalid value:"],
    ["x16", "=", ["a".repeat(254)], "values[0][x16]: Invalid value:"],
    ["x17", "=", ["a b"], "values[0][x17]: Invalid value: \"a b\""],
    ["x18", "unsupportedOp", [], "operator: Unsupported value: \"unsupportedOp\""],
  ];
  for (const [key, op, values, want] of cases) {
    if (want === undefined) {
      assert.doesNotThrow(() => newRequirement(key, op as SelectionOperator, values), key);
    } else {
      assert.throws(
        () => newRequirement(key, op as SelectionOperator, values),
        (err: unknown) => err instanceof LabelSelectorError && err.causes.length === 1 && err.causes[0]!.startsWith(want),
        `${key}: want ${want}`,
      );
    }
  }
});

test("TestToString", () => {
  const r = (k: string, op: SelectionOperator, v: string[] = []) => newRequirement(k, op, v);
  assert.equal(selectorFromRequirements([r("x", "in", ["abc", "def"]), r("y", "notin", ["jkl"]), r("z", "exists")]).toString(), "x in (abc,def),y notin (jkl),z");
  assert.equal(selectorFromRequirements([r("x", "notin", ["def", "abc"]), r("y", "!=", ["jkl"]), r("z", "!")]).toString(), "x notin (abc,def),y!=jkl,!z");
  assert.equal(
    selectorFromRequirements([r("x", "notin", ["abc"]), r("y", "in", ["jkl", "mno"]), r("z", "notin", [""])]).toString(),
    "x notin (abc),y in (jkl,mno),z notin ()",
  );
  assert.equal(
    selectorFromRequirements([r("x", "=", ["abc"]), r("y", "==", ["jkl"]), r("z", "!=", ["a"]), r("z", "exists")]).toString(),
    "x=abc,y==jkl,z!=a,z",
  );
  assert.equal(selectorFromRequirements([r("x", "gt", ["2"]), r("y", "lt", ["8"]), r("z", "exists")]).toString(), "x>2,y<8,z");
});

test("TestRequirementSelectorMatching", () => {
  const r = (k: string, op: SelectionOperator, v: string[] = []) => newRequirement(k, op, v);
  const cases: Array<[Record<string, string>, ReturnType<typeof r>[], boolean]> = [
    [set({ x: "foo", y: "baz" }), [r("x", "in", ["foo"]), r("y", "notin", ["alpha"])], true],
    [set({ x: "foo", y: "baz" }), [r("x", "in", ["foo"]), r("y", "in", ["alpha"])], false],
    [set({ y: "" }), [r("x", "notin", [""]), r("y", "exists")], true],
    [set({ y: "" }), [r("x", "!"), r("y", "exists")], true],
    [set({ y: "" }), [r("x", "notin", [""]), r("y", "!")], false],
    [set({ y: "baz" }), [r("x", "in", [""])], false],
    [set({ z: "2" }), [r("z", "gt", ["1"])], true],
    [set({ z: "v2" }), [r("z", "gt", ["1"])], false],
  ];
  for (const [labels, reqs, want] of cases) {
    assert.equal(selectorFromRequirements(reqs).matches(labels), want, `${selectorFromRequirements(reqs)} vs ${JSON.stringify(labels)}`);
  }
});

test("TestSetSelectorParser: accepted strings and what they parse to; refused strings", () => {
  const good: Array<[string, string]> = [
    ["", ""],
    ["\rx", "x"],
    ["this-is-a-dns.domain.com/key-with-dash", "this-is-a-dns.domain.com/key-with-dash"],
    ["this-is-another-dns.domain.com/key-with-dash in (so,what)", "this-is-another-dns.domain.com/key-with-dash in (so,what)"],
    ["0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)", "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)"],
    ["foo  in\t (abc)", "foo in (abc)"],
    ["x notin\n (abc)", "x notin (abc)"],
    ["x  notin\t\t\t(abc,def)", "x notin (abc,def)"],
    ["x in (abc,def)", "x in (abc,def)"],
    ["x in (abc,)", "x in (,abc)"],
    ["x in (abc,abc)", "x in (abc)"],
    ["x in ()", "x in ()"],
    ["x in (a,,)", "x in (,a)"],
    ["x in (a,,,)", "x in (,a)"],
    ["x in (a,,,,,,)", "x in (,a)"],
    ["x in (a,,a,,a,,a,,)", "x in (,a)"],
    ["x notin (abc,,def),bar,z in (),w", "bar,w,x notin (,abc,def),z in ()"],
    ["x,y in (a)", "x,y in (a)"],
    ["x=a", "x=a"],
    ["x>1", "x>1"],
    ["x<7", "x<7"],
    ["x=a,y!=b", "x=a,y!=b"],
    ["x=a,y!=b,z in (h,i,j)", "x=a,y!=b,z in (h,i,j)"],
    ["x notin ( )", "x notin ()"],
    ["x notin (, a)", "x notin (,a)"],
    ["a ", "a"],
    ["a in (x,y,notin, z,in)", "a in (in,notin,x,y,z)"],
  ];
  for (const [input, printed] of good) assert.equal(parseSelector(input).toString(), printed, JSON.stringify(input));
  for (const bad of ["x=a||y=b", "x,,y", ",x,y", "x nott in (y)", "a in (xyz),", "a in (xyz)b notin ()", "a in (xyz abc)", "a notin(", "a (", "("]) {
    assert.throws(() => parseSelector(bad), LabelSelectorError, JSON.stringify(bad));
  }
});

test("TestRequiresExactMatch", () => {
  assert.equal(parseSelector("key in (value)").requiresExactMatch("key"), "value");
  assert.equal(parseSelector("key in (value,value2)").requiresExactMatch("key"), undefined);
  assert.equal(parseSelector("key in (value,value1),key2 in (value2)").requiresExactMatch("key2"), "value2");
  assert.equal(parseSelector("key=value").requiresExactMatch("key"), "value");
  assert.equal(parseSelector("key==value").requiresExactMatch("key"), "value");
  assert.equal(parseSelector("key!=value").requiresExactMatch("key"), undefined);
  assert.equal(parseSelector("key in (value),key2 in (value2)").requiresExactMatch("key"), "value");
});

test("TestSetString / FormatLabels: sorted by key", () => {
  assert.equal(formatLabels({ x: "y" }), "x=y");
  assert.equal(formatLabels({ foo: "bar", baz: "qup" }), "baz=qup,foo=bar");
  assert.equal(formatLabels({}), "<none>");
  assert.equal(selectorFromSet({ app: "foo", a: "b" }).toString(), "a=b,app=foo");
});

test("TestLabelSelectorAsSelector: nil selects nothing, {} everything, expressions sorted", () => {
  const matchLabels = { foo: "bar" };
  const matchExpressions = [{ key: "baz", operator: "In", values: ["qux", "norf"] }];
  assert.equal(matchesNothing(labelSelectorAsSelector(undefined)), true);
  assert.equal(matchesNothing(labelSelectorAsSelector(null)), true);
  assert.equal(labelSelectorAsSelector(undefined).matches({ any: "thing" }), false);
  assert.equal(labelSelectorAsSelector({}).empty(), true);
  assert.equal(labelSelectorAsSelector({}).matches({ any: "thing" }), true);
  assert.equal(labelSelectorAsSelector({ matchLabels: {}, matchExpressions: [] }).matches(undefined), true);
  assert.equal(labelSelectorAsSelector({ matchLabels }).toString(), "foo=bar");
  assert.equal(labelSelectorAsSelector({ matchExpressions }).toString(), "baz in (norf,qux)");
  assert.equal(labelSelectorAsSelector({ matchLabels, matchExpressions }).toString(), "baz in (norf,qux),foo=bar");
  assert.deepEqual(matchExpressions[0]!.values, ["qux", "norf"], "the input is not modified");
  assert.throws(() => labelSelectorAsSelector({ matchExpressions: [{ key: "baz", operator: "Exists", values: ["qux", "norf"] }] }), LabelSelectorError);
  assert.throws(
    () => labelSelectorAsSelector({ matchExpressions: [{ key: "baz", operator: "Equals", values: ["a"] }] }),
    /"Equals" is not a valid label selector operator/,
  );
  assert.throws(() => labelSelectorAsSelector({ matchLabels: { "bad key": "a" } }), /key: Invalid value: "bad key"/);
});

test("LabelSelectorAsSelector matching: NotIn and DoesNotExist match a missing key", () => {
  const sel = labelSelectorAsSelector({
    matchLabels: { app: "web" },
    matchExpressions: [
      { key: "tier", operator: "In", values: ["a", "b"] },
      { key: "env", operator: "NotIn", values: ["prod"] },
      { key: "team", operator: "Exists" },
      { key: "legacy", operator: "DoesNotExist" },
    ],
  });
  assert.equal(sel.matches({ app: "web", tier: "a", team: "x" }), true);
  assert.equal(sel.matches({ app: "web", tier: "a", team: "x", env: "dev" }), true);
  assert.equal(sel.matches({ app: "web", tier: "a", team: "x", env: "prod" }), false);
  assert.equal(sel.matches({ app: "web", tier: "c", team: "x" }), false);
  assert.equal(sel.matches({ app: "web", tier: "a" }), false);
  assert.equal(sel.matches({ app: "web", tier: "a", team: "x", legacy: "" }), false);
  assert.equal(sel.matches(undefined), false);
  assert.equal(sel.toString(), "app=web,env notin (prod),!legacy,team,tier in (a,b)");
});

test("content.IsLabelKey / IsLabelValue: what is valid and apimachinery's messages", () => {
  for (const ok of ["simple", "now-with-dashes", "1-starts-with-num", "1234", "simple/simple", "now-with-dashes/simple", "1-2-3-4/5-6-7-8", "a".repeat(253) + "/" + "b".repeat(63), "example.com/MyName"]) {
    assert.deepEqual(isLabelKey(ok), [], ok);
  }
  for (const bad of ["nospecialchars%^=@", "cantendwithadash-", "-cantstartwithadash-", "only/one/slash", "Example/nospecialchars%^=@", "/simple", "a".repeat(64), "a".repeat(254) + "/abc", "A/b", ""]) {
    assert.notDeepEqual(isLabelKey(bad), [], bad);
  }
  assert.deepEqual(isLabelKey("a".repeat(64)), ["name part must be no more than 63 bytes"]);
  assert.deepEqual(isLabelKey("/a"), ["prefix part must be non-empty"]);
  assert.deepEqual(isLabelKey("a-"), [
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
  ]);
  assert.deepEqual(isLabelValue(""), []);
  assert.deepEqual(isLabelValue("a".repeat(63)), []);
  assert.deepEqual(isLabelValue("a".repeat(64)), ["must be no more than 63 bytes"]);
  assert.deepEqual(isLabelValue("a b"), [
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
  ]);
});
