import { test } from "node:test";
import assert from "node:assert/strict";
import { TokenBucket } from "../../../framework/flowcontrol/index.ts";

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
