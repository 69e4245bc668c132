import { randomUUID } from "node:crypto";
import type { Registry } from "prom-client";
import type { Reader } from "../cache/reader.ts";
import type { CacheReader, HandlerRegistration, Informer } from "../cache/types.ts";
import { ApiError, isForbidden } from "../client/index.ts";
import type { EventRecorder } from "../events/index.ts";
import { rootLogger, type Logger } from "../log/index.ts";
import { parseKey, type KubeObject } from "../meta/index.ts";
import { ItemExponentialFailureRateLimiter, LOW_PRIORITY, RateLimitingQueue, type RateLimiter } from "../queue/index.ts";
import type { RequestMapper } from "./handler.ts";
import { controllerCollectors, type ControllerCollectors } from "./metrics.ts";
import { allPass, type Predicate } from "./predicate.ts";
import { isTerminalError, type ReconcileContext, type ReconcileFunc, type Reconciler, type Request, type Result } from "./reconcile.ts";

/** Options of a controller, with their defaults (controller-runtime `controller.Options`). */
export interface ControllerOptions {
  /** Workers reconciling different keys at the same time. Default 1. */
  maxConcurrentReconciles?: number;
  /**
   * Backoff of failed keys. Default: per key 5 ms doubling to 1000 s, no overall bucket, as
   * controller-runtime v0.24 with its default priority queue (`UsePriorityQueue` true). Pass
   * `defaultControllerRateLimiter()` for client-go's max(per key, 10 qps burst 100).
   */
  rateLimiter?: RateLimiter<string>;
  /** How long `start` waits for the informers to sync before failing. Default 120000 (2 min). */
  cacheSyncTimeoutMs?: number;
  /** After the stop signal, how long in-flight reconciles may run before their `ctx.signal` aborts. Default 30000. */
  gracefulShutdownTimeoutMs?: number;
  /**
   * Per-reconcile deadline in milliseconds: `ctx.signal` aborts when it passes (the reconcile is
   * not otherwise stopped), counted in `controller_runtime_reconcile_timeouts_total`. Default:
   * none (controller-runtime v0.24 `ReconciliationTimeout`).
   */
  reconciliationTimeoutMs?: number;
  /** Run only while this process holds the leader lease. Default true. */
  needLeaderElection?: boolean;
}

/** Everything a controller is made of. The builder (`controllerFor`) fills this in. */
export interface ControllerConfig<T extends KubeObject> extends ControllerOptions {
  /** Unique name: the `controller` label of metrics and logs, and the work queue's name. */
  name: string;
  reconciler: Reconciler<T> | ReconcileFunc<T>;
  /** Store of the primary informer, read by `ctx.getCached()`. */
  primary?: CacheReader<T>;
  /** The cache-backed reader handed to reconciles as `ctx.reader` (the builder passes `mgr.cache`). */
  reader?: Reader;
  /** Registry for the controller_runtime_* and workqueue_* metrics. */
  metrics?: Registry;
  log?: Logger;
  /**
   * Where a reconcile refused by RBAC (403 Forbidden) is reported as a Warning Event `Forbidden`
   * on the cached object, naming the verb and resource the operator lacks (the builder passes
   * the manager's recorder). Without one it is only logged.
   */
  events?: Pick<EventRecorder, "event">;
  /** The work queue; default a `RateLimitingQueue` named after the controller. */
  queue?: RateLimitingQueue<string>;
}

/** One watch of a controller: an informer, how its events map to requests, and their filters. */
export interface WatchSource<O extends KubeObject> {
  informer: Informer<O>;
  mapper: RequestMapper<O>;
  predicates?: readonly Predicate<O>[];
  /** Names the source in logs, e.g. `Pod.v1 (owner)`. */
  description?: string;
}

interface SourceEntry {
  register(): HandlerRegistration;
  waitForSync(signal: AbortSignal): Promise<void>;
  description: string;
}

const PANIC_TYPES = [TypeError, ReferenceError, RangeError, SyntaxError];

/**
 * A controller: watches, a work queue and workers running a reconciler (controller-runtime
 * `internal/controller`). Event handlers enqueue keys (`namespace/name`); `maxConcurrentReconciles`
 * workers take keys from the queue, never two workers the same key, and act on the outcome as
 * `Request` documents. Start it with a manager (`mgr.add`) or directly with `start(signal)`.
 */
export class Controller<T extends KubeObject = KubeObject> {
  readonly name: string;
  readonly needLeaderElection: boolean;
  readonly maxConcurrentReconciles: number;
  /** The work queue of keys `namespace/name`. */
  readonly queue: RateLimitingQueue<string>;
  readonly #reconcileFn: ReconcileFunc<T>;
  readonly #primary: CacheReader<T> | undefined;
  readonly #reader: Reader;
  readonly #metrics: ControllerCollectors | undefined;
  readonly #log: Logger;
  readonly #events: Pick<EventRecorder, "event"> | undefined;
  readonly #cacheSyncTimeoutMs: number;
  readonly #gracefulShutdownTimeoutMs: number;
  readonly #reconciliationTimeoutMs: number | undefined;
  readonly #sources: SourceEntry[] = [];
  readonly #registrations: HandlerRegistration[] = [];
  readonly #hardStop = new AbortController();
  #started = false;

  constructor(config: ControllerConfig<T>) {
    if (!config.name) throw new Error("controller: a name is required (it labels metrics and logs)");
    this.name = config.name;
    this.maxConcurrentReconciles = config.maxConcurrentReconciles ?? 1;
    if (!Number.isInteger(this.maxConcurrentReconciles) || this.maxConcurrentReconciles < 1) {
      throw new Error(`controller ${config.name}: maxConcurrentReconciles must be an integer >= 1, got ${config.maxConcurrentReconciles}`);
    }
    this.needLeaderElection = config.needLeaderElection ?? true;
    this.#cacheSyncTimeoutMs = config.cacheSyncTimeoutMs ?? 120_000;
    this.#gracefulShutdownTimeoutMs = config.gracefulShutdownTimeoutMs ?? 30_000;
    this.#reconciliationTimeoutMs = config.reconciliationTimeoutMs;
    if (this.#reconciliationTimeoutMs !== undefined && !(this.#reconciliationTimeoutMs > 0)) {
      throw new Error(`controller ${config.name}: reconciliationTimeoutMs must be a positive number of milliseconds, got ${config.reconciliationTimeoutMs}`);
    }
    const r = config.reconciler;
    this.#reconcileFn = typeof r === "function" ? r : (req, ctx) => r.reconcile(req, ctx);
    this.#primary = config.primary;
    this.#reader = config.reader ?? missingReader(config.name);
    this.#metrics = config.metrics ? controllerCollectors(config.metrics) : undefined;
    this.#log = (config.log ?? rootLogger).child({ controller: config.name });
    this.#events = config.events;
    this.queue = config.queue ?? new RateLimitingQueue<string>({
      name: config.name,
      ...(config.metrics ? { metrics: config.metrics } : {}),
      rateLimiter: config.rateLimiter ?? new ItemExponentialFailureRateLimiter<string>(5, 1_000_000),
    });
  }

  /**
   * Adds a watch. Before `start` it is registered at start; after, at once (its informer then
   * replays its objects as adds).
   */
  watch<O extends KubeObject>(source: WatchSource<O>): void {
    const preds = source.predicates ?? [];
    const { informer, mapper } = source;
    const description = source.description ?? "source";
    const entry: SourceEntry = {
      description,
      waitForSync: (signal) => informer.waitForSync(signal),
      register: () => informer.addEventHandler({
        onAdd: (obj, isInInitialList) => this.#handle(description, () =>
          allPass(preds, "create", obj, isInInitialList) ? mapper.create(obj) : [], isInInitialList ? LOW_PRIORITY : 0),
        onUpdate: (oldObj, newObj) => this.#handle(description, () =>
          allPass(preds, "update", oldObj, newObj) ? mapper.update(oldObj, newObj) : [],
          // A resync (same resourceVersion) goes behind fresh changes, as controller-runtime does.
          oldObj.metadata?.resourceVersion === newObj.metadata?.resourceVersion ? LOW_PRIORITY : 0),
        onDelete: (obj, finalStateUnknown) => this.#handle(description, () =>
          allPass(preds, "delete", obj, finalStateUnknown) ? mapper.delete(obj) : [], 0),
      }),
    };
    this.#sources.push(entry);
    if (this.#started) this.#registrations.push(entry.register());
  }

  /**
   * Registers the watches, waits for their informers to sync, runs the workers, and resolves
   * once `signal` has aborted and the reconciles in flight have finished (or the graceful
   * shutdown timeout passed: their `ctx.signal` then aborts and `start` resolves without them).
   * `hardStop` (the manager passes it; controller-runtime cancels the context): when it aborts,
   * no key is handed out any more and every in-flight reconcile's `ctx.signal` aborts at once
   * (the leader lease was lost).
   * @throws Error when called twice, or when the informers do not sync within `cacheSyncTimeoutMs`.
   */
  async start(signal: AbortSignal, hardStop?: AbortSignal): Promise<void> {
    if (this.#started) throw new Error(`controller ${this.name} was started more than once; was it added to a manager twice?`);
    this.#started = true;
    hardStop?.addEventListener("abort", () => {
      this.queue.shutDown();
      this.#hardStop.abort(hardStop.reason);
    }, { once: true });
    this.#initMetrics();
    for (const s of this.#sources) this.#registrations.push(s.register());
    try {
      const syncSignal = AbortSignal.any([signal, AbortSignal.timeout(this.#cacheSyncTimeoutMs)]);
      await Promise.all(this.#sources.map((s) => s.waitForSync(syncSignal)));
    } catch (err) {
      this.#removeHandlers();
      this.queue.shutDown();
      if (signal.aborted) return;
      throw new Error(`controller ${this.name}: informers (${this.#sources.map((s) => s.description).join(", ")}) did not sync within ${this.#cacheSyncTimeoutMs} ms; check RBAC (list/watch) and the API server`, { cause: err });
    }
    if (signal.aborted) {
      this.#removeHandlers();
      this.queue.shutDown();
      return;
    }
    this.#log.info({ workers: this.maxConcurrentReconciles }, "starting workers");
    const workers = Array.from({ length: this.maxConcurrentReconciles }, (_, i) => this.#superviseWorker(i));
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    this.#log.info("stop requested, waiting for in-flight reconciles to finish");
    this.#removeHandlers();
    try {
      await this.queue.shutDownWithDrain(AbortSignal.timeout(this.#gracefulShutdownTimeoutMs));
      await Promise.all(workers);
      this.#log.info("all workers finished");
    } catch (err) {
      this.#log.error({ err }, `in-flight reconciles did not finish within ${this.#gracefulShutdownTimeoutMs} ms; aborting them`);
    } finally {
      this.#hardStop.abort(new Error(`controller ${this.name} stopped`));
    }
  }

  /**
   * Enqueues a request directly (the counterpart of a channel source). Ignored once stopped.
   * A request that names no object (see `keyOfRequest`) is logged and dropped.
   * @returns whether the request was valid (and, unless stopped, queued).
   */
  enqueue(req: Request): boolean {
    const key = this.#validKey(req, "enqueue");
    if (key !== undefined) this.queue.add(key);
    return key !== undefined;
  }

  #removeHandlers(): void {
    for (const r of this.#registrations.splice(0)) r.remove();
  }

  /**
   * Runs the predicates and the mapper of one event and queues the keys they yield. A throw, a
   * result that is not an array, or a request that names no object is logged and dropped; the
   * valid requests of the same event are still queued. Never throws.
   */
  #handle(source: string, requests: () => Request[], priority: number): void {
    let reqs: unknown;
    try {
      reqs = requests();
    } catch (err) {
      this.#log.error({ err, source }, "event handler or predicate threw; event dropped");
      return;
    }
    if (!Array.isArray(reqs)) {
      this.#log.error({ source, got: describe(reqs) }, "event handler returned something other than an array of requests; event dropped");
      return;
    }
    for (const r of reqs) {
      const key = this.#validKey(r, source);
      if (key !== undefined) this.queue.add(key, { priority });
    }
  }

  /** The queue key of `req`, or undefined (logged) when it is not a valid `Request`. */
  #validKey(req: unknown, source: string): string | undefined {
    const key = keyOfRequest(req);
    if (key === undefined) this.#log.error({ source, request: describe(req) }, "invalid request dropped: want { namespace?, name } with non-empty names without '/'");
    return key;
  }

  #initMetrics(): void {
    const m = this.#metrics;
    if (!m) return;
    const c = { controller: this.name };
    for (const result of ["success", "error", "requeue", "requeue_after"]) m.reconcileTotal.inc({ ...c, result }, 0);
    m.reconcileErrors.inc(c, 0);
    m.terminalErrors.inc(c, 0);
    m.panics.inc(c, 0);
    m.reconcileTimeouts.inc(c, 0);
    m.maxConcurrent.set(c, this.maxConcurrentReconciles);
    m.activeWorkers.set(c, 0);
  }

  /**
   * A 403 from the API server: the operator's RBAC lacks a rule. Logged with the verb and the
   * resource, and reported as a Warning Event `Forbidden` on the reconciled object (when it is
   * cached and a recorder is set) with the API server's message, which names the user, verb,
   * resource and namespace. The key is already requeued with backoff: once the rule is granted,
   * a retry succeeds.
   */
  #reportForbidden(err: ApiError, ctx: ReconcileContext<T>, log: Logger): void {
    const resource = err.gvk ? `${err.gvk.kind}${err.gvk.group ? `.${err.gvk.group}` : ""}` : "?";
    log.error({ err, verb: err.verb, resource }, `forbidden: RBAC does not allow ${err.verb} on ${resource}; retrying with backoff`);
    let obj: T | undefined;
    try {
      obj = ctx.getCached() as T | undefined;
    } catch {
      return; // no primary informer: nothing to attach an Event to
    }
    if (obj && this.#events) void this.#events.event(obj, { type: "Warning", reason: "Forbidden", note: `${err.verb} ${resource} refused: ${err.status.message ?? err.message}`, action: "Reconcile" });
  }

  /**
   * Runs one worker until the queue shuts down. The returned promise never rejects: anything a
   * key's processing throws outside the reconciler (a key that does not parse, a rate limiter or
   * logger that throws) is logged, counted as a panic, and the key is dropped (done and
   * forgotten); the worker goes on with the next key. controller-runtime recovers panics per item
   * the same way.
   */
  async #superviseWorker(id: number): Promise<void> {
    try {
      await this.#worker();
    } catch (err) {
      // Unreachable unless the queue itself throws; logged rather than left unhandled.
      this.#log.error({ err, worker: id }, "worker stopped by an internal error");
    }
  }

  async #worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      this.#metrics?.activeWorkers.inc({ controller: this.name });
      try {
        await this.#reconcileHandler(key);
      } catch (err) {
        this.#metrics?.panics.inc({ controller: this.name });
        this.#log.error({ err, key }, "could not process key; dropped (it comes back on the next event)");
        try {
          this.queue.forget(key);
        } catch { /* a throwing rate limiter: nothing more to do */ }
      } finally {
        this.#metrics?.activeWorkers.dec({ controller: this.name });
        this.queue.done(key);
      }
    }
  }

  async #reconcileHandler(key: string): Promise<void> {
    const req = parseKey(key);
    const labels = { controller: this.name };
    const log = this.#log.child({ ...(req.namespace ? { namespace: req.namespace } : {}), name: req.name, reconcileID: randomUUID() });
    const primary = this.#primary;
    const deadline = this.#reconciliationTimeoutMs !== undefined ? AbortSignal.timeout(this.#reconciliationTimeoutMs) : undefined;
    const ctx: ReconcileContext<T> = {
      signal: deadline ? AbortSignal.any([this.#hardStop.signal, deadline]) : this.#hardStop.signal,
      log,
      getCached: () => {
        if (!primary) throw new Error(`controller ${this.name} has no primary informer; read ${key} with a cache reader of your own`);
        return primary.get(key);
      },
      reader: this.#reader,
    };
    const startedAt = performance.now();
    let result: Result;
    try {
      result = await this.#reconcileFn(req, ctx);
    } catch (err) {
      this.#metrics?.reconcileTime.observe(labels, (performance.now() - startedAt) / 1000);
      const isPanic = !(err instanceof Error) || PANIC_TYPES.some((t) => err.constructor === t);
      if (isPanic) this.#metrics?.panics.inc(labels);
      this.#metrics?.reconcileErrors.inc(labels);
      this.#metrics?.reconcileTotal.inc({ ...labels, result: "error" });
      if (isTerminalError(err)) {
        this.#metrics?.terminalErrors.inc(labels);
        this.queue.forget(key);
        log.error({ err }, "reconciler failed with a terminal error; not requeued");
      } else {
        this.queue.addRateLimited(key);
        if (isForbidden(err)) this.#reportForbidden(err as ApiError, ctx, log);
        else log.error({ err, requeues: this.queue.numRequeues(key), panic: isPanic || undefined }, "reconciler error");
      }
      return;
    } finally {
      if (deadline?.aborted) this.#metrics?.reconcileTimeouts.inc(labels);
    }
    this.#metrics?.reconcileTime.observe(labels, (performance.now() - startedAt) / 1000);
    if (!isResult(result)) {
      // A JavaScript reconciler can resolve with anything; treat junk as done, loudly.
      log.error({ result: describe(result) }, "reconciler resolved with something other than a Result (undefined, requeueAfter(ms) or requeue()); treated as done");
      result = undefined;
    }
    // controller-runtime: RequeueAfter <= 0 is not a requeue (Result{RequeueAfter: 0} is done).
    if (result && "requeueAfterMs" in result && result.requeueAfterMs > 0) {
      this.queue.forget(key);
      this.queue.addAfter(key, result.requeueAfterMs);
      this.#metrics?.reconcileTotal.inc({ ...labels, result: "requeue_after" });
      log.debug({ requeueAfterMs: result.requeueAfterMs }, "reconciled; requeue after delay");
    } else if (result && "requeue" in result && result.requeue) {
      this.queue.addRateLimited(key);
      this.#metrics?.reconcileTotal.inc({ ...labels, result: "requeue" });
      log.debug("reconciled; requeue with backoff");
    } else {
      this.queue.forget(key);
      this.#metrics?.reconcileTotal.inc({ ...labels, result: "success" });
      log.debug("reconciled");
    }
  }
}

/**
 * The queue key (`namespace/name` or `name`) of a request, or undefined when `req` is not a
 * valid `Request`: an object whose `name` is a non-empty string and whose `namespace`, when
 * present, is a non-empty string, neither containing `/` (a key that would not parse back).
 */
export function keyOfRequest(req: unknown): string | undefined {
  if (typeof req !== "object" || req === null) return undefined;
  const { namespace, name } = req as { namespace?: unknown; name?: unknown };
  if (typeof name !== "string" || name === "" || name.includes("/")) return undefined;
  if (namespace === undefined || namespace === null) return name;
  if (typeof namespace !== "string" || namespace.includes("/")) return undefined;
  return namespace === "" ? name : `${namespace}/${name}`;
}

/** The `ctx.reader` of a controller built without one: every read throws, saying what to pass. */
function missingReader(controller: string): Reader {
  const fail = (verb: string): never => {
    throw new Error(`controller ${controller}: ctx.reader.${verb} called, but the controller was built without a reader; build it with controllerFor(mgr, ...) or pass reader (e.g. mgr.cache) in its config`);
  };
  return { get: async () => fail("get"), list: async () => fail("list") };
}

function isResult(r: unknown): r is Result {
  if (r === undefined || r === null) return true;
  if (typeof r !== "object") return false;
  if ("requeueAfterMs" in r) return typeof r.requeueAfterMs === "number" && Number.isFinite(r.requeueAfterMs);
  return "requeue" in r && r.requeue === true;
}

/** A short, safe description of an unknown value for logs. */
function describe(v: unknown): string {
  try {
    const s = typeof v === "string" ? JSON.stringify(v) : typeof v === "object" && v !== null ? JSON.stringify(v) : String(v);
    return s.length > 200 ? `${s.slice(0, 200)}...` : s;
  } catch {
    return Object.prototype.toString.call(v);
  }
}
