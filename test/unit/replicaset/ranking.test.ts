import { test } from "node:test";
import assert from "node:assert/strict";
import {
  compareForDeletion, logarithmicAgeBucket, podDeletionCost, podsToDelete, rankByRelatedPodsOnSameNode,
} from "../../../operators/replicaset/ranking.ts";
import { makePod } from "./fixtures.ts";

const NOW = Date.parse("2026-06-01T00:00:00Z");

function firstToDelete(a: ReturnType<typeof makePod>, b: ReturnType<typeof makePod>, related = [a, b]): string {
  // Both orders must agree, so the comparison is antisymmetric.
  const forward = podsToDelete([a, b], related, 1, NOW)[0]!.metadata!.name!;
  const backward = podsToDelete([b, a], related, 1, NOW)[0]!.metadata!.name!;
  assert.equal(forward, backward, "order of input must not matter");
  return forward;
}

test("rule 1: unassigned before assigned", () => {
  assert.equal(firstToDelete(makePod({ name: "assigned", node: "n1", phase: "Pending" }), makePod({ name: "unassigned", phase: "Pending" })), "unassigned");
});

test("rule 2: Pending before Unknown before Running", () => {
  assert.equal(firstToDelete(makePod({ name: "running", node: "n1", phase: "Running" }), makePod({ name: "unknown", node: "n1", phase: "Unknown" })), "unknown");
  assert.equal(firstToDelete(makePod({ name: "unknown", node: "n1", phase: "Unknown" }), makePod({ name: "pending", node: "n1", phase: "Pending" })), "pending");
});

test("rule 3: not Ready before Ready", () => {
  assert.equal(firstToDelete(makePod({ name: "ready", node: "n1", ready: true }), makePod({ name: "notready", node: "n1", ready: false })), "notready");
});

test("rule 4: lower pod-deletion-cost first, and it outranks node doubling and age", () => {
  const cheap = makePod({ name: "cheap", node: "n1", ready: true, cost: "-5", created: "2020-01-01T00:00:00Z" });
  const dear = makePod({ name: "dear", node: "n2", ready: true, cost: "100", created: "2026-05-31T23:59:00Z" });
  const sibling = makePod({ name: "sibling", node: "n2" });
  assert.equal(firstToDelete(cheap, dear, [cheap, dear, sibling]), "cheap");
});

test("pod-deletion-cost parses int32 and treats invalid values as 0", () => {
  assert.equal(podDeletionCost(makePod({ name: "a", cost: "2147483647" })), 2147483647);
  assert.equal(podDeletionCost(makePod({ name: "a", cost: "-2147483648" })), -2147483648);
  // upstream validFirstDigit: a leading '+' or a leading zero is invalid; ParseInt takes "-08".
  assert.equal(podDeletionCost(makePod({ name: "a", cost: "+7" })), 0);
  assert.equal(podDeletionCost(makePod({ name: "a", cost: "008" })), 0);
  assert.equal(podDeletionCost(makePod({ name: "a", cost: "0" })), 0);
  assert.equal(podDeletionCost(makePod({ name: "a", cost: "00" })), 0);
  assert.equal(podDeletionCost(makePod({ name: "a", cost: "-08" })), -8);
  assert.equal(podDeletionCost(makePod({ name: "a", cost: "-" })), 0);
  assert.equal(podDeletionCost(makePod({ name: "a", cost: "" })), 0);
  assert.equal(podDeletionCost(makePod({ name: "a", cost: "7" })), 7);
  assert.equal(podDeletionCost(makePod({ name: "a", cost: "2147483648" })), 0);
  assert.equal(podDeletionCost(makePod({ name: "a", cost: "1.5" })), 0);
  assert.equal(podDeletionCost(makePod({ name: "a", cost: " 3" })), 0);
  assert.equal(podDeletionCost(makePod({ name: "a", cost: "abc" })), 0);
  assert.equal(podDeletionCost(makePod({ name: "a" })), 0);
  // An invalid cost equals a cost of 0: the next rule decides.
  const invalid = makePod({ name: "invalid", node: "n1", cost: "x", restarts: [1] });
  const zero = makePod({ name: "zero", node: "n1", cost: "0", restarts: [3] });
  assert.equal(firstToDelete(invalid, zero), "zero");
  const negative = makePod({ name: "negative", node: "n1", cost: "-1", restarts: [0] });
  assert.equal(firstToDelete(invalid, negative), "negative");
});

test("rule 5: more active related pods on the same node first (inactive pods do not count)", () => {
  const lonely = makePod({ name: "lonely", node: "n1", ready: true, readySince: "2026-05-31T23:59:59Z" });
  const crowded = makePod({ name: "crowded", node: "n2", ready: true, readySince: "2020-01-01T00:00:00Z" });
  const mate = makePod({ name: "mate", node: "n2" });
  assert.equal(firstToDelete(lonely, crowded, [lonely, crowded, mate]), "crowded");
  const ranked = rankByRelatedPodsOnSameNode([lonely, crowded], [lonely, crowded, mate, makePod({ name: "done", node: "n1", phase: "Succeeded" }), makePod({ name: "gone", node: "n1", deleting: true })]);
  assert.deepEqual(ranked.map((r) => r.podsOnSameNode), [1, 2]);
});

test("rule 6: both Ready, more recently Ready first when the log2 buckets differ", () => {
  const recent = makePod({ name: "recent", node: "n1", ready: true, readySince: "2026-05-31T23:59:00Z", restarts: [0] });
  const old = makePod({ name: "old", node: "n1", ready: true, readySince: "2026-05-01T00:00:00Z", restarts: [9] });
  assert.equal(firstToDelete(recent, old), "recent");
  // A Ready pod with no known transition time sorts first (upstream's zero time).
  const unknown = makePod({ name: "unknown", node: "n1", ready: true, restarts: [0] });
  assert.equal(firstToDelete(unknown, recent), "unknown");
});

test("rule 6: ready times in the same log2 bucket fall back to UID, not to restarts", () => {
  // 100 s and 110 s ago: both floor(log2(ns)) = 36.
  const a = makePod({ name: "a", uid: "bbb", node: "n1", ready: true, readySince: new Date(NOW - 100_000).toISOString(), restarts: [0] });
  const b = makePod({ name: "b", uid: "aaa", node: "n1", ready: true, readySince: new Date(NOW - 110_000).toISOString(), restarts: [5] });
  assert.equal(logarithmicAgeBucket(NOW - 100_000, NOW), logarithmicAgeBucket(NOW - 110_000, NOW));
  assert.equal(firstToDelete(a, b), "b", "smaller UID goes first");
});

test("rule 7: higher max container restart count first", () => {
  const calm = makePod({ name: "calm", node: "n1", restarts: [1, 2] });
  const flappy = makePod({ name: "flappy", node: "n1", restarts: [0, 5] });
  assert.equal(firstToDelete(calm, flappy), "flappy");
});

test("rule 7: with equal regular restarts, more restarts of restartable init containers (sidecars) first; plain init containers do not count", () => {
  const withSidecar = (name: string, sidecarRestarts: number, initRestarts: number) => {
    const pod = makePod({ name, node: "n1", restarts: [2] });
    pod.spec!.initContainers = [
      { name: "sidecar", image: "i", restartPolicy: "Always" },
      { name: "init", image: "i" },
    ];
    pod.status!.initContainerStatuses = [
      { name: "sidecar", image: "i", imageID: "", ready: true, restartCount: sidecarRestarts },
      { name: "init", image: "i", imageID: "", ready: false, restartCount: initRestarts },
    ];
    return pod;
  };
  assert.equal(firstToDelete(withSidecar("quiet", 1, 50), withSidecar("noisy", 4, 0)), "noisy");
  // Regular containers decide first.
  const regular = makePod({ name: "regular", node: "n1", restarts: [3] });
  assert.equal(firstToDelete(withSidecar("sidecar-heavy", 100, 0), regular), "regular");
});

test("rule 8: newer creation first across log2 buckets, UID inside one bucket", () => {
  const newer = makePod({ name: "newer", uid: "zzz", node: "n1", created: "2026-05-31T23:00:00Z" });
  const older = makePod({ name: "older", uid: "aaa", node: "n1", created: "2026-01-01T00:00:00Z" });
  assert.equal(firstToDelete(newer, older), "newer");
  const x = makePod({ name: "x", uid: "u2", node: "n1", created: new Date(NOW - 100_000).toISOString() });
  const y = makePod({ name: "y", uid: "u1", node: "n1", created: new Date(NOW - 101_000).toISOString() });
  assert.equal(firstToDelete(x, y), "y");
  const missing = makePod({ name: "missing", node: "n1" });
  delete missing.metadata!.creationTimestamp;
  assert.equal(firstToDelete(missing, older), "missing");
});

test("logarithmic buckets: floor(log2(age in ns)), -1 for no age", () => {
  assert.equal(logarithmicAgeBucket(NOW - 1000, NOW), Math.floor(Math.log2(1e9)));
  assert.equal(logarithmicAgeBucket(NOW, NOW), -1);
  assert.equal(logarithmicAgeBucket(NOW + 5, NOW), -1);
  assert.ok(logarithmicAgeBucket(NOW - 2000, NOW) === logarithmicAgeBucket(NOW - 1000, NOW) + 1);
});

test("identical pods compare equal; podsToDelete takes the count asked for", () => {
  const a = makePod({ name: "a", node: "n1" });
  assert.equal(compareForDeletion({ pod: a, podsOnSameNode: 1 }, { pod: a, podsOnSameNode: 1 }, NOW), 0);
  const pods = [makePod({ name: "p1", node: "n1", ready: true }), makePod({ name: "p2" }), makePod({ name: "p3", node: "n1", ready: false })];
  assert.deepEqual(podsToDelete(pods, pods, 2, NOW).map((p) => p.metadata!.name), ["p2", "p3"]);
  assert.equal(podsToDelete(pods, pods, 3, NOW).length, 3);
  assert.equal(podsToDelete(pods, pods, 0, NOW).length, 0);
});
