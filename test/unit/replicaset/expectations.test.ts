import { test } from "node:test";
import assert from "node:assert/strict";
import { ControllerExpectations, EXPECTATIONS_TIMEOUT_MS } from "../../../operators/replicaset/expectations.ts";

function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => { now += ms; } };
}

test("no expectations: satisfied", () => {
  assert.equal(new ControllerExpectations().satisfied("ns/rs"), true);
});

test("creations: satisfied only after every expected creation was observed", () => {
  const exp = new ControllerExpectations();
  exp.expectCreations("ns/rs", 3);
  assert.equal(exp.satisfied("ns/rs"), false);
  exp.creationObserved("ns/rs");
  exp.creationObserved("ns/rs");
  assert.equal(exp.satisfied("ns/rs"), false);
  exp.creationObserved("ns/rs");
  assert.equal(exp.satisfied("ns/rs"), true);
  assert.equal(exp.satisfied("ns/other"), true, "keys are independent");
});

test("skipped creations lower the expectation", () => {
  const exp = new ControllerExpectations();
  exp.expectCreations("ns/rs", 7);
  exp.creationObserved("ns/rs");
  exp.lowerExpectations("ns/rs", 6);
  assert.equal(exp.satisfied("ns/rs"), true);
  assert.deepEqual(exp.pending("ns/rs"), { add: 0, del: 0 });
});

test("deletions: tracked by exact pod key, each counted once", () => {
  const exp = new ControllerExpectations();
  exp.expectDeletions("ns/rs", ["ns/a", "ns/b"]);
  exp.deletionObserved("ns/rs", "ns/unrelated");
  assert.equal(exp.satisfied("ns/rs"), false);
  exp.deletionObserved("ns/rs", "ns/a");
  exp.deletionObserved("ns/rs", "ns/a"); // the delete event after the deletionTimestamp update
  assert.equal(exp.satisfied("ns/rs"), false);
  assert.deepEqual(exp.pending("ns/rs"), { add: 0, del: 1 });
  exp.deletionObserved("ns/rs", "ns/b");
  assert.equal(exp.satisfied("ns/rs"), true);
});

test("setting expectations replaces the old ones", () => {
  const exp = new ControllerExpectations();
  exp.expectDeletions("ns/rs", ["ns/a"]);
  exp.expectCreations("ns/rs", 1);
  exp.deletionObserved("ns/rs", "ns/a");
  assert.deepEqual(exp.pending("ns/rs"), { add: 1, del: 0 });
});

test("expectations expire after the timeout (a missed watch event does not block forever)", () => {
  const c = clock();
  const exp = new ControllerExpectations({ now: c.now });
  exp.expectCreations("ns/rs", 2);
  c.advance(EXPECTATIONS_TIMEOUT_MS);
  assert.equal(exp.satisfied("ns/rs"), false, "not yet: strictly older than the timeout");
  c.advance(1);
  assert.equal(exp.satisfied("ns/rs"), true);
});

test("delete forgets a controller", () => {
  const exp = new ControllerExpectations();
  exp.expectCreations("ns/rs", 2);
  exp.delete("ns/rs");
  assert.equal(exp.satisfied("ns/rs"), true);
  assert.equal(exp.pending("ns/rs"), undefined);
});
