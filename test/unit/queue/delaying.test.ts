import { test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { DelayingQueue } from "../../../framework/queue/index.ts";
import { FakeClock } from "./fake-clock.ts";

test("delayed keys arrive in ready-time order, not add order", async () => {
  const clock = new FakeClock();
  const q = new DelayingQueue({ clock });
  q.addAfter("late", 300);
  q.addAfter("early", 100);
  q.addAfter("middle", 200);
  assert.equal(q.len(), 0);
  assert.equal(q.waitingCount(), 3);
  clock.advance(99);
  assert.equal(q.len(), 0);
  clock.advance(1);
  assert.equal(q.len(), 1);
  clock.advance(200);
  assert.deepEqual([await q.get(), await q.get(), await q.get()], ["early", "middle", "late"]);
});

test("one timer for the whole heap, not one per add", () => {
  const clock = new FakeClock();
  const q = new DelayingQueue({ clock });
  for (let i = 0; i < 100; i++) q.addAfter(`k${i}`, 1000 + i);
  assert.equal(clock.timers.size, 1);
  q.addAfter("sooner", 10); // re-arms for the new head
  assert.equal(clock.timers.size, 1);
  clock.advance(10);
  assert.equal(q.len(), 1);
  assert.equal(clock.timers.size, 1, "re-armed for the next head");
});

test("a key already waiting keeps the earlier ready time", () => {
  const clock = new FakeClock();
  const q = new DelayingQueue({ clock });
  q.addAfter("a", 500);
  q.addAfter("a", 100);
  q.addAfter("a", 900);
  assert.equal(q.waitingCount(), 1);
  clock.advance(100);
  assert.equal(q.len(), 1);
  clock.advance(1000);
  assert.equal(q.len(), 1, "added once");
});

test("a zero or negative delay adds at once", () => {
  const q = new DelayingQueue({ clock: new FakeClock() });
  q.addAfter("a", 0);
  q.addAfter("b", -5);
  assert.equal(q.len(), 2);
});

test("a delayed key that is already queued is deduplicated on arrival", async () => {
  const clock = new FakeClock();
  const q = new DelayingQueue({ clock });
  q.add("a");
  q.addAfter("a", 50);
  clock.advance(50);
  assert.equal(q.len(), 1);
});

test("shutDown cancels the timer and drops waiting keys", async () => {
  const clock = new FakeClock();
  const q = new DelayingQueue({ clock });
  q.addAfter("a", 50);
  q.shutDown();
  assert.equal(clock.timers.size, 0);
  clock.advance(100);
  assert.equal(await q.get(), undefined);
  q.addAfter("b", 10);
  assert.equal(clock.timers.size, 0);
});

test("with real timers a delayed key arrives after its delay", async () => {
  const q = new DelayingQueue();
  const start = performance.now();
  q.addAfter("a", 30);
  assert.equal(await q.get(), "a");
  assert.ok(performance.now() - start >= 25, "not before its delay");
});

test("addAfter with a positive delay counts as a retry; a zero or negative one does not (controller-runtime v0.24)", async () => {
  const registry = new Registry();
  const q = new DelayingQueue({ name: "d", metrics: registry, clock: new FakeClock() });
  q.addAfter("a", 10);
  q.addAfter("b", 0);
  q.addAfter("c", -1);
  assert.match(await registry.metrics(), /workqueue_retries_total\{name="d",controller="d"\} 1\n/);
});
