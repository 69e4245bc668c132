import { test } from "node:test";
import assert from "node:assert/strict";
import { availabilityRecheckMs, calculateStatus, statusChanged } from "../../../operators/replicaset/status.ts";
import { isProgressOnly } from "../../../operators/replicaset/status-writes.ts";
import { makePod, makeReplicaSet } from "./fixtures.ts";

const NOW = Date.parse("2026-06-01T00:00:00Z");
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();

test("counts replicas, ready and available with minReadySeconds", () => {
  const rs = makeReplicaSet({ replicas: 3, minReadySeconds: 60, generation: 4 });
  const pods = [
    makePod({ name: "notready", ready: false, readySince: ago(1000) }),
    makePod({ name: "justready", ready: true, readySince: ago(10) }),
    makePod({ name: "available", ready: true, readySince: ago(61) }),
  ];
  const status = calculateStatus(rs, { activePods: pods, terminatingPods: [], failure: undefined, nowMs: NOW });
  assert.equal(status.replicas, 3);
  assert.equal(status.readyReplicas, 2);
  assert.equal(status.availableReplicas, 1);
  assert.equal(status.observedGeneration, 4);
  assert.equal(status.selector, "app=web");
  assert.equal(status.terminatingReplicas, 0);
});

test("minReadySeconds 0: every Ready pod is available; exactly at the boundary it is available (v1.36 IsPodAvailable: lastTransitionTime + minReadySeconds <= now)", () => {
  const pods = [makePod({ name: "a", ready: true, readySince: ago(0) })];
  assert.equal(calculateStatus(makeReplicaSet(), { activePods: pods, terminatingPods: [], failure: undefined, nowMs: NOW }).availableReplicas, 1);
  const edge = [makePod({ name: "b", ready: true, readySince: ago(60) })];
  assert.equal(calculateStatus(makeReplicaSet({ minReadySeconds: 60 }), { activePods: edge, terminatingPods: [], failure: undefined, nowMs: NOW }).availableReplicas, 1);
  const before = [makePod({ name: "c", ready: true, readySince: new Date(NOW - 59_999).toISOString() })];
  assert.equal(calculateStatus(makeReplicaSet({ minReadySeconds: 60 }), { activePods: before, terminatingPods: [], failure: undefined, nowMs: NOW }).availableReplicas, 0);
});

test("a Ready pod without lastTransitionTime is never available and asks for no recheck (no requeue forever)", () => {
  const pod = makePod({ name: "nolt", ready: true });
  delete pod.status!.conditions!.find((c) => c.type === "Ready")!.lastTransitionTime;
  const status = calculateStatus(makeReplicaSet({ minReadySeconds: 10 }), { activePods: [pod], terminatingPods: [], failure: undefined, nowMs: NOW });
  assert.equal(status.readyReplicas, 1);
  assert.equal(status.availableReplicas, 0);
  assert.equal(availabilityRecheckMs([pod], 10, NOW), undefined);
  const waiting = makePod({ name: "waiting", ready: true, readySince: ago(4) });
  assert.equal(availabilityRecheckMs([pod, waiting], 10, NOW), 7_000, "the pod with a time still decides");
});

test("fullyLabeledReplicas: labels must include every template label", () => {
  const rs = makeReplicaSet({ templateLabels: { app: "web", tier: "front" } });
  const pods = [
    makePod({ name: "full", labels: { app: "web", tier: "front", extra: "x" } }),
    makePod({ name: "partial", labels: { app: "web" } }),
    makePod({ name: "wrong", labels: { app: "web", tier: "back" } }),
  ];
  assert.equal(calculateStatus(rs, { activePods: pods, terminatingPods: [], failure: undefined, nowMs: NOW }).fullyLabeledReplicas, 1);
});

test("terminatingReplicas counts the terminating pods given", () => {
  const status = calculateStatus(makeReplicaSet(), { activePods: [], terminatingPods: [makePod({ name: "t", deleting: true })], failure: undefined, nowMs: NOW });
  assert.equal(status.terminatingReplicas, 1);
});

test("ReplicaFailure: set on failure, kept while failing or not managed, removed after a clean step", () => {
  const rs = makeReplicaSet();
  const failed = calculateStatus(rs, { activePods: [], terminatingPods: [], failure: { reason: "FailedCreate", message: "quota" }, nowMs: NOW });
  assert.equal(failed.conditions?.length, 1);
  assert.deepEqual({ ...failed.conditions![0], lastTransitionTime: undefined }, { type: "ReplicaFailure", status: "True", reason: "FailedCreate", message: "quota", lastTransitionTime: undefined });
  assert.equal(failed.conditions![0]!.lastTransitionTime, "2026-06-01T00:00:00Z");

  rs.status = failed as typeof rs.status;
  const again = calculateStatus(rs, { activePods: [], terminatingPods: [], failure: { reason: "FailedCreate", message: "other" }, nowMs: NOW + 5000 });
  assert.deepEqual(again.conditions, failed.conditions, "an existing condition is not rewritten");
  const skipped = calculateStatus(rs, { activePods: [], terminatingPods: [], failure: undefined, nowMs: NOW });
  assert.deepEqual(skipped.conditions, failed.conditions);
  const clean = calculateStatus(rs, { activePods: [], terminatingPods: [], failure: null, nowMs: NOW });
  assert.equal(clean.conditions, undefined);
});

test("statusChanged: no write for an identical status, a write for any counted field or generation", () => {
  const rs = makeReplicaSet({ generation: 2 });
  const pods = [makePod({ name: "a", ready: true, readySince: ago(100) })];
  const status = calculateStatus(rs, { activePods: pods, terminatingPods: [], failure: null, nowMs: NOW });
  assert.equal(statusChanged(rs.status, status), true);
  assert.equal(statusChanged(status, calculateStatus({ ...rs, status }, { activePods: pods, terminatingPods: [], failure: null, nowMs: NOW })), false);
  assert.equal(statusChanged(status, { ...status, readyReplicas: 0 }), true);
  assert.equal(statusChanged(status, { ...status, observedGeneration: 3 }), true);
  assert.equal(statusChanged(status, { ...status, terminatingReplicas: 2 }), true);
  assert.equal(statusChanged({ ...status, conditions: [] }, status), false, "no conditions equals an empty list");
});

test("availabilityRecheckMs: when the next Ready pod becomes available, plus 1 s", () => {
  const pods = [
    makePod({ name: "a", ready: true, readySince: ago(10) }),
    makePod({ name: "b", ready: true, readySince: ago(50) }),
    makePod({ name: "c", ready: false }),
  ];
  assert.equal(availabilityRecheckMs(pods, 60, NOW), 11_000);
  assert.equal(availabilityRecheckMs(pods, 0, NOW), undefined);
  assert.equal(availabilityRecheckMs([makePod({ name: "old", ready: true, readySince: ago(600) })], 60, NOW), undefined);
  assert.equal(availabilityRecheckMs([makePod({ name: "future", ready: true, readySince: new Date(NOW + 3_600_000).toISOString() })], 60, NOW), 61_000, "capped at minReadySeconds + 1 s");
});

test("isProgressOnly: counts moving short of spec.replicas are progress; a new generation, condition, selector or a count reaching the target is news", () => {
  const rs = makeReplicaSet({ replicas: 10, generation: 3 });
  const cur = { replicas: 10, fullyLabeledReplicas: 10, readyReplicas: 4, availableReplicas: 4, terminatingReplicas: 0, observedGeneration: 3, selector: "app=web" };
  const cases: Array<[string, Record<string, unknown>, boolean]> = [
    ["ready 4 -> 5 of 10", { readyReplicas: 5, availableReplicas: 5 }, true],
    ["ready 4 -> 3 (a pod stopped being Ready)", { readyReplicas: 3, availableReplicas: 3 }, true],
    ["ready reaches 10", { readyReplicas: 10, availableReplicas: 9 }, false],
    ["available reaches 10", { readyReplicas: 10, availableReplicas: 10 }, false],
    ["replicas 10 -> 9 (a pod went)", { replicas: 9, fullyLabeledReplicas: 9 }, true],
    ["terminating 0 -> 2", { terminatingReplicas: 2 }, true],
    ["a new generation", { observedGeneration: 4 }, false],
    ["a condition", { conditions: [{ type: "ReplicaFailure", status: "True", reason: "FailedCreate" }] }, false],
    ["another selector", { selector: "app=other" }, false],
  ];
  for (const [name, change, want] of cases) assert.equal(isProgressOnly({ ...rs, metadata: { ...rs.metadata, generation: 3 } }, cur, { ...cur, ...change }), want, name);
  assert.equal(isProgressOnly(rs, { ...cur, terminatingReplicas: 2 }, cur), false, "terminating pods gone (2 -> 0) is news");
  assert.equal(isProgressOnly(rs, { ...cur, observedGeneration: 2 }, { ...cur, readyReplicas: 5 }), false, "the cached status has not observed this generation yet");
  assert.equal(isProgressOnly({ ...rs, metadata: { ...rs.metadata, generation: 4 } }, cur, { ...cur, readyReplicas: 5, observedGeneration: 4 }), false, "a spec change is news");
});
