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

test("jitter adds at most a quarter, and two minutes without failure reset the delay", () => {
  let now = 0;
  const backoff = new Backoff({ now: () => now, random: () => 0.999 });
  assert.equal(backoff.nextDelayMs(), Math.round(800 * (1 + 0.25 * 0.999)));
  now += 1000;
  assert.equal(backoff.nextDelayMs(), Math.round(1600 * (1 + 0.25 * 0.999)));
  now += 119_000; // still within two minutes of the last failure
  assert.equal(backoff.nextDelayMs(), Math.round(3200 * (1 + 0.25 * 0.999)));
  now += 120_000;
  assert.equal(backoff.nextDelayMs(), Math.round(800 * (1 + 0.25 * 0.999)));
  backoff.nextDelayMs();
  backoff.reset();
  assert.equal(backoff.nextDelayMs(), Math.round(800 * (1 + 0.25 * 0.999)));
});
