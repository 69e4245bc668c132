import { test } from "node:test";
import assert from "node:assert/strict";
import type { PodGroupCycleResult } from "../../../../framework/scheduling/pod-group.ts";
import { attemptEvent, failureDetail, nextScheduledCondition, withCondition } from "../../../../operators/gang-scheduling/group-status.ts";
import { pod } from "./fixtures.ts";

const NOW = "2026-06-01T00:00:00Z";
const group = { key: "kubeloop:ns/train", namespace: "ns", name: "train", minMember: 3 };
const failed: PodGroupCycleResult = {
  group, outcome: "Unschedulable", message: "pod group is unschedulable", scheduledBefore: 0,
  members: [
    { pod: pod("p1"), nodeName: "n1", message: "pod group is unschedulable, waiting for minCount pods from a gang to be scheduled, one or more plugins asked to wait and no plugin rejected pod" },
    { pod: pod("p2"), nodeName: "n1" },
    { pod: pod("p3"), message: "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node affinity/selector." },
  ],
};
const scheduled: PodGroupCycleResult = {
  group, outcome: "Scheduled", message: "", scheduledBefore: 0,
  members: [{ pod: pod("p1"), nodeName: "n1" }, { pod: pod("p2"), nodeName: "n2" }, { pod: pod("p3"), nodeName: "n1" }],
};

test("a failed group names the member that did not fit, its node histogram, and how many fit", () => {
  assert.equal(failureDetail(failed),
    "member p3 did not fit: 0/2 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node affinity/selector.; 2/3 members fit");
  const short: PodGroupCycleResult = { ...failed, members: failed.members.slice(0, 2) };
  assert.equal(failureDetail(short), "2/3 members fit (2 tried, 0 already scheduled)");
});

test("native condition texts are kube-scheduler's; kubeloop's False message adds the detail", () => {
  assert.deepEqual(nextScheduledCondition("native", undefined, failed, NOW),
    { type: "PodGroupScheduled", status: "False", reason: "Unschedulable", message: "pod group is unschedulable", lastTransitionTime: NOW });
  const k = nextScheduledCondition("kubeloop", undefined, failed, NOW)!;
  assert.match(k.message!, /^pod group is unschedulable: member p3 did not fit: 0\/2 nodes are available/);
  assert.deepEqual(nextScheduledCondition("native", undefined, scheduled, NOW),
    { type: "PodGroupScheduled", status: "True", reason: "Scheduled", message: "", lastTransitionTime: NOW });
  const err = nextScheduledCondition("native", undefined, { ...failed, outcome: "Error", message: "boom" }, NOW)!;
  assert.deepEqual([err.status, err.reason, err.message], ["False", "SchedulerError", "boom"]);
});

test("True is never regressed; an unchanged condition is not rewritten; the transition time moves only with the status", () => {
  const t = nextScheduledCondition("native", undefined, scheduled, NOW)!;
  assert.equal(nextScheduledCondition("native", t, failed, "2026-06-01T00:05:00Z"), undefined);
  assert.equal(nextScheduledCondition("native", t, scheduled, "2026-06-01T00:05:00Z"), undefined);
  const f = nextScheduledCondition("native", undefined, failed, NOW)!;
  assert.equal(nextScheduledCondition("native", f, failed, "2026-06-01T00:05:00Z"), undefined);
  const err = nextScheduledCondition("native", f, { ...failed, outcome: "Error", message: "boom" }, "2026-06-01T00:05:00Z")!;
  assert.equal(err.lastTransitionTime, NOW, "False -> False keeps the transition time");
  assert.equal(nextScheduledCondition("native", f, scheduled, "2026-06-01T00:05:00Z")!.lastTransitionTime, "2026-06-01T00:05:00Z");
});

test("one Event per attempt: Scheduled lists the placements, FailedScheduling the failing member", () => {
  assert.deepEqual(attemptEvent(scheduled), { type: "Normal", reason: "Scheduled", note: "PodGroup ns/train: 3 members assigned (p1 on n1, p2 on n2, p3 on n1)" });
  const e = attemptEvent(failed);
  assert.equal(e.type, "Warning");
  assert.equal(e.reason, "FailedScheduling");
  assert.match(e.note, /^PodGroup ns\/train: pod group is unschedulable: member p3 did not fit: 0\/2 nodes are available: 1 Insufficient cpu/);
});

test("withCondition replaces the condition of the same type in place and appends new types", () => {
  const list = [{ type: "A", status: "True" as const }, { type: "B", status: "False" as const }];
  assert.deepEqual(withCondition(list, { type: "A", status: "False" }), [{ type: "A", status: "False" }, { type: "B", status: "False" }]);
  assert.deepEqual(withCondition(undefined, { type: "C", status: "True" }), [{ type: "C", status: "True" }]);
});
