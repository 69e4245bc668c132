import { test } from "node:test";
import assert from "node:assert/strict";
import { Store } from "../../../../framework/cache/index.ts";
import type { Pod } from "../../../../framework/meta/index.ts";
import { CycleState } from "../../../../framework/scheduling/framework.ts";
import type { PodGroup } from "../../../../operators/gang-scheduling/api.ts";
import { existingMembers, schedulerNameConflict } from "../../../../operators/gang-scheduling/gating.ts";
import { POD_GROUP_INDEX } from "../../../../operators/gang-scheduling/membership.ts";
import type { NativePodGroup } from "../../../../operators/gang-scheduling/native-api.ts";
import { GangScheduling, parseGroupKey, PodGroupEventResources } from "../../../../operators/gang-scheduling/plugin.ts";
import { podGroupIndexValues } from "../../../../operators/gang-scheduling/pod-index.ts";
import { nativeGroup, pod, podGroup } from "./fixtures.ts";

function world(opts: { native?: boolean } = {}) {
  const pods = new Store<Pod>({ [POD_GROUP_INDEX]: podGroupIndexValues });
  const podGroups = new Store<PodGroup>();
  const nativePodGroups = opts.native === false ? undefined : new Store<NativePodGroup>();
  const plugin = new GangScheduling({ pods, podGroups, ...(nativePodGroups ? { nativePodGroups } : {}) });
  const preFilter = (p: Pod) => plugin.preFilter(new CycleState(), { pod: p, requests: {}, nonZeroRequests: {} }, { list: () => [], get: () => undefined }).status;
  return { pods, podGroups, nativePodGroups: nativePodGroups!, plugin, preFilter };
}

test("a pod without a group passes every gate and has no runtime group", () => {
  const w = world();
  const p = pod("solo");
  assert.equal(w.plugin.preEnqueue(p).code, "Success");
  assert.equal(w.preFilter(p).code, "Success");
  assert.equal(w.plugin.groupOf(p), undefined);
});

test("kubeloop: a pod naming a missing PodGroup passes PreEnqueue and is UnschedulableAndUnresolvable 'PodGroup ns/name not found' in PreFilter", () => {
  const w = world();
  const p = pod("a", { group: "train" });
  w.pods.upsert(p);
  assert.equal(w.plugin.preEnqueue(p).code, "Success", "not held silently: the user must read why");
  assert.deepEqual(w.preFilter(p), { code: "UnschedulableAndUnresolvable", reasons: ["PodGroup ns/train not found"] });
  assert.equal(w.plugin.groupOf(p), undefined, "no runtime group while the PodGroup is missing");
});

test("kubeloop: too few members is '<n>/<minMember> pods of PodGroup ns/name exist'; ended and deleting pods do not count; namespaces do not mix", () => {
  const w = world();
  w.podGroups.upsert(podGroup("train", 3));
  const a = pod("a", { group: "train" });
  for (const p of [a, pod("b", { group: "train" }), pod("c", { group: "train", phase: "Succeeded" }), pod("d", { group: "train", deleting: true }), pod("x", { group: "train", ns: "other" })]) w.pods.upsert(p);
  assert.deepEqual(w.preFilter(a), { code: "UnschedulableAndUnresolvable", reasons: ["2/3 pods of PodGroup ns/train exist"] });
  w.pods.upsert(pod("e", { group: "train" }));
  assert.equal(w.preFilter(a).code, "Success");
  assert.deepEqual(w.plugin.groupOf(a), { key: "kubeloop:ns/train", namespace: "ns", name: "train", minMember: 3 });
});

test("members that disagree on schedulerName are rejected with a reason naming the schedulers", () => {
  const w = world();
  w.podGroups.upsert(podGroup("train", 2));
  const a = pod("a", { group: "train" });
  w.pods.upsert(a);
  w.pods.upsert(pod("b", { group: "train", schedulerName: "default-scheduler" }));
  const s = w.preFilter(a);
  assert.equal(s.code, "UnschedulableAndUnresolvable");
  assert.equal(s.reasons[0], "pods of PodGroup ns/train disagree on spec.schedulerName (1 default-scheduler, 1 kubeloop-scheduler): all pods of a pod group must have the same schedulerName");
  assert.equal(schedulerNameConflict(w.plugin.view(w.plugin.refOf(a)!)), s.reasons[0]);
});

test("native: held silently at PreEnqueue with upstream's reasons until the PodGroup and minCount pods exist", () => {
  const w = world();
  const a = pod("a", { native: "pg" });
  w.pods.upsert(a);
  assert.deepEqual(w.plugin.preEnqueue(a), { code: "UnschedulableAndUnresolvable", reasons: ['waiting for pods\'s pod group "pg" to appear in scheduling queue'] });
  w.nativePodGroups.upsert(nativeGroup("pg", 2));
  assert.deepEqual(w.plugin.preEnqueue(a), { code: "UnschedulableAndUnresolvable", reasons: ["waiting for minCount pods from a gang to appear in scheduling queue"] });
  w.pods.upsert(pod("b", { native: "pg" }));
  assert.equal(w.plugin.preEnqueue(a).code, "Success");
  assert.equal(w.preFilter(a).code, "Success");
  assert.deepEqual(w.plugin.groupOf(a), { key: "native:ns/pg", namespace: "ns", name: "pg", minMember: 2 });
});

test("native basic group: not gated on member count, scheduled one by one (minMember 1)", () => {
  const w = world();
  w.nativePodGroups.upsert(nativeGroup("b", undefined));
  const a = pod("a", { native: "b" });
  w.pods.upsert(a);
  assert.equal(w.plugin.preEnqueue(a).code, "Success");
  assert.equal(w.plugin.groupOf(a)?.minMember, 1);
});

test("when the server does not serve the native API, spec.schedulingGroup is ignored and the label decides", () => {
  const w = world({ native: false });
  const a = pod("a", { native: "pg" });
  assert.equal(w.plugin.refOf(a), undefined);
  assert.equal(w.plugin.preEnqueue(a).code, "Success");
  const both = pod("b", { native: "pg", group: "train" });
  assert.deepEqual(w.plugin.refOf(both), { api: "kubeloop", namespace: "ns", name: "train" });
  const served = world();
  assert.deepEqual(served.plugin.refOf(both), { api: "native", namespace: "ns", name: "pg" }, "served: the native group wins");
});

test("existingMembers counts members neither ended nor being deleted", () => {
  const w = world();
  w.podGroups.upsert(podGroup("g", 1));
  for (const p of [pod("a", { group: "g", phase: "Running" }), pod("b", { group: "g", phase: "Failed" }), pod("c", { group: "g", deleting: true })]) w.pods.upsert(p);
  assert.equal(existingMembers(w.plugin.view({ api: "kubeloop", namespace: "ns", name: "g" })), 1);
});

test("queueing hints: a pod added to the same group, moved into it, or its PodGroup added requeues; others skip", () => {
  const w = world();
  const target = pod("a", { group: "g" });
  const hints = new Map(w.plugin.eventsToRegister().map((e) => [`${e.event.resource}/${e.event.action}`, e.hint!]));
  assert.equal(hints.get("Pod/Add")!(target, undefined, pod("b", { group: "g" })), "Queue");
  assert.equal(hints.get("Pod/Add")!(target, undefined, pod("b", { group: "h" })), "QueueSkip");
  assert.equal(hints.get("Pod/Add")!(target, undefined, pod("b", { group: "g", ns: "other" })), "QueueSkip");
  assert.equal(hints.get("Pod/Update")!(target, pod("b"), pod("b", { group: "g" })), "Queue", "label added: moved in");
  assert.equal(hints.get("Pod/Update")!(target, pod("b", { group: "g" }), pod("b", { group: "g", phase: "Running" })), "QueueSkip", "status change only");
  assert.equal(hints.get(`${PodGroupEventResources.kubeloop}/Add`)!(target, undefined, podGroup("g", 2)), "Queue");
  assert.equal(hints.get(`${PodGroupEventResources.kubeloop}/Add`)!(target, undefined, podGroup("h", 2)), "QueueSkip");
  assert.equal(hints.get(`${PodGroupEventResources.native}/Add`)!(target, undefined, nativeGroup("g", 2)), "QueueSkip", "a native group of the same name is another group");
  assert.equal(hints.get(`${PodGroupEventResources.native}/Add`)!(pod("n", { native: "g" }), undefined, nativeGroup("g", 2)), "Queue");
});

test("parseGroupKey inverts groupOf's key and refuses others", () => {
  assert.deepEqual(parseGroupKey("native:ns/a/b"), { api: "native", namespace: "ns", name: "a/b" });
  assert.throws(() => parseGroupKey("other:ns/a"), /not <kubeloop\|native>/);
});
