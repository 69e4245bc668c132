import { test } from "node:test";
import assert from "node:assert/strict";
import { implementsPoint } from "../../../../framework/scheduling/framework.ts";
import { DEFAULT_SCORE_WEIGHTS, defaultPlugins, defaultProfile, NodeResourcesFit } from "../../../../framework/scheduling/plugins/index.ts";

test("defaultPlugins: kube-scheduler's order, the guard first, DefaultBinder only with a client", () => {
  assert.deepEqual(defaultPlugins().map((p) => p.name), [
    "UnsupportedFeatures", "SchedulingGates", "PrioritySort", "NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity",
    "NodePorts", "NodeResourcesFit",
  ]);
  const withClient = defaultPlugins({ client: { bind: async () => {} } });
  assert.equal(withClient.at(-1)!.name, "DefaultBinder");
  assert.deepEqual(withClient.filter(implementsPoint.filter).map((p) => p.name),
    ["NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity", "NodePorts", "NodeResourcesFit"]);
  assert.deepEqual(withClient.filter(implementsPoint.preFilter).map((p) => p.name), ["UnsupportedFeatures", "NodeAffinity", "NodePorts", "NodeResourcesFit"]);
  assert.deepEqual(withClient.filter(implementsPoint.score).map((p) => p.name), ["TaintToleration", "NodeAffinity", "NodeResourcesFit"]);
  assert.deepEqual(withClient.filter(implementsPoint.queueSort).map((p) => p.name), ["PrioritySort"]);
  assert.deepEqual(withClient.filter(implementsPoint.bind).map((p) => p.name), ["DefaultBinder"]);
  assert.equal(new Set(withClient.map((p) => p.name)).size, withClient.length);
});

test("defaultProfile: weights TaintToleration 3, NodeAffinity 2, NodeResourcesFit 1; options reach the plugins", () => {
  const profile = defaultProfile({ schedulerName: "s" });
  assert.equal(profile.schedulerName, "s");
  assert.deepEqual(profile.scoreWeights, { TaintToleration: 3, NodeAffinity: 2, NodeResourcesFit: 1 });
  assert.equal(DEFAULT_SCORE_WEIGHTS, profile.scoreWeights);
  assert.equal(defaultProfile().schedulerName, "kubeloop-scheduler");
  assert.throws(() => defaultPlugins({ nodeResourcesFit: { scoringStrategy: { type: "MostAllocated", resources: [{ name: "cpu", weight: 200 }] } } }), /not in valid range/);
  assert.ok(defaultPlugins().find((p) => p.name === "NodeResourcesFit") instanceof NodeResourcesFit);
});
