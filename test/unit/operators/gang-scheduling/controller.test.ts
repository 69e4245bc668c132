import { test } from "node:test";
import assert from "node:assert/strict";
import { Store } from "../../../../framework/cache/index.ts";
import type { EventInfo, EventRecorder } from "../../../../framework/events/index.ts";
import type { KubeObject, Pod } from "../../../../framework/meta/index.ts";
import { FakeClient } from "../../../../framework/testing/index.ts";
import { PodGroups, type PodGroup } from "../../../../operators/gang-scheduling/api.ts";
import { PodGroupReconciler, podGroupRequestsForPod } from "../../../../operators/gang-scheduling/controller.ts";
import { POD_GROUP_INDEX } from "../../../../operators/gang-scheduling/membership.ts";
import { podGroupIndexValues } from "../../../../operators/gang-scheduling/pod-index.ts";
import { pod, podGroup } from "./fixtures.ts";

class Events implements EventRecorder {
  readonly seen: Array<{ regarding: string; info: EventInfo }> = [];
  async event(regarding: KubeObject, info: EventInfo): Promise<void> {
    this.seen.push({ regarding: `${regarding.metadata?.namespace}/${regarding.metadata?.name}`, info });
  }
  normal(r: KubeObject, reason: string, note: string, action?: string) { return this.event(r, { type: "Normal", reason, note, ...(action ? { action } : {}) }); }
  warning(r: KubeObject, reason: string, note: string, action?: string) { return this.event(r, { type: "Warning", reason, note, ...(action ? { action } : {}) }); }
  async flush(): Promise<void> {}
}

async function setup(pg: PodGroup, members: Pod[]) {
  const client = new FakeClient();
  await client.create(PodGroups, pg);
  if (pg.status) await client.patch(PodGroups, { namespace: "ns", name: pg.metadata!.name! }, { type: "merge", body: { status: pg.status } }, { subresource: "status" });
  const pods = new Store<Pod>({ [POD_GROUP_INDEX]: podGroupIndexValues });
  for (const p of members) pods.upsert(p);
  const events = new Events();
  const reconciler = new PodGroupReconciler({ client, pods, events, now: () => Date.parse("2026-06-01T00:00:00Z") });
  const run = async () => {
    const cached = await client.get(PodGroups, { namespace: "ns", name: pg.metadata!.name! });
    await reconciler.reconcile({ namespace: "ns", name: pg.metadata!.name! }, { signal: new AbortController().signal, getCached: () => cached } as never);
    return (await client.get(PodGroups, { namespace: "ns", name: pg.metadata!.name! })).status;
  };
  return { client, pods, events, run };
}

test("a group with all its members goes Pending->Scheduling in one write, with an Event; a second reconcile writes nothing", async () => {
  const s = await setup(podGroup("train", 2), [pod("a", { group: "train" }), pod("b", { group: "train" }), pod("x", { group: "train", ns: "other" })]);
  const status = await s.run();
  assert.deepEqual(status, { phase: "Scheduling", running: 0, succeeded: 0, failed: 0, scheduleStartTime: "2026-06-01T00:00:00Z" });
  assert.deepEqual(s.events.seen.map((e) => [e.regarding, e.info.type, e.info.reason, e.info.note]),
    [["ns/train", "Normal", "Scheduling", "PodGroup ns/train is Scheduling: 2/2 pods exist, 0 running or succeeded"]]);
  s.client.clearActions();
  await s.run();
  assert.equal(s.client.actionsOf("patch").length, 0, "nothing changed: no write");
  assert.equal(s.events.seen.length, 1);
});

test("counting is namespace-scoped: a same-named group's pods in another namespace do not make this one Scheduling", async () => {
  const s = await setup(podGroup("train", 2), [pod("a", { group: "train" }), pod("x", { group: "train", ns: "other" })]);
  assert.equal((await s.run())?.phase, "Pending");
});

test("Running with counters, then Failed as a Warning; a final phase is left alone", async () => {
  const s = await setup(podGroup("train", 2, "ns", { phase: "Scheduling", scheduleStartTime: "2026-05-31T00:00:00Z" }),
    [pod("a", { group: "train", phase: "Running" }), pod("b", { group: "train", phase: "Running" })]);
  assert.deepEqual(await s.run(), { phase: "Running", running: 2, succeeded: 0, failed: 0, scheduleStartTime: "2026-05-31T00:00:00Z" });
  s.pods.upsert(pod("b", { group: "train", phase: "Failed" }));
  assert.equal((await s.run())?.phase, "Failed");
  assert.deepEqual(s.events.seen.map((e) => [e.info.type, e.info.reason]), [["Normal", "Running"], ["Warning", "Failed"]]);
  s.client.clearActions();
  s.pods.upsert(pod("b", { group: "train", phase: "Running" }));
  assert.equal((await s.run())?.phase, "Failed");
  assert.equal(s.client.actionsOf("patch").length, 0);
});

test("a group stuck for more than 48 h gets upstream's Timeout warning once", async () => {
  const s = await setup(podGroup("stuck", 3, "ns", { phase: "Scheduling", scheduleStartTime: "2026-05-29T00:00:00Z" }), [pod("a", { group: "stuck" })]);
  await s.run();
  await s.run();
  assert.deepEqual(s.events.seen.filter((e) => e.info.reason === "Timeout").map((e) => [e.info.type, e.info.note]), [["Warning", "schedule time longer than 48 hours"]]);
});

test("pods map to the PodGroup their label names, in their namespace", () => {
  assert.deepEqual(podGroupRequestsForPod(pod("a", { group: "g", ns: "x" })), [{ namespace: "x", name: "g" }]);
  assert.deepEqual(podGroupRequestsForPod(pod("a")), []);
});

test("scheduleTimeoutSeconds sets the Timeout limit; before it, the reconcile asks to come back when it is due", async () => {
  const pg = podGroup("short", 3, "ns", { phase: "Scheduling", scheduleStartTime: "2026-05-31T23:59:00Z" });
  pg.spec.scheduleTimeoutSeconds = 30;
  const s = await setup(pg, [pod("a", { group: "short" })]);
  await s.run();
  assert.deepEqual(s.events.seen.filter((e) => e.info.reason === "Timeout").map((e) => e.info.note), ["schedule time longer than 30 seconds"]);
  const later = podGroup("later", 3, "ns", { phase: "Scheduling", scheduleStartTime: "2026-05-31T23:59:50Z" });
  later.spec.scheduleTimeoutSeconds = 30;
  const l = await setup(later, [pod("a", { group: "later" })]);
  const cached = await l.client.get(PodGroups, { namespace: "ns", name: "later" });
  const reconciler = new PodGroupReconciler({ client: l.client, pods: l.pods, events: l.events, now: () => Date.parse("2026-06-01T00:00:00Z") });
  const result = await reconciler.reconcile({ namespace: "ns", name: "later" }, { signal: new AbortController().signal, getCached: () => cached });
  assert.deepEqual(result, { requeueAfterMs: 21_000 }, "due at 00:00:20, requeued 1 s after");
});
