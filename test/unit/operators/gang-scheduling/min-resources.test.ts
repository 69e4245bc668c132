import { test } from "node:test";
import assert from "node:assert/strict";
import { Store } from "../../../../framework/cache/index.ts";
import type { Node, Pod } from "../../../../framework/meta/index.ts";
import { CycleState } from "../../../../framework/scheduling/framework.ts";
import { nodeInfoOf, podInfoOf } from "../../../../framework/scheduling/resources.ts";
import { POD_GROUP_LABEL, type PodGroup } from "../../../../operators/gang-scheduling/api.ts";
import { POD_GROUP_INDEX } from "../../../../operators/gang-scheduling/membership.ts";
import { resourceGap } from "../../../../operators/gang-scheduling/min-resources.ts";
import { GangScheduling } from "../../../../operators/gang-scheduling/plugin.ts";
import { podGroupIndexValues } from "../../../../operators/gang-scheduling/pod-index.ts";
import { pod, podGroup } from "./fixtures.ts";

function node(name: string, cpu: string, gpus = 0): Node {
  return { apiVersion: "v1", kind: "Node", metadata: { name }, status: { allocatable: { cpu, memory: "8Gi", pods: "110", ...(gpus ? { "nvidia.com/gpu": String(gpus) } : {}) } } };
}

function withCpu(p: Pod, cpu: string, nodeName: string): Pod {
  return { ...p, spec: { ...p.spec!, nodeName, containers: [{ name: "c", image: "pause", resources: { requests: { cpu } } }] } };
}

test("resourceGap sums free allocatable over nodes; the group's own pods count as free", () => {
  const other = withCpu(pod("other"), "3", "n1");
  const mine = withCpu(pod("mine", { group: "g" }), "1", "n2");
  const nodes = [nodeInfoOf(node("n1", "4"), [other]), nodeInfoOf(node("n2", "4", 2), [mine])];
  const inGroup = (p: { metadata?: { labels?: Record<string, string> } }) => p.metadata?.labels?.[POD_GROUP_LABEL] === "g";
  assert.equal(resourceGap({ cpu: 5000 }, nodes, inGroup), undefined, "1 free on n1 + 4 on n2 (mine counts as free)");
  assert.equal(resourceGap({ cpu: 6000, "nvidia.com/gpu": 4 }, nodes, inGroup), "cpu: 6000m wanted, 5000m free, nvidia.com/gpu: 4 wanted, 2 free");
  assert.equal(resourceGap({}, nodes, inGroup), undefined);
});

test("the plugin refuses a kubeloop group whose minResources the cluster lacks, with coscheduling's 'resource gap'", () => {
  const pods = new Store<Pod>({ [POD_GROUP_INDEX]: podGroupIndexValues });
  const podGroups = new Store<PodGroup>();
  const pg = podGroup("g", 1);
  pg.spec.minResources = { cpu: "8" };
  podGroups.upsert(pg);
  const p = pod("a", { group: "g" });
  pods.upsert(p);
  const plugin = new GangScheduling({ pods, podGroups });
  const infos = [nodeInfoOf(node("n1", "4"))];
  const lister = { list: () => infos, get: () => undefined };
  assert.deepEqual(plugin.preFilter(new CycleState(), podInfoOf(p), lister).status,
    { code: "UnschedulableAndUnresolvable", reasons: ["resource gap for PodGroup ns/g: cpu: 8000m wanted, 4000m free"] });
  infos.push(nodeInfoOf(node("n2", "4")));
  assert.equal(plugin.preFilter(new CycleState(), podInfoOf(p), lister).status.code, "Success");
  const hints = new Map(plugin.eventsToRegister().map((e) => [`${e.event.resource}/${e.event.action}`, e.hint!]));
  assert.equal(hints.get("Node/Add")!(p, undefined, node("n3", "4")), "Queue", "a node may close the gap");
  assert.equal(hints.get("Node/Add")!(pod("b", { group: "none" }), undefined, node("n3", "4")), "QueueSkip");
  assert.equal(hints.get("Pod/Delete")!(p, pod("x"), undefined), "Queue", "a deleted pod frees room");
});
