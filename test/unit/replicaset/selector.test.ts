import { test } from "node:test";
import assert from "node:assert/strict";
import { selectorOf, selectorProblems, usableSelectorOf } from "../../../operators/replicaset/selector.ts";
import { matchesNothing } from "../../../framework/meta/index.ts";

test("selectorProblems: missing, empty, unknown operator, values rules, invalid keys and values", () => {
  assert.deepEqual(selectorProblems({ matchLabels: { a: "b" } }), []);
  assert.deepEqual(selectorProblems(undefined), ["spec.selector is missing"]);
  assert.deepEqual(selectorProblems({}), ["spec.selector is empty: it would select every pod"]);
  assert.match(selectorProblems({ matchExpressions: [{ key: "a", operator: "Equals", values: ["b"] }] })[0]!, /"Equals" is not a valid label selector operator/);
  assert.match(selectorProblems({ matchExpressions: [{ key: "a", operator: "In", values: [] }] })[0]!, /values set can't be empty/);
  assert.match(selectorProblems({ matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }] })[0]!, /values set must be empty/);
  assert.match(selectorProblems({ matchLabels: { "a b": "c" } })[0]!, /key: Invalid value: "a b"/);
  assert.match(selectorProblems({ matchLabels: { a: "x".repeat(64) } })[0]!, /must be no more than 63 bytes/);
});

test("selectorOf converts once per selector object; usableSelectorOf maps empty and invalid to nothing", () => {
  const sel = { matchLabels: { app: "web" } };
  assert.equal(selectorOf(sel), selectorOf(sel));
  assert.equal(selectorOf(sel).toString(), "app=web");
  assert.equal(matchesNothing(selectorOf(undefined)), true);
  assert.equal(matchesNothing(usableSelectorOf({})), true);
  assert.equal(matchesNothing(usableSelectorOf({ matchLabels: { "-bad": "x" } })), true);
  assert.equal(usableSelectorOf(sel).matches({ app: "web" }), true);
});
