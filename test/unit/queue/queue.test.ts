import { test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { WorkQueue, LOW_PRIORITY } from "../../../framework/queue/index.ts";

test("adding a waiting key twice hands it out once (dedup)", async () => {
  const q = new WorkQueue();
  q.add("a");
  q.add("b");
  q.add("a");
  assert.equal(q.len(), 2);
  assert.equal(await q.get(), "a");
  assert.equal(await q.get(), "b");
  assert.equal(q.len(), 0);
});

test("keys come out in FIFO order", async () => {
  const q = new WorkQueue();
  for (const k of ["c", "a", "b", "d"]) q.add(k);
  const got = [await q.get(), await q.get(), await q.get(), await q.get()];
  assert.deepEqual(got, ["c", "a", "b", "d"]);
});

test("a key being processed is not handed to a second worker; re-added while processing it comes back after done", async () => {
  const q = new WorkQueue();
  q.add("a");
  const first = await q.get();
  assert.equal(first, "a");
  q.add("a"); // dirty while processing
  assert.equal(q.len(), 0, "not queued while processing");
  let second: string | undefined;
  const pending = q.get().then((k) => (second = k));
  await new Promise((r) => setImmediate(r));
  assert.equal(second, undefined, "a second worker must not get the key being processed");
  q.done("a");
  await pending;
  assert.equal(second, "a");
  q.done("a");
  assert.equal(q.len(), 0);
  assert.equal(q.has("a"), false);
});

test("done without a re-add does not bring the key back", async () => {
  const q = new WorkQueue();
  q.add("a");
  await q.get();
  q.done("a");
  assert.equal(q.len(), 0);
  q.add("a");
  assert.equal(q.len(), 1);
});

test("get waits for an add and waiters are served in order", async () => {
  const q = new WorkQueue();
  const w1 = q.get();
  const w2 = q.get();
  q.add("x");
  q.add("y");
  assert.equal(await w1, "x");
  assert.equal(await w2, "y");
});

test("higher priority first, FIFO within a priority, and a re-add can raise a priority", async () => {
  const q = new WorkQueue();
  q.add("initial-1", { priority: LOW_PRIORITY });
  q.add("initial-2", { priority: LOW_PRIORITY });
  q.add("initial-3", { priority: LOW_PRIORITY });
  q.add("fresh");
  q.add("initial-3"); // a fresh event for a key of the initial list
  q.add("fresh", { priority: LOW_PRIORITY }); // never lowers
  assert.equal(q.len(), 4);
  const got = [];
  for (let i = 0; i < 4; i++) got.push(await q.get());
  assert.deepEqual(got, ["fresh", "initial-3", "initial-1", "initial-2"]);
});

test("shutDown resolves waiting and later gets with undefined and ignores adds", async () => {
  const q = new WorkQueue();
  const waiting = q.get();
  q.shutDown();
  assert.equal(await waiting, undefined);
  q.add("a");
  assert.equal(await q.get(), undefined);
  assert.equal(q.len(), 0);
});

test("shutDown drops the backlog: get resolves undefined even with keys queued", async () => {
  const q = new WorkQueue();
  q.add("a");
  q.add("b");
  q.shutDown();
  assert.equal(await q.get(), undefined);
});

test("get resolves undefined when its signal aborts, and the key then goes to the next waiter", async () => {
  const q = new WorkQueue();
  const ac = new AbortController();
  const aborted = q.get(ac.signal);
  const other = q.get();
  ac.abort();
  assert.equal(await aborted, undefined);
  q.add("a");
  assert.equal(await other, "a");
});

test("shutDownWithDrain waits for in-flight keys and does not requeue dirty ones", async () => {
  const q = new WorkQueue();
  q.add("a");
  q.add("b");
  const a = await q.get();
  assert.equal(a, "a");
  q.add("a"); // dirty while processing
  let drained = false;
  const drain = q.shutDownWithDrain().then(() => (drained = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(drained, false, "must wait for the in-flight key");
  assert.equal(await q.get(), undefined, "no new work is handed out while draining");
  q.done("a");
  await drain;
  assert.equal(drained, true);
  assert.equal(q.has("a"), false);
});

test("shutDownWithDrain resolves at once with nothing in flight, and rejects naming the key when its signal aborts", async () => {
  await new WorkQueue().shutDownWithDrain();
  const q = new WorkQueue({ name: "stuck" });
  q.add("ns/stuck-key");
  await q.get();
  const ac = new AbortController();
  const drain = q.shutDownWithDrain(ac.signal);
  ac.abort();
  await assert.rejects(drain, /ns\/stuck-key/);
});

test("metrics: adds, depth, queue and work durations and in-flight gauges under the name label", async () => {
  const registry = new Registry();
  const q = new WorkQueue({ name: "pods", metrics: registry });
  q.add("a");
  q.add("b");
  q.add("a");
  const text1 = await registry.metrics();
  assert.match(text1, /workqueue_adds_total\{name="pods"\} 2/);
  assert.match(text1, /workqueue_depth\{name="pods"\} 2/);
  await q.get();
  const text2 = await registry.metrics();
  assert.match(text2, /workqueue_depth\{name="pods"\} 1/);
  assert.match(text2, /workqueue_queue_duration_seconds_count\{name="pods"\} 1/);
  assert.match(text2, /workqueue_unfinished_work_seconds\{name="pods"\} \d/);
  assert.match(text2, /workqueue_longest_running_processor_seconds\{name="pods"\} \d/);
  q.done("a");
  const text3 = await registry.metrics();
  assert.match(text3, /workqueue_work_duration_seconds_count\{name="pods"\} 1/);
  assert.match(text3, /workqueue_retries_total\{name="pods"\} 0/);
  // A second queue shares the registry.
  const q2 = new WorkQueue({ name: "nodes", metrics: registry });
  q2.add("n1");
  assert.match(await registry.metrics(), /workqueue_adds_total\{name="nodes"\} 1/);
});
