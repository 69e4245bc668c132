import { test } from "node:test";
import assert from "node:assert/strict";
import type { Pod } from "../../../framework/meta/index.ts";
import { fitErrorMessage, goDuration, podInfoOf, SchedulerCache, Snapshot, status, type Status } from "../../../framework/scheduling/index.ts";
import { FakeClock } from "../queue/fake-clock.ts";
import { node } from "./fakes.ts";

function cpuPod(name: string, cpu: string, nodeName?: string, phase?: "Succeeded" | "Failed"): Pod {
  return {
    apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "ns", uid: name },
    spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: "c", image: "x", resources: { requests: { cpu } } }] },
    ...(phase ? { status: { phase } } : {}),
  };
}

test("assumed pods count on their node until forgotten; the informer's bound pod confirms them", () => {
  const clock = new FakeClock();
  const cache = new SchedulerCache({ clock, assumedPodTtlMs: 1000 });
  const snap = new Snapshot();
  cache.setNode(node("a"));
  cache.setNode(node("b"));
  cache.assume(podInfoOf(cpuPod("p", "1")), "a");
  cache.updateSnapshot(snap);
  assert.equal(snap.get("a")!.requested["cpu"], 1000);
  assert.ok(cache.isAssumed("p"));
  // An update of the still-unbound pod (our own status patch) keeps the assumption.
  cache.setPod(cpuPod("p", "1"));
  assert.ok(cache.isAssumed("p"));
  cache.forget(podInfoOf(cpuPod("p", "1")));
  cache.updateSnapshot(snap);
  assert.equal(snap.get("a")!.requested["cpu"] ?? 0, 0);
  // Assumed on a, the server says b: the bound pod wins.
  cache.assume(podInfoOf(cpuPod("q", "2")), "a");
  cache.setPod(cpuPod("q", "2", "b"));
  assert.ok(!cache.isAssumed("q"));
  cache.updateSnapshot(snap);
  assert.equal(snap.get("a")!.requested["cpu"] ?? 0, 0);
  assert.equal(snap.get("b")!.requested["cpu"], 2000);
  // A terminal pod frees its room.
  cache.setPod(cpuPod("q", "2", "b", "Succeeded"));
  cache.updateSnapshot(snap);
  assert.equal(snap.get("b")!.requested["cpu"] ?? 0, 0);
  assert.throws(() => {
    cache.assume(podInfoOf(cpuPod("r", "1")), "a");
    cache.assume(podInfoOf(cpuPod("r", "1")), "a");
  }, /already in the scheduler cache/);
});

test("an assumed pod whose bind finished but never showed bound expires after the TTL", () => {
  const clock = new FakeClock();
  const cache = new SchedulerCache({ clock, assumedPodTtlMs: 1000 });
  cache.setNode(node("a"));
  const info = podInfoOf(cpuPod("p", "1"));
  cache.assume(info, "a");
  clock.advance(5000);
  cache.cleanupExpired();
  assert.ok(cache.isAssumed("p"), "no expiry while the bind is in flight");
  cache.finishBinding(info);
  clock.advance(1001);
  cache.cleanupExpired();
  assert.ok(!cache.has("p"));
});

test("the snapshot copies only changed nodes, lists them by name, and group what-ifs never touch the cache", () => {
  const cache = new SchedulerCache();
  const snap = new Snapshot();
  cache.setNode(node("b"));
  cache.setNode(node("a"));
  cache.updateSnapshot(snap);
  assert.deepEqual(snap.list().map((n) => n.node.metadata?.name), ["a", "b"]);
  const a1 = snap.get("a");
  cache.setPod(cpuPod("x", "1", "b"));
  cache.updateSnapshot(snap);
  assert.equal(snap.get("a"), a1, "unchanged node reused");
  const info = podInfoOf(cpuPod("w", "3"));
  snap.assume(info, "a");
  assert.equal(snap.get("a")!.requested["cpu"], 3000);
  snap.unassume(info, "a");
  assert.equal(snap.get("a")!.requested["cpu"] ?? 0, 0);
  cache.removeNode("b");
  cache.updateSnapshot(snap);
  assert.deepEqual(snap.list().map((n) => n.node.metadata?.name), ["a"]);
});

test("fit error messages: histogram with absent nodes, PreFilter message, PostFilter message", () => {
  const s = (r: string): Status => status("Unschedulable", r);
  assert.equal(
    fitErrorMessage(5, {
      nodeToStatus: new Map([["a", status("Unschedulable", "Insufficient cpu", "Insufficient memory")], ["b", s("Insufficient cpu")]]),
      absentNodesStatus: status("UnschedulableAndUnresolvable", "node(s) didn't satisfy plugin(s) [NodeAffinity]"),
      unschedulablePlugins: new Set(),
    }),
    "0/5 nodes are available: 1 Insufficient memory, 2 Insufficient cpu, 3 node(s) didn't satisfy plugin(s) [NodeAffinity].",
  );
  assert.equal(fitErrorMessage(3, { nodeToStatus: new Map(), preFilterMsg: "x, y", unschedulablePlugins: new Set() }), "0/3 nodes are available: x, y.");
  assert.equal(
    fitErrorMessage(1, { nodeToStatus: new Map([["a", s("r")]]), postFilterMsg: "preemption: not helpful", unschedulablePlugins: new Set() }),
    "0/1 nodes are available: 1 r. preemption: not helpful.",
  );
  assert.deepEqual([goDuration(300_000), goDuration(10_000), goDuration(1500), goDuration(50), goDuration(3_600_000)], ["5m0s", "10s", "1.5s", "50ms", "1h0m0s"]);
});
