import { test } from "node:test";
import assert from "node:assert/strict";
import { CycleState } from "../../../../framework/scheduling/framework.ts";
import { NodeUnschedulable } from "../../../../framework/scheduling/plugins/index.ts";
import { info, makeNode, makePod, pi } from "./fixtures.ts";

const plugin = new NodeUnschedulable();
const cordoned = makeNode("n1", { spec: { unschedulable: true } });

test("NodeUnschedulable: a cordoned node is UnschedulableAndUnresolvable with upstream's reason", () => {
  const s = plugin.filter(new CycleState(), pi(makePod()), info(cordoned));
  assert.deepEqual(s, { code: "UnschedulableAndUnresolvable", reasons: ["node(s) were unschedulable"] });
  assert.equal(plugin.filter(new CycleState(), pi(makePod()), info(makeNode("n2"))).code, "Success");
});

test("NodeUnschedulable: a pod tolerating node.kubernetes.io/unschedulable:NoSchedule passes", () => {
  const tolerant = [
    { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/unschedulable", operator: "Exists" },
    { operator: "Exists" },
  ];
  for (const t of tolerant) {
    assert.equal(plugin.filter(new CycleState(), pi(makePod({ spec: { tolerations: [t] } })), info(cordoned)).code, "Success", JSON.stringify(t));
  }
  const wrongEffect = makePod({ spec: { tolerations: [{ key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoExecute" }] } });
  assert.equal(plugin.filter(new CycleState(), pi(wrongEffect), info(cordoned)).code, "UnschedulableAndUnresolvable");
});

test("NodeUnschedulable: hints queue on a new schedulable node, an uncordon, or the pod gaining the toleration", () => {
  const events = plugin.eventsToRegister();
  assert.deepEqual(events.map((e) => e.event), [
    { resource: "Node", action: "Add" }, { resource: "Node", action: "Update" }, { resource: "Pod", action: "Update" },
  ]);
  const pod = makePod({ name: "a" });
  const nodeHint = events[0]!.hint!;
  assert.equal(nodeHint(pod, undefined, makeNode("n")), "Queue");
  assert.equal(nodeHint(pod, undefined, cordoned), "QueueSkip");
  assert.equal(nodeHint(pod, cordoned, makeNode("n1")), "Queue");
  assert.equal(nodeHint(pod, makeNode("n1"), makeNode("n1", { labels: { a: "b" } })), "QueueSkip");
  const podHint = events[2]!.hint!;
  const tolerating = makePod({ name: "a", spec: { tolerations: [{ key: "node.kubernetes.io/unschedulable", operator: "Exists" }] } });
  assert.equal(podHint(pod, pod, tolerating), "Queue");
  assert.equal(podHint(pod, pod, makePod({ name: "a", spec: { tolerations: [{ key: "x", operator: "Exists" }] } })), "QueueSkip");
  assert.equal(podHint(pod, undefined, makePod({ name: "other", spec: tolerating.spec as never })), "QueueSkip");
});
