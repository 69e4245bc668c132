import { test } from "node:test";
import assert from "node:assert/strict";
import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  RateLimitingQueue,
  defaultControllerRateLimiter,
} from "../../../framework/queue/index.ts";
import { FakeClock } from "./fake-clock.ts";

test("exponential backoff doubles per failure from the base and is capped", () => {
  const l = new ItemExponentialFailureRateLimiter(5, 1_000_000);
  const delays = Array.from({ length: 20 }, () => l.when("a"));
  assert.deepEqual(delays.slice(0, 5), [5, 10, 20, 40, 80]);
  assert.equal(delays[17], 5 * 2 ** 17);
  assert.equal(delays[18], 1_000_000, "capped at 1000 s");
  assert.equal(delays[19], 1_000_000);
  assert.equal(l.numRequeues("a"), 20);
  assert.equal(l.when("b"), 5, "per key");
  for (let i = 0; i < 2000; i++) l.when("a");
  assert.equal(l.when("a"), 1_000_000, "no overflow after many failures");
});

test("forget resets a key's backoff", () => {
  const l = new ItemExponentialFailureRateLimiter(5, 1000);
  l.when("a");
  l.when("a");
  l.forget("a");
  assert.equal(l.numRequeues("a"), 0);
  assert.equal(l.when("a"), 5);
});

test("token bucket: burst at no delay, then 1/qps apart, refilled by time", () => {
  const clock = new FakeClock();
  const l = new BucketRateLimiter(10, 100, clock);
  for (let i = 0; i < 100; i++) assert.equal(l.when(`k${i}`), 0);
  assert.equal(Math.round(l.when("x")), 100);
  assert.equal(Math.round(l.when("y")), 200);
  clock.advance(1000); // 10 tokens back: debt of 2 paid, 8 left
  for (let i = 0; i < 8; i++) assert.equal(l.when(`z${i}`), 0);
  assert.equal(Math.round(l.when("w")), 100);
  assert.equal(l.numRequeues("x"), 0);
});

test("max-of takes the longest delay and forgets in all limiters", () => {
  const clock = new FakeClock();
  const l = new MaxOfRateLimiter(new ItemExponentialFailureRateLimiter(5, 1000), new BucketRateLimiter(1, 2, clock));
  assert.equal(l.when("a"), 5);
  assert.equal(l.when("a"), 10);
  assert.equal(Math.round(l.when("a")), 1000, "bucket now dominates");
  assert.equal(l.numRequeues("a"), 3);
  l.forget("a");
  assert.equal(l.numRequeues("a"), 0);
});

test("the default limiter is max(5 ms..1000 s exponential, 10 qps burst 100)", () => {
  const clock = new FakeClock();
  const l = defaultControllerRateLimiter(clock);
  assert.equal(l.when("a"), 5);
  assert.equal(l.when("a"), 10);
  for (let i = 0; i < 98; i++) l.when(`k${i}`);
  assert.equal(Math.round(l.when("b")), 100, "bucket exhausted after burst 100");
});

test("addRateLimited delays by the limiter, forget resets, numRequeues counts", async () => {
  const clock = new FakeClock();
  const q = new RateLimitingQueue({ clock, rateLimiter: new ItemExponentialFailureRateLimiter(10, 1000) });
  q.addRateLimited("a");
  assert.equal(q.len(), 0);
  clock.advance(10);
  assert.equal(await q.get(), "a");
  q.done("a");
  q.addRateLimited("a");
  clock.advance(19);
  assert.equal(q.len(), 0, "second failure waits 20 ms");
  clock.advance(1);
  assert.equal(q.len(), 1);
  assert.equal(q.numRequeues("a"), 2);
  q.forget("a");
  assert.equal(q.numRequeues("a"), 0);
});
