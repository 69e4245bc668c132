import { isConflict, isNotFound, type Client } from "../../framework/client/index.ts";
import type { EventRecorder } from "../../framework/events/index.ts";
import { requeue, requeueAfter, TerminalError, type ReconcileContext, type Reconciler, type Request, type Result } from "../../framework/controller/index.ts";
import { controllerOf, keyOf, Pods, type Pod, type ResourceType } from "../../framework/meta/index.ts";
import type { Logger } from "../../framework/log/index.ts";
import { claimPods } from "./claim.ts";
import { ControllerExpectations } from "./expectations.ts";
import { selectorOf, selectorProblems } from "./selector.ts";
import { isPodActive, isPodTerminating } from "./podstate.ts";
import {
  BURST_REPLICAS, controllerRefFor, isNamespaceTerminating, podFromTemplate, slowStartBatch, SLOW_START_INITIAL_BATCH_SIZE,
} from "./pods.ts";
import { podsToDelete } from "./ranking.ts";
import { indirectlyRelatedPods } from "./related.ts";
import { availabilityRecheckMs, calculateStatus, REPLICA_FAILURE, type ReplicaFailure } from "./status.ts";
import { DEFERRED_STATUS_RECHECK_MS, StatusWriteTracker } from "./status-writes.ts";
import { ConsistencyStore, type ConsistencySources } from "./consistency.ts";
import type { ReplicaSetShape, ReplicaSetStatusShape } from "./types.ts";

/** Records Kubernetes Events about an object: the framework's `EventRecorder`, or a fake in tests. */
export type ReplicaSetEventSink = Pick<EventRecorder, "event">;

/** Event reasons, as upstream `controller_utils.go` names them. */
export const EventReasons = {
  SuccessfulCreate: "SuccessfulCreate",
  FailedCreate: "FailedCreate",
  SuccessfulDelete: "SuccessfulDelete",
  FailedDelete: "FailedDelete",
  /** The spec is one the API server should have refused (this controller's own reason). */
  InvalidSpec: "InvalidSpec",
} as const;

/** What `ReplicaSetReconciler` reads from and writes to. */
export interface ReplicaSetReconcilerOptions<T extends ReplicaSetShape> {
  /** The ReplicaSet resource type (apps.kubeloop.dev/v1alpha1 for the operator). */
  replicaSetType: ResourceType<T>;
  /**
   * Writes: pods, pod patches, ReplicaSet status, and the uncached GET before adoption. Reads of
   * ReplicaSets and pods go through `ctx.reader` (the manager's cache, every namespace the
   * ReplicaSets live in).
   */
  client: Client;
  events: ReplicaSetEventSink;
  /** Shared with the pod event handlers that observe creations and deletions. */
  expectations: ControllerExpectations;
  /** Most pods created or deleted in one reconcile (default 500, upstream `BurstReplicas`). */
  burstReplicas?: number;
  /**
   * Name of an index of `replicaSets` by controller UID (upstream `controllerUIDIndex`), used to
   * find the ReplicaSets that share a controller. Without it the cache is scanned.
   */
  controllerUidIndex?: string;
  /**
   * The informers' last synced resourceVersions. When given, a sync waits (rate-limited requeue)
   * until they have reached the pods this controller created and the status it wrote for the
   * ReplicaSet (upstream v1.36 consistency store); without it no sync waits.
   */
  consistency?: ConsistencySources;
  /** Clock in ms since the epoch (default `Date.now`). */
  now?: () => number;
  /**
   * Least time between two status writes of one ReplicaSet that only report progress, in ms
   * (default 1000; 0: every change at once, as upstream). See `StatusWriteTracker.coalesceMs`.
   */
  statusWriteIntervalMs?: number;
  /** Monotonic clock in ms for the status write interval (default `performance.now`). */
  monotonicNowMs?: () => number;
}

/**
 * The ReplicaSet reconciler: keeps `spec.replicas` active pods matching the selector and reports
 * what it sees in `status`. Level-based: every reconcile reads the ReplicaSet and the pods from
 * the cache through `ctx.reader` (as upstream reads its listers), claims pods (adopt orphans that match, release owned pods that no longer match),
 * then, unless it is still waiting for the events of its last creations or deletions
 * (expectations) or the ReplicaSet is being deleted, creates pods in slow-start batches or
 * deletes the best candidates, at most `burstReplicas` per reconcile. The status is written only
 * when it changed (progress while many pods come up at most once per `statusWriteIntervalMs`).
 * Mirrors kubernetes `pkg/controller/replicaset/replica_set.go`
 * `syncReplicaSet` and `manageReplicas`.
 *
 * Errors: API failures are thrown (the controller retries with backoff) after the status and the
 * ReplicaFailure condition are written; a spec the API server should have refused (empty or
 * malformed selector, template labels outside the selector, negative replicas) sets
 * ReplicaFailure (reason InvalidSpec), records a Warning event and throws a `TerminalError`:
 * nothing is created or deleted for it until the spec changes.
 */
export class ReplicaSetReconciler<T extends ReplicaSetShape> implements Reconciler<T> {
  readonly #o: ReplicaSetReconcilerOptions<T>;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #written: StatusWriteTracker;
  readonly #consistency: ConsistencyStore | undefined;

  constructor(options: ReplicaSetReconcilerOptions<T>) {
    this.#o = options;
    this.#burst = options.burstReplicas ?? BURST_REPLICAS;
    this.#now = options.now ?? Date.now;
    this.#written = new StatusWriteTracker({
      ...(options.statusWriteIntervalMs !== undefined ? { intervalMs: options.statusWriteIntervalMs } : {}),
      ...(options.monotonicNowMs ? { monotonicNowMs: options.monotonicNowMs } : {}),
    });
    this.#consistency = options.consistency ? new ConsistencyStore(options.consistency) : undefined;
  }

  async reconcile(req: Request, ctx: ReconcileContext<T>): Promise<Result> {
    const key = keyOf(req);
    // The caches have not yet caught up with our own writes for this ReplicaSet: look again later
    // (upstream EnsureReady fails the sync, which requeues the key with the rate limiter).
    if (this.#consistency && !this.#consistency.ready(key)) return requeue();
    // Cached objects are frozen; the reconciler only reads them (writes send copies).
    const rs = await ctx.reader.get(this.#o.replicaSetType, req, { signal: ctx.signal }) as T | undefined;
    if (!rs) {
      // Deleted: the garbage collector removes its pods; forget what we waited for.
      this.#o.expectations.delete(key);
      this.#written.forget(key);
      this.#consistency?.clear(key);
      return;
    }
    const namespace = rs.metadata?.namespace ?? "";
    const uid = rs.metadata?.uid;
    // Expectations before pods (as upstream): a pod event observed after this check is then
    // also in the pod list read below, so a satisfied check never pairs with a stale list.
    const needsSync = this.#o.expectations.satisfied(key);
    const allPods = await ctx.reader.list(Pods, { namespace, signal: ctx.signal }) as Pod[];

    const problems = specProblems(rs);
    if (problems.length > 0) return this.#reportInvalidSpec(rs, allPods, problems, ctx);
    const selector = selectorOf(rs.spec!.selector);
    const matches = (pod: Pod) => selector.matches(pod.metadata?.labels);

    const active = allPods.filter(isPodActive);
    const owned = await claimPods(rs, active, matches, {
      client: this.#o.client,
      ownerType: this.#o.replicaSetType,
      signal: ctx.signal,
      onChange: (action, pod) => ctx.log.info({ pod: pod.metadata?.name }, action === "adopt" ? "adopted pod" : "released pod"),
    });
    const terminating = allPods.filter((p) => isPodTerminating(p) && controllerOf(p)?.uid === uid && matches(p));

    let failure: ReplicaFailure | null | undefined;
    let manageError: unknown;
    if (needsSync && !rs.metadata?.deletionTimestamp) {
      try {
        await this.#manageReplicas(rs, owned, ctx);
        failure = null;
      } catch (err) {
        manageError = err;
        const diff = owned.length - (rs.spec?.replicas ?? 1);
        failure = { reason: diff < 0 ? EventReasons.FailedCreate : EventReasons.FailedDelete, message: messageOf(err) };
      }
    }

    const nowMs = this.#now();
    const status = calculateStatus(rs, { activePods: owned, terminatingPods: terminating, failure, nowMs });
    const written = await this.#writeStatus(rs, status, ctx);
    if (manageError !== undefined) throw manageError;

    let recheckMs = availabilityRecheckMs(owned, rs.spec?.minReadySeconds ?? 0, nowMs);
    if (written === "deferred") recheckMs = Math.min(recheckMs ?? Infinity, DEFERRED_STATUS_RECHECK_MS);
    else if (typeof written === "number") recheckMs = Math.min(recheckMs ?? Infinity, written);
    return recheckMs === undefined ? undefined : requeueAfter(recheckMs);
  }

  async #manageReplicas(rs: T, owned: Pod[], ctx: ReconcileContext<T>): Promise<void> {
    const key = keyOf(rs);
    const diff = owned.length - (rs.spec?.replicas ?? 1);
    if (diff < 0) {
      const count = Math.min(-diff, this.#burst);
      ctx.log.debug({ need: rs.spec?.replicas, creating: count }, "too few replicas");
      // Expect before creating: the informer may see a pod before create() returns.
      this.#o.expectations.expectCreations(key, count);
      const ref = controllerRefFor(rs, this.#o.replicaSetType);
      const result = await slowStartBatch(count, SLOW_START_INITIAL_BATCH_SIZE, async () => {
        try {
          const created = await this.#o.client.create(Pods, podFromTemplate(rs, ref), { signal: ctx.signal });
          this.#consistency?.wroteAt(key, rs.metadata?.uid ?? "", "pods", created.metadata?.resourceVersion);
          void this.#o.events.event(rs, { type: "Normal", reason: EventReasons.SuccessfulCreate, note: `Created pod: ${created.metadata?.name ?? "?"}`, action: "Create", related: created });
        } catch (err) {
          // Every create fails the same way until the namespace is gone: count it as done.
          if (isNamespaceTerminating(err)) return;
          void this.#o.events.event(rs, { type: "Warning", reason: EventReasons.FailedCreate, note: `Error creating: ${messageOf(err)}`, action: "Create" });
          throw err;
        }
      });
      const skipped = count - result.successes;
      if (skipped > 0) {
        // Pods never created are never observed: stop waiting for them.
        ctx.log.debug({ skipped }, "slow-start failure: skipping creation of pods");
        this.#o.expectations.lowerExpectations(key, skipped);
      }
      if (result.error !== undefined) throw result.error;
    } else if (diff > 0) {
      const count = Math.min(diff, this.#burst);
      ctx.log.debug({ need: rs.spec?.replicas, deleting: count }, "too many replicas");
      const related = await indirectlyRelatedPods(rs, this.#o.replicaSetType, ctx.reader, this.#o.controllerUidIndex, ctx.signal);
      const victims = podsToDelete(owned, related, count, this.#now());
      this.#o.expectations.expectDeletions(key, victims.map((p) => keyOf(p)));
      const errors: unknown[] = [];
      await Promise.all(victims.map(async (pod) => {
        const podKey = keyOf(pod);
        try {
          await this.#o.client.delete(Pods, { namespace: pod.metadata?.namespace ?? "", name: pod.metadata?.name ?? "" }, {
            signal: ctx.signal,
            // Only the pod we ranked: never a namesake created since.
            preconditions: { uid: pod.metadata?.uid },
          });
          void this.#o.events.event(rs, { type: "Normal", reason: EventReasons.SuccessfulDelete, note: `Deleted pod: ${pod.metadata?.name}`, action: "Delete", related: pod });
        } catch (err) {
          // The informer will not observe a delete that did not happen.
          this.#o.expectations.deletionObserved(key, podKey);
          if (isNotFound(err) || isConflict(err)) return;
          void this.#o.events.event(rs, { type: "Warning", reason: EventReasons.FailedDelete, note: `Error deleting: ${messageOf(err)}`, action: "Delete", related: pod });
          errors.push(err);
        }
      }));
      if (errors.length > 0) throw errors[0];
    }
  }

  async #reportInvalidSpec(rs: T, allPods: Pod[], problems: string[], ctx: ReconcileContext<T>): Promise<Result> {
    const message = `invalid spec: ${problems.join("; ")}`;
    const uid = rs.metadata?.uid;
    // Only pods already controlled by this ReplicaSet are counted; none is adopted or deleted.
    const owned = allPods.filter((p) => controllerOf(p)?.uid === uid);
    const already = rs.status?.conditions?.some((c) => c.type === REPLICA_FAILURE && c.reason === EventReasons.InvalidSpec && c.message === message);
    const status = calculateStatus(rs, {
      activePods: owned.filter(isPodActive),
      terminatingPods: owned.filter(isPodTerminating),
      failure: undefined,
      nowMs: this.#now(),
    });
    if (!already) {
      // Replace any older ReplicaFailure (e.g. FailedCreate) so the condition says what is wrong now.
      const condition = {
        type: REPLICA_FAILURE, status: "True", reason: EventReasons.InvalidSpec, message,
        lastTransitionTime: new Date(this.#now()).toISOString().replace(/\.\d{3}Z$/, "Z"),
      };
      status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== REPLICA_FAILURE), condition];
      void this.#o.events.event(rs, { type: "Warning", reason: EventReasons.InvalidSpec, note: message, action: "Validate" });
    }
    await this.#writeStatus(rs, status, ctx);
    throw new TerminalError(`${this.#o.replicaSetType.kind} ${keyOf(rs)}: ${message}; fix the spec (nothing is created or deleted until then)`);
  }

  /**
   * Writes the status when it differs from the cached one, unless the cache has not yet seen our
   * last status write (`StatusWriteTracker.deferred`: then nothing is written now and the next
   * reconcile, triggered by our write's event, writes the newest status), or the change only
   * reports progress and our last write is younger than the interval
   * (`StatusWriteTracker.coalesceMs`: written by a reconcile after that many ms). A PUT to the
   * status subresource; on any error but NotFound one retry on a fresh GET (upstream
   * `updateReplicaSetStatus`, `statusUpdateRetries` = 1); a failed GET is thrown instead.
   * @returns "written", "unchanged", "deferred", or the ms after which a held-back status is due.
   */
  async #writeStatus(rs: T, status: ReplicaSetStatusShape, ctx: ReconcileContext<T>): Promise<"written" | "unchanged" | "deferred" | number> {
    // The cache has not seen our last write yet: compare with it once it has.
    if (this.#written.deferred(rs)) return "deferred";
    if (!this.#written.needsWrite(rs, status)) return "unchanged";
    const holdMs = this.#written.coalesceMs(rs, status);
    if (holdMs !== undefined) return holdMs;
    const type = this.#o.replicaSetType;
    let written: T;
    try {
      written = await this.#o.client.updateStatus(type, { ...rs, status } as T, { signal: ctx.signal });
    } catch (err) {
      // Deleted meanwhile (e.g. foreground deletion finished): nothing left to report on.
      if (isNotFound(err)) return "unchanged";
      if (ctx.signal.aborted) throw err;
      let fresh: T;
      try {
        fresh = await this.#o.client.get(type, { namespace: rs.metadata?.namespace, name: rs.metadata?.name ?? "" }, { signal: ctx.signal });
      } catch (getErr) {
        if (isNotFound(getErr)) return "unchanged";
        throw getErr;
      }
      if (fresh.metadata?.uid !== rs.metadata?.uid) return "unchanged";
      written = await this.#o.client.updateStatus(type, { ...fresh, status } as T, { signal: ctx.signal });
    }
    this.#written.record(rs, status, written);
    this.#consistency?.wroteAt(keyOf(rs), rs.metadata?.uid ?? "", "replicaSets", written.metadata?.resourceVersion);
    logStatus(ctx.log, rs, status);
    return "written";
  }
}

function logStatus(log: Logger, rs: ReplicaSetShape, status: ReplicaSetStatusShape): void {
  log.debug({
    replicas: status.replicas, fullyLabeledReplicas: status.fullyLabeledReplicas, readyReplicas: status.readyReplicas,
    availableReplicas: status.availableReplicas, terminatingReplicas: status.terminatingReplicas,
    observedGeneration: status.observedGeneration, need: rs.spec?.replicas,
  }, "updated status");
}

/**
 * What is wrong with a spec that apps/v1 validation (or the CRD's CEL rules) should have refused;
 * empty when the spec is usable.
 */
export function specProblems(rs: ReplicaSetShape): string[] {
  const spec = rs.spec;
  if (!spec) return ["spec is missing"];
  const problems = selectorProblems(spec.selector);
  const replicas = spec.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 0) problems.push(`spec.replicas must be a non-negative integer, got ${replicas}`);
  const minReady = spec.minReadySeconds ?? 0;
  if (!Number.isInteger(minReady) || minReady < 0) problems.push(`spec.minReadySeconds must be a non-negative integer, got ${minReady}`);
  if (!spec.template) problems.push("spec.template is missing");
  else if (problems.length === 0 && !selectorOf(spec.selector).matches(spec.template.metadata?.labels)) {
    problems.push("spec.selector does not match spec.template.metadata.labels: created pods would not be counted");
  }
  return problems;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
