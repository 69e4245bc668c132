import { test } from "node:test";
import assert from "node:assert/strict";
import { Store } from "../../../../framework/cache/index.ts";
import type { EventInfo, EventRecorder } from "../../../../framework/events/index.ts";
import type { KubeObject } from "../../../../framework/meta/index.ts";
import type { PodGroupCycleResult } from "../../../../framework/scheduling/pod-group.ts";
import { FakeClient } from "../../../../framework/testing/index.ts";
import { PodGroups, type PodGroup } from "../../../../operators/gang-scheduling/api.ts";
import { NativePodGroups, type NativePodGroup } from "../../../../operators/gang-scheduling/native-api.ts";
import { GroupStatusWriter } from "../../../../operators/gang-scheduling/status-writer.ts";
import { nativeGroup, pod, podGroup } from "./fixtures.ts";

class Events implements EventRecorder {
  readonly seen: EventInfo[] = [];
  async event(_r: KubeObject, info: EventInfo): Promise<void> { this.seen.push(info); }
  normal(r: KubeObject, reason: string, note: string) { return this.event(r, { type: "Normal", reason, note }); }
  warning(r: KubeObject, reason: string, note: string) { return this.event(r, { type: "Warning", reason, note }); }
  async flush(): Promise<void> {}
}

const result = (key: string, outcome: "Scheduled" | "Unschedulable"): PodGroupCycleResult => ({
  group: { key, namespace: "ns", name: key.split("/")[1]!, minMember: 2 }, outcome,
  message: outcome === "Scheduled" ? "" : "pod group is unschedulable", scheduledBefore: 0,
  members: outcome === "Scheduled"
    ? [{ pod: pod("a"), nodeName: "n1" }, { pod: pod("b"), nodeName: "n2" }]
    : [{ pod: pod("a"), nodeName: "n1" }, { pod: pod("b"), message: "0/1 nodes are available: 1 Insufficient cpu." }],
});

test("kubeloop PodGroup: False with the failing member, then True; a failure after True (cache stale) does not regress it", async () => {
  const client = new FakeClient();
  const created = await client.create(PodGroups, podGroup("g", 2));
  const podGroups = new Store<PodGroup>();
  podGroups.upsert(created); // the cache never sees our writes in this test: the writer must remember them
  const events = new Events();
  const w = new GroupStatusWriter({ client, events, podGroups, now: () => Date.parse("2026-06-01T00:00:00Z") });
  const ref = { api: "kubeloop" as const, namespace: "ns", name: "g" };
  await w.record(ref, result("kubeloop:ns/g", "Unschedulable"));
  let conds = (await client.get(PodGroups, { namespace: "ns", name: "g" })).status?.conditions;
  assert.deepEqual(conds?.map((c) => [c.type, c.status, c.reason]), [["PodGroupScheduled", "False", "Unschedulable"]]);
  assert.match(conds![0]!.message!, /member b did not fit: 0\/1 nodes are available: 1 Insufficient cpu/);
  await w.record(ref, result("kubeloop:ns/g", "Scheduled"));
  await w.record(ref, result("kubeloop:ns/g", "Unschedulable"));
  await w.flush();
  conds = (await client.get(PodGroups, { namespace: "ns", name: "g" })).status?.conditions;
  assert.deepEqual(conds?.map((c) => [c.type, c.status, c.reason, c.message]), [["PodGroupScheduled", "True", "Scheduled", ""]]);
  assert.deepEqual(events.seen.map((e) => e.reason), ["FailedScheduling", "Scheduled", "FailedScheduling"], "one Event per attempt");
});

test("native PodGroup: kube-scheduler's exact condition texts through a strategic merge patch of status", async () => {
  const client = new FakeClient();
  const created = await client.create(NativePodGroups, nativeGroup("n", 2));
  const nativePodGroups = new Store<NativePodGroup>();
  nativePodGroups.upsert(created);
  const w = new GroupStatusWriter({ client, events: new Events(), podGroups: new Store<PodGroup>(), nativePodGroups });
  await w.record({ api: "native", namespace: "ns", name: "n" }, result("native:ns/n", "Unschedulable"));
  const c = (await client.get(NativePodGroups, { namespace: "ns", name: "n" })).status?.conditions?.[0];
  assert.deepEqual([c?.type, c?.status, c?.reason, c?.message], ["PodGroupScheduled", "False", "Unschedulable", "pod group is unschedulable"]);
  assert.equal(client.actionsOf("patch")[0]?.patch?.type, "strategic");
});
