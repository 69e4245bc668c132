import { test } from "node:test";
import assert from "node:assert/strict";
import { TokenBucket } from "../../../framework/flowcontrol/index.ts";
import { FakeClock } from "../queue/fake-clock.ts";

test("a token bucket starts full, then refills at qps: burst at once, the rest queued in order", () => {
  let now = 0;
  const bucket = new TokenBucket(200, 300, () => now);
  const waits = Array.from({ length: 1000 }, () => bucket.reserve());
  assert.equal(waits.filter((w) => w === 0).length, 300, "the first `burst` go at once");
  assert.equal(waits[300], 5, "then one every 1/qps s");
  assert.equal(waits[999], 3500, "the 1000th at (1000 - burst) / qps s, as golang.org/x/time/rate");
  for (let i = 1; i < waits.length; i++) assert.ok(waits[i]! >= waits[i - 1]!, "reservations queue in order");
  now = 10_000;
  assert.equal(bucket.reserve(), 0, "after a long pause the bucket is full again");
  assert.throws(() => new TokenBucket(0, 1), /qps > 0/);
  assert.throws(() => new TokenBucket(1, 0), /burst >= 1/);
});

test("a cancelled reservation gives its token back only when no later reservation counted it (x/time/rate CancelAt)", () => {
  let now = 0;
  const bucket = new TokenBucket(10, 1, () => now);
  assert.equal(bucket.reserve(), 0);
  const second = bucket.reservation();
  const third = bucket.reservation();
  assert.equal(second.delayMs, 100);
  assert.equal(third.delayMs, 200);
  second.cancel();
  assert.equal(bucket.reservation().delayMs, 300, "a middle reservation restores nothing: the third was scheduled after it");
  const bucket2 = new TokenBucket(10, 1, () => now);
  bucket2.reserve();
  const a = bucket2.reservation();
  const b = bucket2.reservation();
  b.cancel();
  b.cancel(); // idempotent
  a.cancel();
  assert.equal(bucket2.reservation().delayMs, 100, "cancelled from the last back, both tokens return");
  const bucket3 = new TokenBucket(10, 1, () => now);
  bucket3.reserve();
  const late = bucket3.reservation();
  now = 150; // its time (100) has passed: it acted
  late.cancel();
  assert.equal(bucket3.reservation().delayMs, 50, "a reservation whose time came is spent");
});

test("an aborted wait gives its token back, so the next request is not delayed by it (x/time/rate Wait)", async () => {
  const clock = new FakeClock(0);
  const bucket = new TokenBucket(20, 1, clock);
  await bucket.wait(); // the burst token
  const stop = new AbortController();
  let outcome = "pending";
  const waiting = bucket.wait(stop.signal).then(() => (outcome = "done"), (err: unknown) => (outcome = `rejected: ${(err as Error).message}`));
  clock.advance(10);
  await Promise.resolve();
  assert.equal(outcome, "pending", "waits for its token (50 ms at 20 qps)");
  stop.abort(new Error("reconcile cancelled"));
  await waiting;
  assert.equal(outcome, "rejected: reconcile cancelled", "rejects with the abort reason at once");
  assert.equal(clock.timers.size, 0, "its timer is cleared");
  // Without the token back this would wait 90 ms (two tokens owed); with it, 40 ms (the first's refill).
  let nextDone = false;
  const next = bucket.wait().then(() => (nextDone = true));
  clock.advance(39);
  await Promise.resolve();
  assert.equal(nextDone, false);
  clock.advance(1);
  await next;
  assert.equal(nextDone, true, "the next wait gets the returned token at 50 ms, not 100 ms");
  await assert.rejects(bucket.wait(AbortSignal.abort(new Error("already"))), /already/, "an aborted signal takes no token");
  clock.advance(50);
  assert.equal(bucket.reserve(), 0, "and the bucket refilled");
});
