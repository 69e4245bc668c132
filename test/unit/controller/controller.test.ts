import { test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { rootLogger } from "../../../framework/log/index.ts";
import { Pods, type KubeObject } from "../../../framework/meta/index.ts";
import { ItemExponentialFailureRateLimiter } from "../../../framework/queue/index.ts";
import {
  Controller, TerminalError, enqueueForObject, requeue, requeueAfter, type ReconcileContext, type Request, type Result,
} from "../../../framework/controller/index.ts";
import { FakeInformer, cm, deferred, eventually } from "./fakes.ts";

const log = rootLogger.child({}, { level: "silent" });

function setup(reconcile: (req: Request, ctx: ReconcileContext) => Promise<Result>, opts: { maxConcurrentReconciles?: number; gracefulShutdownTimeoutMs?: number; reconciliationTimeoutMs?: number } = {}) {
  const informer = new FakeInformer<KubeObject>();
  const metrics = new Registry();
  const controller = new Controller({
    name: "test", reconciler: reconcile, primary: informer.store, metrics, log,
    rateLimiter: new ItemExponentialFailureRateLimiter(1, 50), ...opts,
  });
  controller.watch({ informer, mapper: enqueueForObject() });
  const stop = new AbortController();
  return { informer, metrics, controller, stop, run: () => controller.start(stop.signal) };
}

async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const m = await registry.getSingleMetric(name)!.get();
  const v = m.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val) && !("le" in x.labels));
  return v?.value ?? NaN;
}

test("reconciles the key of each event, reading the object from the cache; nothing before the informer syncs", async () => {
  const seen: Array<{ req: Request; data: unknown }> = [];
  const s = setup(async (req, ctx) => {
    seen.push({ req, data: ctx.getCached()?.metadata?.labels });
  });
  s.informer.add(cm("a", { labels: { v: "1" } }), true);
  const running = s.run();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(seen.length, 0, "no reconcile before the informer has synced");
  s.informer.markSynced();
  await eventually(() => seen.length === 1, "first reconcile");
  assert.deepEqual(seen[0], { req: { namespace: "default", name: "a" }, data: { v: "1" } });
  s.informer.delete(cm("a"));
  await eventually(() => seen.length === 2, "reconcile after delete");
  assert.equal(seen[1]!.data, undefined, "deleted: no longer in the cache");
  s.stop.abort();
  await running;
  assert.equal(await metricValue(s.metrics, "controller_runtime_reconcile_total", { controller: "test", result: "success" }), 2);
  assert.equal(await metricValue(s.metrics, "controller_runtime_max_concurrent_reconciles", { controller: "test" }), 1);
});

test("an error requeues with growing backoff until success, then the key is forgotten", async () => {
  let calls = 0;
  const s = setup(async () => {
    calls++;
    if (calls < 4) throw new Error("transient");
  });
  s.informer.markSynced();
  const running = s.run();
  s.informer.add(cm("a"));
  await eventually(() => calls === 4, "four attempts");
  assert.equal(s.controller.queue.numRequeues("default/a"), 0, "forgotten after success");
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(calls, 4, "no more attempts after success");
  s.stop.abort();
  await running;
  assert.equal(await metricValue(s.metrics, "controller_runtime_reconcile_errors_total", { controller: "test" }), 3);
  assert.equal(await metricValue(s.metrics, "controller_runtime_reconcile_total", { controller: "test", result: "error" }), 3);
  assert.equal(await metricValue(s.metrics, "controller_runtime_reconcile_panics_total", { controller: "test" }), 0);
  assert.equal(await metricValue(s.metrics, "workqueue_retries_total", { name: "test" }), 3);
});

test("a thrown TypeError is a panic: counted, logged, requeued, and the controller keeps working", async () => {
  let calls = 0;
  const s = setup(async (req) => {
    calls++;
    if (req.name === "bad" && calls === 1) {
      const o = undefined as unknown as { x: number };
      return requeueAfter(o.x); // TypeError
    }
  });
  s.informer.markSynced();
  const running = s.run();
  s.informer.add(cm("bad"));
  await eventually(() => calls === 2, "retried after the panic");
  s.informer.add(cm("good"));
  await eventually(() => calls === 3, "other keys still reconciled");
  s.stop.abort();
  await running;
  assert.equal(await metricValue(s.metrics, "controller_runtime_reconcile_panics_total", { controller: "test" }), 1);
  assert.equal(await metricValue(s.metrics, "controller_runtime_reconcile_errors_total", { controller: "test" }), 1);
});

test("a synchronous throw from a non-async reconciler is caught too", async () => {
  let calls = 0;
  const s = setup(((() => {
    calls++;
    if (calls === 1) throw "not an Error";
    return Promise.resolve();
  }) as unknown) as (req: Request, ctx: ReconcileContext) => Promise<Result>);
  s.informer.markSynced();
  const running = s.run();
  s.informer.add(cm("a"));
  await eventually(() => calls === 2, "retried");
  s.stop.abort();
  await running;
  assert.equal(await metricValue(s.metrics, "controller_runtime_reconcile_panics_total", { controller: "test" }), 1);
});

test("a TerminalError (also as a cause) is counted and not retried", async () => {
  let calls = 0;
  const s = setup(async (req) => {
    calls++;
    if (req.name === "a") throw new TerminalError("spec.replicas is negative");
    throw new Error("wrapped", { cause: new TerminalError("bad selector") });
  });
  s.informer.markSynced();
  const running = s.run();
  s.informer.add(cm("a"));
  s.informer.add(cm("b"));
  await eventually(() => calls === 2, "both reconciled once");
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(calls, 2, "not retried");
  s.stop.abort();
  await running;
  assert.equal(await metricValue(s.metrics, "controller_runtime_terminal_reconcile_errors_total", { controller: "test" }), 2);
  assert.equal(await metricValue(s.metrics, "controller_runtime_reconcile_errors_total", { controller: "test" }), 2);
});

test("requeueAfter reconciles again after the delay; requeue() goes through the rate limiter", async () => {
  const times: number[] = [];
  let requeued = false;
  const s = setup(async (req) => {
    if (req.name === "r") {
      if (!requeued) {
        requeued = true;
        return requeue();
      }
      return;
    }
    times.push(performance.now());
    if (times.length === 1) return requeueAfter(40);
  });
  s.informer.markSynced();
  const running = s.run();
  s.informer.add(cm("a"));
  s.informer.add(cm("r"));
  await eventually(() => times.length === 2, "requeued after delay");
  assert.ok(times[1]! - times[0]! >= 35, "not before the delay");
  s.stop.abort();
  await running;
  assert.equal(await metricValue(s.metrics, "controller_runtime_reconcile_total", { controller: "test", result: "requeue_after" }), 1);
  assert.equal(await metricValue(s.metrics, "controller_runtime_reconcile_total", { controller: "test", result: "requeue" }), 1);
});

test("workers run different keys concurrently but never the same key twice at once", async () => {
  let active = 0;
  let maxActive = 0;
  const activeKeys = new Set<string>();
  let overlapSameKey = false;
  const calls: string[] = [];
  const gate = deferred();
  const s = setup(async (req) => {
    if (activeKeys.has(req.name)) overlapSameKey = true;
    activeKeys.add(req.name);
    active++;
    maxActive = Math.max(maxActive, active);
    calls.push(req.name);
    await gate.promise;
    active--;
    activeKeys.delete(req.name);
  }, { maxConcurrentReconciles: 3 });
  s.informer.markSynced();
  const running = s.run();
  s.informer.add(cm("a"));
  s.informer.add(cm("b"));
  await eventually(() => active === 2, "two keys in flight");
  s.informer.update(cm("a", { resourceVersion: "2" }));
  s.informer.update(cm("a", { resourceVersion: "3" }));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(active, 2, "the changed key waits for its running reconcile");
  gate.resolve();
  await eventually(() => calls.length === 3 && active === 0, "the dirty key reconciled once more");
  assert.equal(overlapSameKey, false);
  assert.equal(maxActive, 2);
  assert.deepEqual(calls.sort(), ["a", "a", "b"]);
  s.stop.abort();
  await running;
});

test("stop: in-flight reconciles finish (their signal stays live), no new keys start, start() resolves after", async () => {
  const gate = deferred();
  const started: string[] = [];
  let finished = false;
  let signalAbortedDuring = true;
  const s = setup(async (req, ctx) => {
    started.push(req.name);
    await gate.promise;
    signalAbortedDuring = ctx.signal.aborted;
    finished = true;
  });
  s.informer.markSynced();
  const running = s.run();
  s.informer.add(cm("a"));
  await eventually(() => started.length === 1, "reconcile started");
  s.informer.add(cm("b")); // queued behind the single worker
  let resolved = false;
  const done = running.then(() => (resolved = true));
  s.stop.abort();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(resolved, false, "waits for the in-flight reconcile");
  gate.resolve();
  await done;
  assert.equal(finished, true);
  assert.equal(signalAbortedDuring, false);
  assert.deepEqual(started, ["a"], "the queued key was not started after stop");
});

test("stop: a reconcile that outlives the graceful timeout gets its signal aborted and start() resolves", async () => {
  let sawAbort = false;
  const s = setup(async (_req, ctx) => {
    await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
    sawAbort = true;
  }, { gracefulShutdownTimeoutMs: 30 });
  s.informer.markSynced();
  const running = s.run();
  s.informer.add(cm("a"));
  await eventually(() => s.controller.queue.processingCount() === 1, "reconcile in flight");
  s.stop.abort();
  await running;
  await eventually(() => sawAbort, "reconcile saw the abort");
});

test("an informer that never syncs fails start() with an error naming the controller", async () => {
  const informer = new FakeInformer<KubeObject>();
  const c = new Controller({ name: "never-synced", reconciler: async () => {}, log, cacheSyncTimeoutMs: 20 });
  c.watch({ informer, mapper: enqueueForObject(), description: "ConfigMap.v1 (for)" });
  await assert.rejects(c.start(new AbortController().signal), /never-synced.*ConfigMap\.v1 \(for\).*did not sync/);
});

test("starting twice is an error; initial-list events go behind fresh ones", async () => {
  const order: string[] = [];
  const gate = deferred();
  const s = setup(async (req) => {
    order.push(req.name);
    if (req.name === "first") await gate.promise;
  });
  s.informer.markSynced();
  const running = s.run();
  await assert.rejects(s.controller.start(new AbortController().signal), /started more than once/);
  s.informer.add(cm("first"));
  await eventually(() => order.length === 1, "first in flight");
  s.informer.add(cm("old-1"), true);
  s.informer.add(cm("old-2"), true);
  s.informer.add(cm("fresh"));
  gate.resolve();
  await eventually(() => order.length === 4, "all reconciled");
  assert.deepEqual(order, ["first", "fresh", "old-1", "old-2"]);
  s.stop.abort();
  await running;
});

test("bad keys from mappers, handlers, enqueue or the queue are logged and dropped; no unhandled rejection; the worker goes on", async (t) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => { unhandled.push(reason); };
  process.on("unhandledRejection", onUnhandled);
  t.after(() => process.off("unhandledRejection", onUnhandled));
  const reconciled: string[] = [];
  const informer = new FakeInformer<KubeObject>();
  const metrics = new Registry();
  let limiterThrows = false;
  const inner = new ItemExponentialFailureRateLimiter<string>(1, 5);
  const controller = new Controller({
    name: "junk", log, metrics, primary: informer.store,
    rateLimiter: {
      when: (k) => { if (limiterThrows) throw new Error("rate limiter bug"); return inner.when(k); },
      forget: (k) => inner.forget(k),
      numRequeues: (k) => inner.numRequeues(k),
    },
    reconciler: async (req) => {
      reconciled.push(req.namespace ? `${req.namespace}/${req.name}` : req.name);
      if (req.name === "fails") throw new Error("boom");
      if (req.name === "junk-result") return 42 as unknown as Result;
    },
  });
  const junk: unknown[] = [
    null, "default/x", 42, { name: "" }, { name: 7 }, { namespace: "a/b", name: "c" }, { name: "a/b" }, { namespace: 3, name: "n" },
    { namespace: "default", name: "ok-from-mapper" },
  ];
  controller.watch<KubeObject>({
    informer, description: "junk mapper",
    mapper: {
      create: (o) => {
        if (o.metadata?.name === "throws") throw new TypeError("mapper bug");
        if (o.metadata?.name === "not-an-array") return "default/x" as unknown as Request[];
        return junk as Request[];
      },
      update: () => undefined as unknown as Request[],
      delete: () => [null as unknown as Request],
    },
  });
  informer.markSynced();
  const stop = new AbortController();
  const running = controller.start(stop.signal);
  informer.add(cm("throws"));
  informer.add(cm("not-an-array"));
  informer.add(cm("junk"));
  informer.update(cm("junk", { resourceVersion: "2" }));
  informer.delete(cm("junk"));
  assert.equal(controller.enqueue({ name: "" }), false);
  assert.equal(controller.enqueue({ namespace: "default", name: "junk-result" }), true);
  controller.queue.add("too/many/slashes"); // does not parse back into a request
  await eventually(() => reconciled.includes("default/ok-from-mapper") && reconciled.includes("default/junk-result"), "valid requests reconciled");
  limiterThrows = true;
  controller.enqueue({ namespace: "default", name: "fails" }); // its requeue throws in the rate limiter
  await eventually(() => reconciled.includes("default/fails"), "failing key reconciled");
  limiterThrows = false;
  controller.enqueue({ name: "after" });
  await eventually(() => reconciled.includes("after"), "the worker still runs after every kind of junk");
  stop.abort();
  await running;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(unhandled, [], "no unhandled rejection");
  assert.deepEqual(reconciled.filter((k) => k !== "default/ok-from-mapper"), ["default/junk-result", "default/fails", "after"]);
  // The unparsable key and the throwing rate limiter are panics of the controller, not of the reconciler.
  assert.equal(await metricValue(metrics, "controller_runtime_reconcile_panics_total", { controller: "junk" }), 2);
  assert.equal(await metricValue(metrics, "controller_runtime_reconcile_total", { controller: "junk", result: "success" }), 3);
});

test("requeueAfter(0) and a negative delay mean done (no requeue), as controller-runtime's RequeueAfter: 0", async () => {
  let calls = 0;
  const s = setup(async (req) => {
    calls++;
    return req.name === "zero" ? requeueAfter(0) : requeueAfter(-5);
  });
  s.informer.markSynced();
  const running = s.run();
  s.informer.add(cm("zero"));
  s.informer.add(cm("negative"));
  await eventually(() => calls === 2, "both reconciled once");
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(calls, 2, "no requeue, no hot loop");
  assert.equal(s.controller.queue.len() + s.controller.queue.waitingCount(), 0);
  s.stop.abort();
  await running;
  assert.equal(await metricValue(s.metrics, "controller_runtime_reconcile_total", { controller: "test", result: "success" }), 2);
  assert.equal(await metricValue(s.metrics, "controller_runtime_reconcile_total", { controller: "test", result: "requeue_after" }), 0);
  assert.equal(await metricValue(s.metrics, "workqueue_retries_total", { name: "test" }), 0);
});

test("reconciliationTimeoutMs aborts ctx.signal at the deadline and counts controller_runtime_reconcile_timeouts_total", async () => {
  const aborted: boolean[] = [];
  let slowAttempts = 0;
  const s = setup(async (req, ctx) => {
    // Only the first attempt hangs: the timed-out key is requeued with backoff and its retry
    // returns at once, so exactly one reconcile times out however slow the machine is.
    if (req.name === "slow" && ++slowAttempts === 1) {
      await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
      aborted.push(ctx.signal.aborted);
      throw ctx.signal.reason;
    }
    aborted.push(ctx.signal.aborted);
  }, { reconciliationTimeoutMs: 30 });
  s.informer.markSynced();
  const running = s.run();
  s.informer.add(cm("fast"));
  s.informer.add(cm("slow"));
  await eventually(() => aborted.length === 3, "both reconciled, and slow once more after its timeout");
  assert.deepEqual(aborted, [false, true, false]);
  s.stop.abort();
  await running;
  assert.equal(await metricValue(s.metrics, "controller_runtime_reconcile_timeouts_total", { controller: "test" }), 1);
});

test("ctx.reader of a controller built without a reader rejects, saying what to pass", async () => {
  let error: unknown;
  const s = setup(async (_req, ctx) => {
    try {
      await ctx.reader.list(Pods, { namespace: "default" });
    } catch (err) {
      error = err;
    }
  });
  s.informer.add(cm("a"), true);
  s.informer.markSynced();
  const running = s.run();
  await eventually(() => error !== undefined, "reconcile");
  assert.match(String(error), /controller test: ctx\.reader\.list called, but the controller was built without a reader.*mgr\.cache/);
  s.stop.abort();
  await running;
});
