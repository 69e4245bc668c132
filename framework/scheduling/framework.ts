/**
 * The scheduling framework's contract: statuses, cycle state, node and pod views, and the
 * extension points a plugin implements. Mirrors `pkg/scheduler/framework/interface.go` of
 * Kubernetes v1.36 in meaning (one scheduling cycle filters then scores the nodes of one snapshot
 * for one pod, or for every pod of a pod group; the binding cycle runs Permit then Bind), written
 * as small TypeScript interfaces: a plugin is an object with a `name` and the extension-point
 * methods it implements, a profile is a list of plugins (see `profile.ts`).
 */
import type { Node, Pod } from "../meta/index.ts";
import type { DeepReadonly } from "../meta/index.ts";

/**
 * Outcome codes of an extension point, kube-scheduler's `fwk.Code`:
 * - `Success`: go on.
 * - `Error`: an internal error; the pod is retried with backoff, nothing is reported as unschedulable.
 * - `Unschedulable`: this node (or this cycle) cannot take the pod, but preemption or a change in the
 *   cluster might help.
 * - `UnschedulableAndUnresolvable`: cannot take the pod and preemption would not help.
 * - `Wait`: Permit only: hold the pod in the waiting map until allowed, rejected or timed out.
 * - `Skip`: PreFilter/PreScore only: this plugin's later extension point is not needed for this pod.
 * - `Pending`: PreEnqueue only: keep the pod out of the active queue until a cluster event moves it.
 */
export type Code = "Success" | "Error" | "Unschedulable" | "UnschedulableAndUnresolvable" | "Wait" | "Skip" | "Pending";

/** An extension point's result: a code, the reasons (user-facing, kube-scheduler's wording) and which plugin said it. */
export interface Status {
  readonly code: Code;
  /** Reasons in the grammar kube-scheduler prints, e.g. `Insufficient nvidia.com/gpu`; empty for Success. */
  readonly reasons: readonly string[];
  /** The plugin that produced a non-success status (set by the runtime when a plugin does not). */
  readonly plugin?: string;
}

/** The success status (shared, immutable). */
export const SUCCESS: Status = Object.freeze({ code: "Success", reasons: Object.freeze([]) as readonly string[] });

/** Builds a status. */
export function status(code: Code, ...reasons: string[]): Status {
  return { code, reasons };
}

/** True when `s` is absent or Success. */
export function isSuccess(s: Status | undefined): boolean {
  return s === undefined || s.code === "Success";
}

/** True for `Unschedulable` and `UnschedulableAndUnresolvable`. */
export function isRejected(s: Status | undefined): boolean {
  return s !== undefined && (s.code === "Unschedulable" || s.code === "UnschedulableAndUnresolvable");
}

/**
 * Data a plugin computes in one extension point and reads in a later one of the same scheduling
 * cycle (kube-scheduler's `CycleState`): keys are namespaced by the plugin (`"NodeResourcesFit/preFilter"`).
 * `clone()` is used when a cycle runs what-if evaluations (a pod group's members on one snapshot).
 */
export class CycleState {
  readonly #data = new Map<string, unknown>();
  /** Returns the value stored under `key`, or undefined. */
  read<T>(key: string): T | undefined {
    return this.#data.get(key) as T | undefined;
  }
  /** Stores `value` under `key`. */
  write(key: string, value: unknown): void {
    this.#data.set(key, value);
  }
  /** A shallow copy: values are shared, so plugins store immutable values or copy on write. */
  clone(): CycleState {
    const copy = new CycleState();
    for (const [k, v] of this.#data) copy.write(k, v);
    return copy;
  }
}

/**
 * Resource amounts in integer units: `cpu` in millicores, `memory` and `ephemeral-storage` in
 * bytes, `pods` as a count, extended resources (`nvidia.com/gpu`, hugepages-*) in whole units as
 * their quantity's value (kube-scheduler's `framework.Resource`: MilliCPU, Memory,
 * EphemeralStorage, AllowedPodNumber, ScalarResources).
 */
export type ResourceAmounts = Readonly<Record<string, number>>;

/** A pod as the scheduler sees it, with its requests computed once (init and sidecar containers, overhead). */
export interface PodInfo {
  readonly pod: DeepReadonly<Pod>;
  /** Effective requests (`resourcehelper.PodRequests` semantics), units as in ResourceAmounts. */
  readonly requests: ResourceAmounts;
  /** Requests with cpu/memory of request-less containers counted as 100m / 200Mi, for scoring only. */
  readonly nonZeroRequests: ResourceAmounts;
}

/** A host port in use on a node: `ip` (`0.0.0.0` when unset), `protocol` and `port`. */
export interface HostPort {
  readonly ip: string;
  readonly protocol: string;
  readonly port: number;
}

/**
 * One node of a snapshot with the pods on it (bound and assumed) and what they use
 * (kube-scheduler's `NodeInfo`). Read-only to plugins; the runtime builds and updates it.
 */
export interface NodeInfo {
  readonly node: DeepReadonly<Node>;
  readonly pods: readonly PodInfo[];
  /** `status.allocatable` in ResourceAmounts units (pods included). */
  readonly allocatable: ResourceAmounts;
  /** Sum of the pods' `requests`. */
  readonly requested: ResourceAmounts;
  /** Sum of the pods' `nonZeroRequests`. */
  readonly nonZeroRequested: ResourceAmounts;
  /** Host ports in use by the pods. */
  readonly usedPorts: readonly HostPort[];
}

/** Read access to the snapshot a cycle runs on. */
export interface NodeInfoLister {
  /** Every node, in a stable order (the order kube-scheduler's snapshot would iterate is not promised). */
  list(): readonly NodeInfo[];
  /** One node by name, or undefined. */
  get(nodeName: string): NodeInfo | undefined;
}

/** A pod in the scheduling queue, as QueueSort compares them. */
export interface QueuedPodInfo {
  readonly podInfo: PodInfo;
  /** When the pod was first added to the queue (milliseconds, monotonic clock). */
  readonly initialAttemptTimestampMs: number;
  /** When it was last added or moved to the active queue (milliseconds, monotonic clock). */
  readonly timestampMs: number;
  /** Scheduling attempts so far. */
  readonly attempts: number;
}

/** Every plugin has a unique name (kube-scheduler's registry name, e.g. `NodeResourcesFit`). */
export interface Plugin {
  readonly name: string;
}

/** Gates a pod before it enters the active queue (`PreEnqueuePlugin`). Return `Pending`/`UnschedulableAndUnresolvable` to hold it, silently. */
export interface PreEnqueuePlugin extends Plugin {
  preEnqueue(pod: DeepReadonly<Pod>): Status;
}

/** Orders the active queue (`QueueSortPlugin`); exactly one per profile. */
export interface QueueSortPlugin extends Plugin {
  less(a: QueuedPodInfo, b: QueuedPodInfo): boolean;
}

/** What PreFilter may return besides a status: the only nodes worth filtering (`PreFilterResult.NodeNames`). */
export interface PreFilterResult {
  readonly nodeNames?: ReadonlySet<string>;
}

/** Runs once per cycle before Filter (`PreFilterPlugin`); a rejection fails every node with its reasons. */
export interface PreFilterPlugin extends Plugin {
  preFilter(state: CycleState, pod: PodInfo, nodes: NodeInfoLister): { status: Status; result?: PreFilterResult };
}

/** Decides whether one node can run the pod (`FilterPlugin`); called per node, in profile order, first rejection wins. */
export interface FilterPlugin extends Plugin {
  filter(state: CycleState, pod: PodInfo, node: NodeInfo): Status;
}

/** Node name -> the status that rejected it (first failing filter, or the PreFilter rejection). */
export type NodeToStatus = ReadonlyMap<string, Status>;

/** Runs when no node passed Filter (`PostFilterPlugin`, e.g. preemption); may nominate a node. */
export interface PostFilterPlugin extends Plugin {
  postFilter(state: CycleState, pod: PodInfo, filtered: NodeToStatus): { status: Status; nominatedNodeName?: string };
}

/** Runs once before Score (`PreScorePlugin`) on the feasible nodes. */
export interface PreScorePlugin extends Plugin {
  preScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): Status;
}

/** One node's score. */
export interface NodeScore {
  readonly name: string;
  score: number;
}

/** The highest score after normalization (`fwk.MaxNodeScore`). */
export const MAX_NODE_SCORE = 100;

/**
 * Ranks feasible nodes (`ScorePlugin`): `score` returns an integer; when `normalizeScore` exists it
 * rewrites the scores in place to [0, MAX_NODE_SCORE]; the runtime multiplies by the profile weight.
 */
export interface ScorePlugin extends Plugin {
  score(state: CycleState, pod: PodInfo, node: NodeInfo): { score: number; status?: Status };
  normalizeScore?(state: CycleState, pod: PodInfo, scores: NodeScore[]): Status;
}

/** Reserves state for a chosen node (`ReservePlugin`); `unreserve` undoes it if a later step fails (must be idempotent). */
export interface ReservePlugin extends Plugin {
  reserve(state: CycleState, pod: PodInfo, nodeName: string): Status;
  unreserve(state: CycleState, pod: PodInfo, nodeName: string): void;
}

/** Permit's answer: Success (allow), Wait (with `timeoutMs`, milliseconds) or a rejection. */
export interface PermitResult {
  readonly status: Status;
  /** With `Wait`: how long to wait before rejecting, in milliseconds. */
  readonly timeoutMs?: number;
}

/** The waiting-pods map Permit plugins act on (`framework.Handle.IterateOverWaitingPods` / `GetWaitingPod`). */
export interface WaitingPods {
  /** Allows the waiting pod for `plugin`; it binds once every waiting plugin allowed it. */
  allow(podUid: string, plugin: string): void;
  /** Rejects the waiting pod with `message`: it is unreserved and goes back to the queue. */
  reject(podUid: string, plugin: string, message: string): void;
  /** UIDs of the pods currently waiting. */
  uids(): readonly string[];
  /** The waiting pod with this UID, if any. */
  get(podUid: string): DeepReadonly<Pod> | undefined;
}

/** Last gate before binding (`PermitPlugin`): allow, reject, or make the pod wait for others (gangs). */
export interface PermitPlugin extends Plugin {
  permit(state: CycleState, pod: PodInfo, nodeName: string, waiting: WaitingPods): PermitResult;
}

/** Before Bind (`PreBindPlugin`): asynchronous preparation; a failure unreserves the pod. */
export interface PreBindPlugin extends Plugin {
  preBind(state: CycleState, pod: PodInfo, nodeName: string, signal: AbortSignal): Promise<Status>;
}

/** Binds the pod (`BindPlugin`); `Skip` passes to the next binder. The default posts `pods/binding`. */
export interface BindPlugin extends Plugin {
  bind(state: CycleState, pod: PodInfo, nodeName: string, signal: AbortSignal): Promise<Status>;
}

/** After a successful bind (`PostBindPlugin`), informational. */
export interface PostBindPlugin extends Plugin {
  postBind(state: CycleState, pod: PodInfo, nodeName: string): void;
}

/** A kind of object and what happened to it (kube-scheduler's `ClusterEvent`). */
export interface ClusterEvent {
  /** `Pod`, `Node`, or a custom resource's `<plural>.<group>` (e.g. `podgroups.scheduling.kubeloop.dev`). */
  readonly resource: string;
  readonly action: "Add" | "Update" | "Delete";
}

/**
 * A queueing hint: told what changed, says whether an unschedulable pod that this plugin rejected
 * may now fit (`"Queue"`) or not (`"QueueSkip"`). Absent means `"Queue"` for every event.
 */
export type QueueingHintFn = (pod: DeepReadonly<Pod>, oldObj: unknown, newObj: unknown) => "Queue" | "QueueSkip";

/** The events that can make a pod this plugin rejected schedulable (`EnqueueExtensions`). */
export interface EnqueueExtensions extends Plugin {
  eventsToRegister(): ReadonlyArray<{ event: ClusterEvent; hint?: QueueingHintFn }>;
}

/** Type guards for the extension points a plugin object implements. */
export const implementsPoint = {
  preEnqueue: (p: Plugin): p is PreEnqueuePlugin => typeof (p as PreEnqueuePlugin).preEnqueue === "function",
  queueSort: (p: Plugin): p is QueueSortPlugin => typeof (p as QueueSortPlugin).less === "function",
  preFilter: (p: Plugin): p is PreFilterPlugin => typeof (p as PreFilterPlugin).preFilter === "function",
  filter: (p: Plugin): p is FilterPlugin => typeof (p as FilterPlugin).filter === "function",
  postFilter: (p: Plugin): p is PostFilterPlugin => typeof (p as PostFilterPlugin).postFilter === "function",
  preScore: (p: Plugin): p is PreScorePlugin => typeof (p as PreScorePlugin).preScore === "function",
  score: (p: Plugin): p is ScorePlugin => typeof (p as ScorePlugin).score === "function",
  reserve: (p: Plugin): p is ReservePlugin => typeof (p as ReservePlugin).reserve === "function",
  permit: (p: Plugin): p is PermitPlugin => typeof (p as PermitPlugin).permit === "function",
  preBind: (p: Plugin): p is PreBindPlugin => typeof (p as PreBindPlugin).preBind === "function",
  bind: (p: Plugin): p is BindPlugin => typeof (p as BindPlugin).bind === "function",
  postBind: (p: Plugin): p is PostBindPlugin => typeof (p as PostBindPlugin).postBind === "function",
  enqueueExtensions: (p: Plugin): p is EnqueueExtensions => typeof (p as EnqueueExtensions).eventsToRegister === "function",
} as const;
