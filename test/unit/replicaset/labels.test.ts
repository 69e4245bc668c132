import { test } from "node:test";
import assert from "node:assert/strict";
import { formatSelector, labelsContain, selectorMatches, selectorProblems } from "../../../operators/replicaset/labels.ts";

test("selectorMatches: matchLabels and every expression operator", () => {
  const sel = {
    matchLabels: { app: "web" },
    matchExpressions: [
      { key: "tier", operator: "In", values: ["a", "b"] },
      { key: "env", operator: "NotIn", values: ["prod"] },
      { key: "team", operator: "Exists" },
      { key: "legacy", operator: "DoesNotExist" },
    ],
  };
  assert.equal(selectorMatches(sel, { app: "web", tier: "a", team: "x" }), true);
  assert.equal(selectorMatches(sel, { app: "web", tier: "a", team: "x", env: "dev" }), true);
  assert.equal(selectorMatches(sel, { app: "web", tier: "a", team: "x", env: "prod" }), false);
  assert.equal(selectorMatches(sel, { app: "web", tier: "c", team: "x" }), false);
  assert.equal(selectorMatches(sel, { app: "web", tier: "a" }), false);
  assert.equal(selectorMatches(sel, { app: "web", tier: "a", team: "x", legacy: "" }), false);
  assert.equal(selectorMatches(sel, { app: "db", tier: "a", team: "x" }), false);
  assert.equal(selectorMatches(sel, undefined), false);
});

test("selectorProblems: empty, unknown operator, values rules", () => {
  assert.deepEqual(selectorProblems({ matchLabels: { a: "b" } }), []);
  assert.equal(selectorProblems(undefined).length, 1);
  assert.equal(selectorProblems({}).length, 1);
  assert.equal(selectorProblems({ matchExpressions: [{ key: "a", operator: "Equals", values: ["b"] }] }).length, 1);
  assert.equal(selectorProblems({ matchExpressions: [{ key: "a", operator: "In", values: [] }] }).length, 1);
  assert.equal(selectorProblems({ matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }] }).length, 1);
});

test("formatSelector: sorted by key, values sorted, API string syntax", () => {
  assert.equal(formatSelector({
    matchLabels: { b: "2", a: "1" },
    matchExpressions: [
      { key: "z", operator: "DoesNotExist" },
      { key: "c", operator: "NotIn", values: ["y", "x"] },
      { key: "d", operator: "Exists" },
      { key: "c0", operator: "In", values: ["q"] },
    ],
  }), "a=1,b=2,c notin (x,y),c0 in (q),d,!z");
});

test("labelsContain", () => {
  assert.equal(labelsContain({ a: "1", b: "2" }, { a: "1" }), true);
  assert.equal(labelsContain({ a: "1" }, { a: "1", b: "2" }), false);
  assert.equal(labelsContain(undefined, {}), true);
});
