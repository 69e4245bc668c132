import { test } from "node:test";
import assert from "node:assert/strict";
import { CycleState } from "../../../../framework/scheduling/framework.ts";
import { TaintToleration, toleratesTaint } from "../../../../framework/scheduling/plugins/index.ts";
import { info, makeNode, makePod, pi, scoreAll } from "./fixtures.ts";

const plugin = new TaintToleration();
const gpuTaint = { key: "gpu", value: "true", effect: "NoSchedule" };

test("TaintToleration filter: untolerated NoSchedule / NoExecute taints reject, PreferNoSchedule does not", () => {
  const pod = pi(makePod());
  const reject = { code: "UnschedulableAndUnresolvable", reasons: ["node(s) had untolerated taint(s)"] };
  assert.deepEqual(plugin.filter(new CycleState(), pod, info(makeNode("n", { taints: [gpuTaint] }))), reject);
  assert.deepEqual(plugin.filter(new CycleState(), pod, info(makeNode("n", { taints: [{ key: "k", effect: "NoExecute" }] }))), reject);
  assert.equal(plugin.filter(new CycleState(), pod, info(makeNode("n", { taints: [{ key: "k", effect: "PreferNoSchedule" }] }))).code, "Success");
  assert.equal(plugin.filter(new CycleState(), pod, info(makeNode("n"))).code, "Success");
});

test("TaintToleration filter: tolerations match by key, value, operator and effect as upstream", () => {
  const node = info(makeNode("n", { taints: [gpuTaint] }));
  const cases: Array<[Record<string, unknown>, boolean]> = [
    [{ key: "gpu", operator: "Equal", value: "true", effect: "NoSchedule" }, true],
    [{ key: "gpu", value: "true" }, true], // empty operator = Equal, empty effect = all
    [{ key: "gpu", operator: "Exists" }, true],
    [{ operator: "Exists" }, true], // empty key + Exists tolerates everything
    [{ key: "gpu", value: "false", effect: "NoSchedule" }, false],
    [{ key: "gpu", operator: "Exists", effect: "NoExecute" }, false],
    [{ key: "other", operator: "Exists" }, false],
    [{ key: "gpu", operator: "Gt", value: "0" }, false], // comparison operators are alpha and off in v1.36
  ];
  for (const [t, ok] of cases) {
    const s = plugin.filter(new CycleState(), pi(makePod({ spec: { tolerations: [t] } })), node);
    assert.equal(s.code, ok ? "Success" : "UnschedulableAndUnresolvable", JSON.stringify(t));
  }
  assert.equal(toleratesTaint({ key: "k", operator: "Equal" }, { key: "k", effect: "NoSchedule" }), true); // "" == ""
});

test("TaintToleration score: untolerated PreferNoSchedule taints counted, normalized in reverse", () => {
  const soft = (key: string) => ({ key, value: "v", effect: "PreferNoSchedule" });
  const nodes = [
    info(makeNode("none")),
    info(makeNode("one", { taints: [soft("a"), { key: "hard", effect: "NoSchedule" }] })),
    info(makeNode("two", { taints: [soft("a"), soft("b")] })),
    info(makeNode("tolerated", { taints: [soft("c")] })),
  ];
  const pod = pi(makePod({ spec: { tolerations: [{ key: "c", operator: "Exists", effect: "PreferNoSchedule" }, { key: "a", operator: "Exists", effect: "NoSchedule" }] } }));
  // raw counts 0, 1, 2, 0 -> 100 - 100*count/2
  assert.deepEqual(scoreAll(plugin, pod, nodes), { none: 100, one: 50, two: 0, tolerated: 100 });
  // three taints max: 100 - trunc(100*1/3) = 67
  const three = [info(makeNode("x", { taints: [soft("a"), soft("b"), soft("d")] })), info(makeNode("y", { taints: [soft("a")] }))];
  assert.deepEqual(scoreAll(plugin, pi(makePod()), three), { x: 0, y: 67 });
  // no taints anywhere: every node 100
  assert.deepEqual(scoreAll(plugin, pi(makePod()), [info(makeNode("p")), info(makeNode("q"))]), { p: 100, q: 100 });
});

test("TaintToleration hints: a node losing its untolerated taint, or the pod's tolerations changing, requeue", () => {
  const [nodeAdd, nodeUpdate, podUpdate] = plugin.eventsToRegister();
  assert.deepEqual([nodeAdd!.event, nodeUpdate!.event, podUpdate!.event], [
    { resource: "Node", action: "Add" }, { resource: "Node", action: "Update" }, { resource: "Pod", action: "Update" },
  ]);
  const pod = makePod({ name: "a" });
  const tainted = makeNode("n", { taints: [gpuTaint] });
  const clean = makeNode("n");
  assert.equal(nodeAdd!.hint!(pod, undefined, clean), "Queue");
  assert.equal(nodeAdd!.hint!(pod, undefined, tainted), "QueueSkip");
  assert.equal(nodeUpdate!.hint!(pod, tainted, clean), "Queue");
  assert.equal(nodeUpdate!.hint!(pod, clean, makeNode("n", { labels: { x: "y" } })), "QueueSkip");
  const tolerating = makePod({ name: "a", spec: { tolerations: [{ key: "gpu", operator: "Exists" }] } });
  assert.equal(podUpdate!.hint!(pod, pod, tolerating), "Queue");
  assert.equal(podUpdate!.hint!(pod, pod, makePod({ name: "a", meta: { labels: { x: "y" } } })), "QueueSkip");
  assert.equal(podUpdate!.hint!(pod, makePod({ name: "b" }), makePod({ name: "b", spec: tolerating.spec as never })), "QueueSkip");
});
