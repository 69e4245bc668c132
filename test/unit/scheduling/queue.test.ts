import { test } from "node:test";
import assert from "node:assert/strict";
import type { Pod } from "../../../framework/meta/index.ts";
import { SchedulingQueue, prioritySortLess, podInfoOf, type ClusterEvent, type QueueingHintFn, type Status } from "../../../framework/scheduling/index.ts";
import { FakeClock } from "../queue/fake-clock.ts";

function pod(name: string, priority = 0, labels: Record<string, string> = {}): Pod {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "ns", uid: name, labels }, spec: { priority, containers: [{ name: "c", image: "x" }] } };
}

const NODE_ADD: ClusterEvent = { resource: "Node", action: "Add" };

function newQueue(clock: FakeClock, extra: Partial<ConstructorParameters<typeof SchedulingQueue>[0]> = {}) {
  return new SchedulingQueue({ less: prioritySortLess, podInfoOf, clock, ...extra });
}

async function popName(q: SchedulingQueue): Promise<string | undefined> {
  return (await q.pop())?.podInfo.pod.metadata?.name;
}

test("activeQ pops by priority, then by the time the pod entered the queue", async () => {
  const clock = new FakeClock();
  const q = newQueue(clock);
  q.add(pod("low-old", 0));
  clock.advance(10);
  q.add(pod("high", 100));
  clock.advance(10);
  q.add(pod("low-new", 0));
  q.add(pod("mid", 50));
  assert.deepEqual([await popName(q), await popName(q), await popName(q), await popName(q)], ["high", "mid", "low-old", "low-new"]);
});

test("pop waits for a pod and resolves undefined on close", async () => {
  const clock = new FakeClock();
  const q = newQueue(clock);
  const p = q.pop();
  q.add(pod("a"));
  assert.equal((await p)?.podInfo.pod.metadata?.name, "a");
  const p2 = q.pop();
  q.close();
  assert.equal(await p2, undefined);
});

test("backoff doubles from 1 s per failure and is capped at 10 s; errors go straight to backoffQ", async () => {
  const clock = new FakeClock();
  const q = newQueue(clock);
  q.add(pod("a"));
  const waits: number[] = [];
  for (let i = 0; i < 6; i++) {
    const qp = await q.pop();
    assert.ok(qp);
    q.requeueFailed("a", [], true);
    assert.equal(q.whereIs("a"), "backoff");
    const started = clock.now();
    while (q.whereIs("a") === "backoff") clock.advance(100);
    waits.push(clock.now() - started);
    assert.equal(q.whereIs("a"), "active");
  }
  assert.deepEqual(waits, [1000, 2000, 4000, 8000, 10000, 10000]);
});

test("an unschedulable pod waits for an event its rejecting plugin registered, and the hint decides", async () => {
  const clock = new FakeClock();
  const hint: QueueingHintFn = (_pod, _old, node) => ((node as { metadata: { name: string } }).metadata.name === "big" ? "Queue" : "QueueSkip");
  const q = newQueue(clock, {
    events: new Map([
      ["Fit", [{ event: NODE_ADD, hint }]],
      ["Taint", [{ event: { resource: "Node", action: "Update" } }]],
    ]),
  });
  q.add(pod("a"));
  q.add(pod("b"));
  await q.pop();
  await q.pop();
  q.requeueFailed("a", ["Fit"], false);
  q.requeueFailed("b", ["Other"], false);
  assert.equal(q.whereIs("a"), "unschedulable");
  assert.equal(q.whereIs("b"), "unschedulable");
  q.onEvent(NODE_ADD, undefined, { metadata: { name: "small" } });
  assert.equal(q.whereIs("a"), "unschedulable", "the hint said QueueSkip");
  q.onEvent({ resource: "Node", action: "Update" }, undefined, { metadata: { name: "big" } });
  assert.equal(q.whereIs("a"), "unschedulable", "Fit did not register Node/Update");
  q.onEvent(NODE_ADD, undefined, { metadata: { name: "big" } });
  assert.equal(q.whereIs("a"), "backoff", "moved, but its 1 s backoff is not over");
  assert.equal(q.whereIs("b"), "unschedulable", "no plugin of b registered Node/Add");
  clock.advance(1000);
  assert.equal(q.whereIs("a"), "active");
  assert.deepEqual(q.pendingCounts(), { active: 1, backoff: 0, unschedulable: 1, gated: 0 });
});

test("an event that arrives while the pod is in flight sends it to backoffQ instead of the unschedulable pods", async () => {
  const clock = new FakeClock();
  const q = newQueue(clock, { events: new Map([["Fit", [{ event: NODE_ADD }]]]) });
  q.add(pod("a"));
  q.add(pod("b"));
  await q.pop();
  q.onEvent(NODE_ADD, undefined, {});
  q.requeueFailed("a", ["Fit"], false);
  assert.equal(q.whereIs("a"), "backoff");
  await q.pop();
  q.requeueFailed("b", ["Fit"], false); // popped after the event: the event cannot help it
  assert.equal(q.whereIs("b"), "unschedulable");
});

test("PreEnqueue gates silently; the gating plugin's events re-run it", async () => {
  const clock = new FakeClock();
  let open = false;
  const q = newQueue(clock, {
    preEnqueue: (p): Status => (open || p.metadata?.name === "free" ? { code: "Success", reasons: [] } : { code: "UnschedulableAndUnresolvable", reasons: ["waiting"], plugin: "Gate" }),
    events: new Map([["Gate", [{ event: { resource: "podgroups.example", action: "Add" } }]]]),
  });
  q.add(pod("gated"));
  q.add(pod("free"));
  assert.equal(q.whereIs("gated"), "gated");
  assert.equal(await popName(q), "free");
  q.onEvent(NODE_ADD, undefined, {});
  assert.equal(q.whereIs("gated"), "gated", "an event the gate did not register does not re-run it");
  q.onEvent({ resource: "podgroups.example", action: "Add" }, undefined, {});
  assert.equal(q.whereIs("gated"), "gated", "PreEnqueue still says no");
  open = true;
  q.onEvent({ resource: "podgroups.example", action: "Add" }, undefined, {});
  assert.equal(q.whereIs("gated"), "active");
  assert.equal(q.popSpecific("nope"), undefined);
});

test("an unschedulable pod is retried after 5 minutes without any event (flushUnschedulablePodsLeftover)", async () => {
  const clock = new FakeClock();
  const q = newQueue(clock);
  const ac = new AbortController();
  q.start(ac.signal);
  q.add(pod("a"));
  await q.pop();
  q.requeueFailed("a", ["Fit"], false);
  clock.advance(299_000);
  assert.equal(q.whereIs("a"), "unschedulable");
  clock.advance(31_000);
  assert.equal(q.whereIs("a"), "active");
  ac.abort();
});

test("a spec or label change of an unschedulable pod retries it; a status-only change does not", async () => {
  const clock = new FakeClock();
  const q = newQueue(clock);
  q.add(pod("a"));
  await q.pop();
  q.requeueFailed("a", ["Fit"], false);
  q.update({ ...pod("a"), status: { phase: "Pending" } });
  assert.equal(q.whereIs("a"), "unschedulable");
  clock.advance(2000);
  q.update(pod("a", 0, { new: "label" }));
  assert.equal(q.whereIs("a"), "active");
});

test("popSpecific takes a pod from backoffQ or the unschedulable pods, never a gated one; delete forgets", async () => {
  const clock = new FakeClock();
  const q = newQueue(clock, { preEnqueue: (p): Status => (p.metadata?.name === "g" ? { code: "Pending", reasons: [], plugin: "G" } : { code: "Success", reasons: [] }) });
  q.add(pod("a"));
  q.add(pod("b"));
  q.add(pod("g"));
  await q.pop();
  await q.pop();
  q.requeueFailed("a", [], true);
  q.requeueFailed("b", ["Fit"], false);
  assert.equal(q.popSpecific("a")?.attempts, 2);
  assert.equal(q.popSpecific("b")?.podInfo.pod.metadata?.name, "b");
  assert.equal(q.popSpecific("g"), undefined);
  q.delete("g");
  assert.equal(q.whereIs("g"), undefined);
});
