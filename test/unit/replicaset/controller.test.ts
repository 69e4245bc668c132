import { test } from "node:test";
import assert from "node:assert/strict";
import { Store } from "../../../framework/cache/index.ts";
import { ControllerExpectations } from "../../../operators/replicaset/expectations.ts";
import { podExpectationsHandler, replicaSetsForOrphan } from "../../../operators/replicaset/controller.ts";
import type { ReplicaSetShape } from "../../../operators/replicaset/types.ts";
import { makePod, makeReplicaSet } from "./fixtures.ts";

function setup() {
  const replicaSets = new Store<ReplicaSetShape>();
  replicaSets.upsert(makeReplicaSet());
  const expectations = new ControllerExpectations();
  return { replicaSets, expectations, handler: podExpectationsHandler(expectations, replicaSets) };
}

test("pod events: a new controlled pod is an observed creation", () => {
  const t = setup();
  t.expectations.expectCreations("ns/rs", 2);
  t.handler.onAdd!(makePod({ name: "a", controllerUid: "rs-uid" }), false);
  t.handler.onAdd!(makePod({ name: "other", controllerUid: "stale-uid" }), false);
  t.handler.onAdd!(makePod({ name: "orphan" }), false);
  assert.deepEqual(t.expectations.pending("ns/rs"), { add: 1, del: 0 });
});

test("pod events: first seen with a deletionTimestamp, deletionTimestamp set, or deleted: one observed deletion each", () => {
  const t = setup();
  t.expectations.expectDeletions("ns/rs", ["ns/a", "ns/b", "ns/c"]);
  t.handler.onAdd!(makePod({ name: "a", controllerUid: "rs-uid", deleting: true }), false);
  assert.deepEqual(t.expectations.pending("ns/rs"), { add: 0, del: 2 });
  const b = makePod({ name: "b", controllerUid: "rs-uid" });
  t.handler.onUpdate!(b, makePod({ name: "b", controllerUid: "rs-uid", deleting: true }));
  t.handler.onDelete!(makePod({ name: "b", controllerUid: "rs-uid", deleting: true }), false);
  assert.deepEqual(t.expectations.pending("ns/rs"), { add: 0, del: 1 }, "b counted once");
  t.handler.onUpdate!(makePod({ name: "c", controllerUid: "rs-uid" }), makePod({ name: "c", controllerUid: "rs-uid", phase: "Running" }));
  assert.deepEqual(t.expectations.pending("ns/rs"), { add: 0, del: 1 }, "an update without deletionTimestamp is not a deletion");
  t.handler.onDelete!(makePod({ name: "c", controllerUid: "rs-uid" }), true);
  assert.equal(t.expectations.satisfied("ns/rs"), true);
});

test("orphan pods map to the ReplicaSets whose selector matches; controlled or deleting pods to none", () => {
  const t = setup();
  const other = makeReplicaSet();
  other.metadata.name = "other";
  other.metadata.uid = "other-uid";
  (other.spec.selector as { matchLabels: Record<string, string> }).matchLabels = { app: "db" };
  t.replicaSets.upsert(other);
  const empty = makeReplicaSet();
  empty.metadata.name = "empty";
  (empty.spec as { selector: object }).selector = {};
  t.replicaSets.upsert(empty);
  assert.deepEqual(replicaSetsForOrphan(makePod({ name: "p" }), t.replicaSets), [{ namespace: "ns", name: "rs" }]);
  assert.deepEqual(replicaSetsForOrphan(makePod({ name: "p", labels: { app: "db" } }), t.replicaSets), [{ namespace: "ns", name: "other" }]);
  assert.deepEqual(replicaSetsForOrphan(makePod({ name: "p", controllerUid: "x" }), t.replicaSets), []);
  assert.deepEqual(replicaSetsForOrphan(makePod({ name: "p", deleting: true }), t.replicaSets), []);
  assert.deepEqual(replicaSetsForOrphan(makePod({ name: "p", namespace: "elsewhere" }), t.replicaSets), []);
});

test("pod events: a pod whose controlling ReplicaSet is not cached is ignored (upstream resolveControllerRef)", () => {
  const replicaSets = new Store<ReplicaSetShape>();
  const expectations = new ControllerExpectations();
  const handler = podExpectationsHandler(expectations, replicaSets);
  expectations.expectCreations("ns/rs", 1);
  expectations.expectDeletions("ns/other", ["ns/b"]);
  handler.onAdd!(makePod({ name: "a", controllerUid: "rs-uid" }), false);
  handler.onDelete!(makePod({ name: "b", controllerUid: "rs-uid" }), false);
  assert.deepEqual(expectations.pending("ns/rs"), { add: 1, del: 0 });
  replicaSets.upsert(makeReplicaSet());
  handler.onAdd!(makePod({ name: "a", controllerUid: "rs-uid" }), false);
  assert.deepEqual(expectations.pending("ns/rs"), { add: 0, del: 0 });
});
