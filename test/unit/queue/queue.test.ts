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

test("metrics: controller-runtime v0.24 names and label sets (name and controller; depth by priority)", async () => {
  const registry = new Registry();
  const q = new WorkQueue({ name: "pods", metrics: registry });
  const l = 'name="pods",controller="pods"';
  q.add("a");
  q.add("b");
  q.add("a");
  q.add("low", { priority: LOW_PRIORITY });
  const text1 = await registry.metrics();
  assert.match(text1, new RegExp(`workqueue_adds_total\\{${l}\\} 3\n`));
  assert.match(text1, new RegExp(`workqueue_depth\\{${l},priority="0"\\} 2\n`));
  assert.match(text1, new RegExp(`workqueue_depth\\{${l},priority="-100"\\} 1\n`));
  q.add("low", { priority: 5 }); // raised: moves between depth series
  const text1b = await registry.metrics();
  assert.match(text1b, new RegExp(`workqueue_depth\\{${l},priority="-100"\\} 0\n`));
  assert.match(text1b, new RegExp(`workqueue_depth\\{${l},priority="5"\\} 1\n`));
  assert.equal(await q.get(), "low");
  await q.get();
  const text2 = await registry.metrics();
  assert.match(text2, new RegExp(`workqueue_depth\\{${l},priority="0"\\} 1\n`));
  assert.match(text2, new RegExp(`workqueue_depth\\{${l},priority="5"\\} 0\n`));
  assert.match(text2, new RegExp(`workqueue_queue_duration_seconds_count\\{${l}\\} 2\n`));
  assert.match(text2, new RegExp(`workqueue_unfinished_work_seconds\\{${l}\\} \\d`));
  assert.match(text2, new RegExp(`workqueue_longest_running_processor_seconds\\{${l}\\} \\d`));
  q.done("a");
  const text3 = await registry.metrics();
  assert.match(text3, new RegExp(`workqueue_work_duration_seconds_count\\{${l}\\} 1\n`));
  assert.match(text3, new RegExp(`workqueue_retries_total\\{${l}\\} 0\n`));
  // A second queue shares the registry.
  const q2 = new WorkQueue({ name: "nodes", metrics: registry });
  q2.add("n1");
  assert.match(await registry.metrics(), /workqueue_adds_total\{name="nodes",controller="nodes"\} 1\n/);
  // The label sets, metric by metric, as controller-runtime registers them.
  const labelSets = Object.fromEntries((await registry.getMetricsAsJSON()).map((m) => [m.name, Object.keys(m.values[0]?.labels ?? {}).filter((k) => k !== "le").sort()]));
  assert.deepEqual(labelSets, {
    workqueue_depth: ["controller", "name", "priority"],
    workqueue_adds_total: ["controller", "name"],
    workqueue_queue_duration_seconds: ["controller", "name"],
    workqueue_work_duration_seconds: ["controller", "name"],
    workqueue_unfinished_work_seconds: ["controller", "name"],
    workqueue_longest_running_processor_seconds: ["controller", "name"],
    workqueue_retries_total: ["controller", "name"],
  });
});

test("more than 25 distinct priorities share one depth series, as controller-runtime caps the cardinality", async () => {
  const registry = new Registry();
  const q = new WorkQueue({ name: "p", metrics: registry });
  for (let p = 0; p < 30; p++) q.add(`k${p}`, { priority: p });
  const text = await registry.metrics();
  assert.match(text, /workqueue_depth\{name="p",controller="p",priority="exceeded_cardinality_limit"\} \d+\n/);
  assert.equal(text.match(/^workqueue_depth\{/gm)?.length, 26);
});
