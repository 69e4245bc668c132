/**
 * The static cost estimate (framework/cel/cost/, crd-cost.ts). Every expected cost
 * and message below is kube-apiserver v1.36.3's own: the costs are the `MaxCost` that
 * apiextensions-apiserver's `cel.Compile` gives for the rule on that schema, the messages those
 * of `ValidateCustomResourceDefinition` (through the harness' offline validator). The e2e test
 * `test/e2e/cel/estimated-cost.test.ts` compares 400 rule sets with the running API server.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { celRuleProblems } from "../../../framework/api/cel-rules.ts";
import { crdCostVerdict, crdRuleCostEnvironment, estimateCost, schemaDeclType, validateCustomResource, type SchemaNode } from "../../../framework/cel/index.ts";

const costs: [SchemaNode, string, bigint][] = [
  [{ type: "string" }, "self == 'a'", 2n],
  [{ type: "string" }, "self.matches('^a')", 314574n],
  [{ type: "string", maxLength: 10 }, "self.matches('^a')", 6n],
  [{ type: "array", items: { type: "string" } }, "self.all(x, x.startsWith('a'))", 5242877n],
  [{ type: "array", maxItems: 10, items: { type: "string", maxLength: 5 } }, "self.all(x, x.startsWith('a'))", 52n],
  [{ type: "array", items: { type: "string" } }, "self.all(x, self.all(y, x == y))", 345881509130194127n],
  [{ type: "object", additionalProperties: { type: "integer" } }, "self.all(k, self[k] > 1)", 3145725n],
  [{ type: "string", maxLength: 64 }, "self.split(',').all(p, p.size() < 8)", 1590n],
  [{ type: "array", maxItems: 100, items: { type: "string", maxLength: 63 } }, "self.sort() == self", 21023n],
  [{ type: "array", maxItems: 100, items: { type: "integer" } }, "self.distinct().size() == self.size()", 20016n],
  [{ type: "string", maxLength: 253 }, "self.replace('-', '.').lowerAscii() == self", 409n],
  [{ type: "array", items: { type: "string" } }, "self.join(',').size() < 10", 329853068906n],
  [{ type: "object", properties: { a: { type: "string", format: "date-time" }, b: { "x-kubernetes-int-or-string": true } } }, "self.a > timestamp('2020-01-01T00:00:00Z') && type(self.b) == int", 8n],
  [{ type: "string", maxLength: 45 }, "isCIDR(self) && cidr(self).containsIP('10.0.0.1')", 43n],
  [{ type: "string", maxLength: 32 }, "url(self).getHost() == 'a' && quantity('1').isLessThan(quantity('2'))", 19n],
  [{ type: "string", enum: ["Always", "Never"] }, "self in ['Always', 'Never']", 13n],
  [{ type: "integer" }, "lists.range(5).map(i, i * self).sum() < 100", 108n],
  [{ type: "object", properties: { m: { type: "object", additionalProperties: { type: "integer" } } } }, "self.?m.?k.orValue(0) > 1 && [1, ?self.m[?'j']].size() > 1", 20n],
  // A macro expanded into cel-go's bind shape: the loop over its result is sized by the result (not unbounded).
  [{ type: "array", maxItems: 10, items: { type: "string", maxLength: 5 } }, "self.sortBy(s, s).all(x, x == 'a')", 876n],
];

test("estimateCost gives kube-apiserver's estimate for rules of every kind", () => {
  for (const [schema, rule, want] of costs) {
    const got = estimateCost(rule, crdRuleCostEnvironment(schemaDeclType(schema, false)!, false));
    assert.equal(got?.max, want, `${rule} on ${JSON.stringify(schema)}`);
  }
});

test("estimateCost answers undefined where cel-go's overload choice depends on a dyn operand", () => {
  const env = crdRuleCostEnvironment(schemaDeclType({ type: "object", properties: { v: { "x-kubernetes-int-or-string": true } } }, false)!, false);
  assert.equal(estimateCost("self.v + 1 == 2", env), undefined);
  assert.equal(estimateCost("self.v < 2", env), undefined);
  assert.notEqual(estimateCost("self.v == 2", env), undefined, "equality has one overload whatever the operands");
});

const TOKENS: SchemaNode = { type: "array", items: { type: "string", maxLength: 20, "x-kubernetes-validations": [{ rule: "self.matches('^[a-z]+$')" }] } };

test("crdCostVerdict multiplies a rule by its cardinality: under an unbounded list, by how many of its items fit in 3 MiB", () => {
  const root: SchemaNode = { type: "object", properties: { spec: { type: "object", properties: { tokens: TOKENS } } } };
  const verdict = crdCostVerdict(root);
  assert.deepEqual(verdict.violations, [
    {
      field: "openAPIV3Schema.properties[spec].properties[tokens].items.x-kubernetes-validations[0].rule",
      detail: "estimated rule cost exceeds budget by factor of 2.0x (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)",
      expression: "self.matches('^[a-z]+$')",
    },
  ]);
  assert.equal(verdict.total, 19922944n);
  const bounded = crdCostVerdict({ type: "object", properties: { spec: { type: "object", properties: { tokens: { ...TOKENS, maxItems: 1000 } } } } });
  assert.deepEqual(bounded.violations, []);
  assert.equal(bounded.total, 19000n);
});

test("crdCostVerdict refuses an unbounded messageExpression and names it in the schema's total", () => {
  const root: SchemaNode = { type: "object", properties: { spec: { type: "string", "x-kubernetes-validations": [{ rule: "self.size() < 5", messageExpression: "self.split('-').join('+')" }] } } };
  const verdict = crdCostVerdict(root);
  const field = "openAPIV3Schema.properties[spec].x-kubernetes-validations[0].messageExpression";
  assert.deepEqual(
    verdict.violations.map((v) => `${v.field}: ${v.detail}`),
    [
      `${field}: estimated messageExpression cost exceeds budget by factor of more than 100x (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)`,
      `${field}: contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema`,
      "openAPIV3Schema: x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema exceeds budget by factor of more than 100x (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)",
    ],
  );
});

test("a schema the API server refuses for cost validates nothing in-process, and fails the CRD generator with the rule", () => {
  const root: SchemaNode = { type: "object", properties: { spec: { type: "object", properties: { tokens: TOKENS } } } };
  const result = validateCustomResource(root, { spec: { tokens: ["abc", "1"] } });
  assert.deepEqual(result.failures, []);
  assert.equal(result.refused.length, 1);
  assert.match(result.refused[0]!.reason, /^the API server refuses this schema: openAPIV3Schema\.properties\[spec\]\.properties\[tokens\]\.items\.x-kubernetes-validations\[0\]\.rule: Forbidden: estimated rule cost exceeds budget by factor of 2\.0x/);
  const problems = celRuleProblems(root as never, "Token");
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^Token openAPIV3Schema\.properties\[spec\]\.properties\[tokens\]\.items\.x-kubernetes-validations\[0\]\.rule: estimated rule cost exceeds budget by factor of 2\.0x .*\("self\.matches\('\^\[a-z\]\+\$'\)"\)$/);
  // With maxItems the same rules are accepted and evaluated.
  const bounded: SchemaNode = { type: "object", properties: { spec: { type: "object", properties: { tokens: { ...TOKENS, maxItems: 1000 } } } } };
  assert.equal(validateCustomResource(bounded, { spec: { tokens: ["abc", "1"] } }).failures.length, 1);
  assert.deepEqual(celRuleProblems(bounded as never, "Token"), []);
});
