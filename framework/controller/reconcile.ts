import type { Reader } from "../cache/reader.ts";
import type { Logger } from "../log/index.ts";
import type { KubeObject } from "../meta/index.ts";

/**
 * The reconcile contract (mirrors controller-runtime `pkg/reconcile`).
 *
 * A `Reconciler` drives the world towards the state one object asks for. It is level-based: a
 * `Request` carries only the object's key (namespace and name), never the event that caused it.
 * The reconciler reads the current state from the cache (`ctx.reader.get`/`ctx.reader.list`, or
 * `ctx.getCached()` for the object named by the request), compares it with the desired state and acts through the client. Requests for the
 * same key are never reconciled concurrently, and many events for a key that is waiting are
 * folded into one request. A deleted object reaches the reconciler as a request whose object is
 * no longer in the cache.
 *
 * What the reconciler's outcome means:
 * - resolves with nothing (`undefined`): done. The key's backoff is forgotten; the key comes back
 *   only when a watched object changes.
 * - resolves with `requeueAfter(ms)` and `ms > 0`: done for now, reconcile again after `ms`
 *   milliseconds (to poll something that sends no events, or to act at a deadline). The backoff
 *   is forgotten. A change of a watched object in between still reconciles at once.
 *   `requeueAfter(0)` or a negative delay means done, no requeue, exactly as controller-runtime
 *   treats `Result{RequeueAfter: 0}` (never a hot loop).
 * - resolves with `requeue()`: reconcile again after the rate limiter's delay, without counting an
 *   error (controller-runtime's deprecated `Result{Requeue: true}`).
 * - throws (rejects): an error. The key is requeued with per-key exponential backoff (5 ms
 *   doubling to 1000 s by default, as controller-runtime v0.24). Thrown values that are not `Error`s, or
 *   are `TypeError`, `ReferenceError`, `RangeError` or `SyntaxError` (programming bugs: the
 *   counterpart of a Go panic), are also counted in `controller_runtime_reconcile_panics_total`.
 *   Nothing a reconciler throws ever stops the controller or the process. A value that is not a
 *   `Result` (JavaScript allows any) is logged and treated as done.
 * - throws a `TerminalError` (or an error whose `cause` chain holds one): an error that retrying
 *   cannot fix (invalid spec). Logged and counted in
 *   `controller_runtime_terminal_reconcile_errors_total`, never retried; the key comes back only
 *   on the next change.
 *
 * `ctx.signal` aborts when the controller stops for good (the graceful shutdown timeout passed),
 * and at once when the manager loses the leader lease; pass it to every request and wait so that
 * a stopping process is not held up. On a graceful stop the reconciles in flight are allowed to
 * finish first.
 */
export interface Request {
  /** Namespace of the object; absent for cluster-scoped objects. */
  namespace?: string;
  /** Name of the object. */
  name: string;
}

/** What a reconcile asks for next; see `Request` for the whole contract. */
export type Result = { requeueAfterMs: number } | { requeue: true } | void;

/**
 * Reconcile this key again after `ms` milliseconds. A zero or negative delay means no requeue:
 * the reconcile is done, as controller-runtime's `Result{RequeueAfter: 0}`. To retry at once
 * through the rate limiter use `requeue()`.
 * @throws RangeError when `ms` is not a finite number.
 */
export function requeueAfter(ms: number): Result {
  if (!Number.isFinite(ms)) throw new RangeError(`requeueAfter: want a finite number of milliseconds, got ${ms}`);
  return { requeueAfterMs: ms };
}

/** Reconcile this key again after the rate limiter's delay, without counting an error. */
export function requeue(): Result {
  return { requeue: true };
}

/**
 * An error that retrying cannot fix: the controller logs it, counts it and does not requeue
 * (controller-runtime `reconcile.TerminalError`). Wrap a cause: `new TerminalError("...", { cause })`.
 */
export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TerminalError";
  }
}

/** True when `err` is a `TerminalError` or has one in its `cause` chain. */
export function isTerminalError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 16; e = e.cause, depth++) {
    if (e instanceof TerminalError) return true;
  }
  return false;
}

/** What a reconcile gets besides its request. */
export interface ReconcileContext<T extends KubeObject = KubeObject> {
  /** Aborts when the controller stops for good; pass it to every request and wait. */
  signal: AbortSignal;
  /** Logger carrying `controller`, `namespace`, `name` and `reconcileID`. */
  log: Logger;
  /**
   * The object named by the request as the controller's informer holds it now, or undefined
   * when it is not (or no longer) in the cache, e.g. after deletion.
   * @throws Error when the controller was built without a primary informer.
   */
  getCached(): T | undefined;
  /**
   * The manager's cache-backed reader (`mgr.cache`), as a controller-runtime reconciler reads
   * through the manager's client: `await ctx.reader.get(Pods, { namespace, name })`,
   * `await ctx.reader.list(Pods, { namespace, labelSelector: rs.spec.selector })`, field and
   * index selectors served from indexes. Objects are shared with the cache (`DeepReadonly`,
   * frozen); copy one before changing it. Writes go through the client.
   * @throws Error on use when the controller was built without a reader (a bare `Controller`
   *   without `reader` in its config).
   */
  reader: Reader;
}

/**
 * Reconciles one resource type `T`; see `Request` for the whole contract. The type parameter
 * ties it to the builder's `controllerFor(mgr, type)`: a reconciler of ReplicaSets cannot be
 * completed on a controller for Pods.
 */
export interface Reconciler<T extends KubeObject = KubeObject> {
  reconcile: (req: Request, ctx: ReconcileContext<T>) => Promise<Result>;
}

/** A reconciler as a plain function. */
export type ReconcileFunc<T extends KubeObject = KubeObject> = (req: Request, ctx: ReconcileContext<T>) => Promise<Result>;
