// After kubernetes v1.36 pkg/controller/util/consistency/consistency_test.go.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConsistencyStore } from "../../../operators/replicaset/consistency.ts";

test("a sync waits until every informer has reached our writes; the record is dropped then", () => {
  const read = { pods: "10", replicaSets: "10" };
  const store = new ConsistencyStore({ pods: () => read.pods, replicaSets: () => read.replicaSets });
  assert.equal(store.ready("ns/rs"), true, "nothing written");
  store.wroteAt("ns/rs", "u1", "pods", "15");
  store.wroteAt("ns/rs", "u1", "pods", "12"); // lower: kept at 15
  store.wroteAt("ns/rs", "u1", "replicaSets", "20");
  assert.equal(store.ready("ns/rs"), false);
  read.pods = "15";
  assert.equal(store.ready("ns/rs"), false, "the ReplicaSet informer still lags");
  read.replicaSets = "9"; // not numeric-greater
  assert.equal(store.ready("ns/rs"), false);
  read.replicaSets = "100"; // longer is greater
  assert.equal(store.ready("ns/rs"), true);
  read.pods = "1";
  assert.equal(store.ready("ns/rs"), true, "the record was cleared once ready");
});

test("another UID replaces the record; unknown or malformed versions never hold a sync back; clear forgets", () => {
  const read = { pods: "", replicaSets: "5" };
  const store = new ConsistencyStore({ pods: () => read.pods, replicaSets: () => read.replicaSets });
  store.wroteAt("ns/rs", "old", "replicaSets", "50");
  store.wroteAt("ns/rs", "new", "replicaSets", "6");
  assert.equal(store.ready("ns/rs"), false);
  read.replicaSets = "6";
  assert.equal(store.ready("ns/rs"), true, "the old UID's 50 is gone");
  store.wroteAt("ns/rs", "new", "pods", "99");
  assert.equal(store.ready("ns/rs"), true, "the pod informer reports no version");
  read.pods = "1";
  store.wroteAt("ns/rs", "new", "pods", "not-a-version");
  store.wroteAt("ns/other", "x", "pods", "007");
  assert.equal(store.ready("ns/other"), true, "malformed versions do not compare");
  store.wroteAt("ns/rs", "new", "pods", "1000");
  store.clear("ns/rs");
  assert.equal(store.ready("ns/rs"), true);
});
