import { test } from "node:test";
import assert from "node:assert/strict";
import { Backoff } from "../../../framework/cache/index.ts";

test("delays double from 800 ms to the 30 s cap", () => {
  let now = 0;
  const backoff = new Backoff({ now: () => now, random: () => 0 });
  const delays: number[] = [];
  for (let i = 0; i < 9; i++) {
    delays.push(backoff.nextDelayMs());
    now += 1000;
  }
  assert.deepEqual(delays, [800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000]);
});

test("jitter stretches each delay by up to +100 % (client-go's 1.0), on top of the cap", () => {
  const backoff = new Backoff({ now: () => 0, random: () => 0.999 });
  const delays = Array.from({ length: 8 }, () => backoff.nextDelayMs());
  assert.deepEqual(delays, [800, 1600, 3200, 6400, 12800, 25600, 30000, 30000].map((d) => Math.round(d * 1.999)));
});

test("the sequence restarts when more than 2 min passed since its last reset, failing or not (apimachinery backoffManager)", () => {
  let now = 0;
  const backoff = new Backoff({ now: () => now, random: () => 0 });
  const delays: number[] = [];
  for (let i = 0; i < 10; i++) {
    delays.push(backoff.nextDelayMs());
    now += 30_000;
  }
  // Calls at 0..120 s are within the first period; the call at 150 s resets and starts the next (150..270 s).
  assert.deepEqual(delays, [800, 1600, 3200, 6400, 12800, 800, 1600, 3200, 6400, 12800]);
  backoff.reset();
  assert.equal(backoff.nextDelayMs(), 800);
});
