/**
 * The PodGroup status controller: keeps `status.phase`, the member counters and
 * `scheduleStartTime` of every `scheduling.kubeloop.dev/v1alpha1` PodGroup current, and records
 * an Event on the PodGroup at each phase change. Mirrors scheduler-plugins
 * `pkg/controllers/podgroup_controller.go` (for PodGroups, watching Pods mapped to their group by
 * label); the phase machine and where it differs are in `phase.ts`.
 */
import type { CacheReader, Informer } from "../../framework/cache/index.ts";
import { isNotFound, type Client } from "../../framework/client/index.ts";
import { controllerFor, requeueAfter, type Controller, type Result, type ControllerHost, type Reconciler, type Request } from "../../framework/controller/index.ts";
import type { EventRecorder } from "../../framework/events/index.ts";
import { Pods, type Pod } from "../../framework/meta/index.ts";
import { POD_GROUP_LABEL, PodGroups, type PodGroup } from "./api.ts";
import { groupKey, POD_GROUP_INDEX } from "./membership.ts";
import {
  countMembers, FINAL_PHASES, nextPhaseStatus, phaseStatusChanged, SCHEDULE_TIMEOUT_WARNING_MS, scheduleTimeoutAtMs, scheduleTimeoutDue, type PhaseStatus,
} from "./phase.ts";
import { ensurePodGroupIndex } from "./pod-index.ts";

/** What `setupPodGroupController` needs from a manager (`Manager` fits). */
export interface PodGroupControllerHost extends ControllerHost {
  readonly client: Client;
  eventRecorder(component: string): EventRecorder;
}

/** Options of `setupPodGroupController`. */
export interface PodGroupControllerOptions {
  /** Controller name (metrics label, work queue name). Default `podgroup`. */
  name?: string;
  /** PodGroups reconciled at the same time. Default 2. */
  maxConcurrentReconciles?: number;
  /** Time source in ms since the epoch (tests). Default `Date.now`. */
  now?: () => number;
}

/** Event reasons the controller records on a PodGroup (one per phase it enters, and upstream's `Timeout`). */
export const PodGroupEventReasons = {
  Pending: "Pending",
  Scheduling: "Scheduling",
  Running: "Running",
  Finished: "Finished",
  Failed: "Failed",
  Timeout: "Timeout",
} as const;

/** The `Timeout` note: upstream's `schedule time longer than 48 hours` for the default, else the group's limit in seconds. */
export function timeoutNote(timeoutMs: number): string {
  return timeoutMs === SCHEDULE_TIMEOUT_WARNING_MS ? "schedule time longer than 48 hours" : `schedule time longer than ${timeoutMs / 1000} seconds`;
}

/** The Event note for a group entering `phase`, e.g. `PodGroup ns/train is Running: 4/4 pods running or succeeded`. */
export function phaseEventNote(pg: PodGroup, status: PhaseStatus, members: number): string {
  const name = `${pg.metadata?.namespace}/${pg.metadata?.name}`;
  const min = pg.spec.minMember;
  const started = (status.running ?? 0) + (status.succeeded ?? 0);
  switch (status.phase) {
    case "Pending": return `PodGroup ${name} is Pending: ${members}/${min} pods exist`;
    case "Scheduling": return `PodGroup ${name} is Scheduling: ${members}/${min} pods exist, ${started} running or succeeded`;
    case "Running": return `PodGroup ${name} is Running: ${started}/${min} pods running or succeeded`;
    case "Finished": return `PodGroup ${name} is Finished: ${status.succeeded ?? 0}/${min} pods succeeded`;
    case "Failed": return `PodGroup ${name} is Failed: ${status.failed ?? 0} pods failed, ${started} running or succeeded (minMember ${min})`;
    default: return `PodGroup ${name}`;
  }
}

/** Reconciles one PodGroup's status from the pods in its namespace that carry its label. */
export class PodGroupReconciler implements Reconciler<PodGroup> {
  readonly #client: Client;
  readonly #pods: CacheReader<Pod>;
  readonly #events: EventRecorder;
  readonly #now: () => number;
  /** Groups already warned about (upstream warns once per reconcile and then stops reconciling; we warn once). */
  readonly #timeoutWarned = new Set<string>();

  constructor(opts: { client: Client; pods: CacheReader<Pod>; events: EventRecorder; now?: () => number }) {
    this.#client = opts.client;
    this.#pods = opts.pods;
    this.#events = opts.events;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * Computes the status and writes it (a merge patch of the status subresource) when it changed;
   * records the `Timeout` warning once when due, and asks to be requeued at that time otherwise.
   * @throws ApiError when the write fails (retried with backoff).
   */
  async reconcile(req: Request, ctx: { signal: AbortSignal; getCached(): PodGroup | undefined }): Promise<Result> {
    const pg = ctx.getCached();
    const key = `${req.namespace}/${req.name}`;
    if (!pg) {
      this.#timeoutWarned.delete(key);
      return undefined;
    }
    const current: PhaseStatus = { ...(pg.status ?? {}) };
    if (current.phase !== undefined && FINAL_PHASES.has(current.phase)) return undefined;
    const members = this.#pods
      .byIndex(POD_GROUP_INDEX, groupKey({ api: "kubeloop", namespace: req.namespace ?? "", name: req.name }))
      .filter((p) => p.metadata?.labels?.[POD_GROUP_LABEL] === req.name);
    const counts = countMembers(members);
    const nowMs = this.#now();
    const next = nextPhaseStatus(current, pg.spec.minMember, counts, new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, "Z"));
    const timeoutMs = pg.spec.scheduleTimeoutSeconds !== undefined ? pg.spec.scheduleTimeoutSeconds * 1000 : SCHEDULE_TIMEOUT_WARNING_MS;
    const creation = pg.metadata?.creationTimestamp as string | undefined;
    let result: Result = undefined;
    if (!this.#timeoutWarned.has(key)) {
      if (scheduleTimeoutDue(next, creation, nowMs, timeoutMs)) {
        this.#timeoutWarned.add(key);
        void this.#events.warning(pg, PodGroupEventReasons.Timeout, timeoutNote(timeoutMs));
      } else {
        const at = scheduleTimeoutAtMs(next, creation, timeoutMs);
        if (at !== undefined) result = requeueAfter(at - nowMs + 1000);
      }
    }
    if (!phaseStatusChanged(current, next)) return result;
    try {
      await this.#client.patch(PodGroups, { namespace: req.namespace ?? "", name: req.name }, {
        type: "merge",
        body: { status: { phase: next.phase, running: next.running, succeeded: next.succeeded, failed: next.failed, scheduleStartTime: next.scheduleStartTime ?? null } },
      }, { subresource: "status", signal: ctx.signal });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    if (next.phase !== current.phase && next.phase !== undefined) {
      const type = next.phase === "Failed" ? "Warning" : "Normal";
      void this.#events.event(pg, { type, reason: PodGroupEventReasons[next.phase], note: phaseEventNote(pg, next, counts.total), action: "UpdateStatus" });
    }
    return result;
  }
}

/** The PodGroup a pod's label names, as a request (upstream `podToPodGroup`), or none. */
export function podGroupRequestsForPod(pod: Pod): Request[] {
  const name = pod.metadata?.labels?.[POD_GROUP_LABEL];
  return name ? [{ namespace: pod.metadata?.namespace ?? "", name }] : [];
}

/**
 * Registers the PodGroup status controller with a manager: for PodGroups, watching Pods mapped
 * to the group their label names.
 * @throws Error when the manager already has a controller of the same name.
 */
export function setupPodGroupController(host: PodGroupControllerHost, opts: PodGroupControllerOptions = {}): Controller<PodGroup> {
  const name = opts.name ?? "podgroup";
  const podInformer: Informer<Pod> = host.cache.informerFor(Pods);
  ensurePodGroupIndex(podInformer);
  const reconciler = new PodGroupReconciler({
    client: host.client, pods: podInformer.store, events: host.eventRecorder(`kubeloop.dev/${name}-controller`),
    ...(opts.now ? { now: opts.now } : {}),
  });
  return controllerFor(host, PodGroups)
    .named(name)
    .watches(Pods, podGroupRequestsForPod)
    .needs(PodGroups, ["patch"], "status")
    .withOptions({ maxConcurrentReconciles: opts.maxConcurrentReconciles ?? 2 })
    .complete(reconciler);
}
