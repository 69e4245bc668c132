/**
 * Pod groups (gangs) as the scheduler runtime sees them: which group a pod belongs to, how many
 * members must fit together, and the outcome of a group's scheduling cycle.
 *
 * Mirrors the pod-group cycle of kube-scheduler v1.36 (`pkg/scheduler/schedule_one_podgroup.go`):
 * when a popped pod belongs to a group, the runtime
 * 1. pops every other queued, unscheduled member of the group (from the active, backoff and
 *    unschedulable queues, not from PreEnqueue-gated pods: `PopSpecificPod`),
 * 2. sorts them by priority (highest first) then by initial attempt time (oldest first),
 * 3. on ONE snapshot, schedules each in turn (PreFilter .. Score, select host), assumes it in the
 *    snapshot and runs Reserve then Permit, so the next member sees the ones before it,
 * 4. counts the group feasible once `scheduledBefore + feasibleNow >= minMember`, where
 *    `scheduledBefore` is the members already bound or assumed (the runtime counts them in its
 *    cache with `groupOf`) and `feasibleNow` the members that got a node in this cycle and whose
 *    Permit did not reject (a Permit `Wait` counts as feasible here: upstream's gang Permit waits
 *    for quorum, ours is decided by the runtime with `minMember`),
 * 5. unreserves and forgets every assumption of the cycle, then, only if the group is feasible,
 *    assumes again and binds every feasible member (binding cycles run concurrently); members that
 *    got no node are reported Unschedulable with their own `0/N nodes are available: ...` message.
 *    If the group is not feasible, nothing stays reserved: every member goes back to the queue as
 *    unschedulable with backoff, the feasible ones with the message
 *    `pod group is unschedulable, waiting for minCount pods from a gang to be scheduled, one or more plugins asked to wait and no plugin rejected pod`
 *    (kube-scheduler v1.36's text for a gang short of quorum). A failed group never blocks the
 *    queue: the next pop is whatever is at the head of the active queue.
 * Members beyond `minMember` that arrive once the group runs are scheduled by the same cycle, alone
 * (`scheduledBefore` already reaches `minMember`).
 *
 * A plugin that implements `groupOf` (a `PodGroupPlugin`) in a profile turns this on; the first such
 * plugin in profile order answers. Gating a pod until its group and enough members exist is a
 * PreEnqueue plugin's job (silent, as upstream), not the runtime's.
 */
import type { Pod } from "../meta/index.ts";
import type { DeepReadonly } from "../meta/index.ts";
import type { Plugin } from "./framework.ts";

/** A pod's group, as `PodGroupPlugin.groupOf` returns it. */
export interface PodGroupRef {
  /**
   * Identifies the group among all groups of the cluster, e.g. `kubeloop/ns/name` or
   * `native/ns/name`; members of one group return the same key.
   */
  readonly key: string;
  /** The namespace of the group (members live in it); used in logs and the result. */
  readonly namespace: string;
  /** The group's name, for messages. */
  readonly name: string;
  /**
   * How many members must be placed together before any of them binds (`gang.minCount`,
   * `minMember`), >= 1. A group with `minMember: 1` (upstream's `basic` policy) is scheduled
   * member by member in one cycle.
   */
  readonly minMember: number;
}

/** The outcome of one member in a group cycle. */
export interface PodGroupMemberResult {
  readonly pod: DeepReadonly<Pod>;
  /** The node the member is being bound to (group scheduled) or would have got (group failed); absent when none fit. */
  readonly nodeName?: string;
  /** The message the member was reported with when it was not bound (its `PodScheduled=False` message). */
  readonly message?: string;
}

/** What one group cycle decided (given to `PodGroupPlugin.groupCycleDone`). */
export interface PodGroupCycleResult {
  readonly group: PodGroupRef;
  /**
   * `Scheduled`: quorum reached, the feasible members are being bound. `Unschedulable`: quorum
   * not reached, nothing bound. `Error`: an internal error, nothing bound.
   * (Upstream writes the PodGroup condition `PodGroupScheduled` True/Scheduled, False/Unschedulable
   * or False/SchedulerError from this; it never regresses True to False.)
   */
  readonly outcome: "Scheduled" | "Unschedulable" | "Error";
  /** `""` when scheduled, `pod group is unschedulable` or the error text otherwise. */
  readonly message: string;
  /** Members already bound or assumed before this cycle. */
  readonly scheduledBefore: number;
  /** Every member popped into this cycle, in the order they were tried. */
  readonly members: readonly PodGroupMemberResult[];
}

/**
 * The extension that makes the runtime group-aware. `groupOf` must be cheap and pure (it is
 * called for every pod in the snapshot when counting a group's scheduled members); it reads the
 * pod only (labels, `spec.schedulingGroup`) and whatever the plugin keeps in its own informers.
 */
export interface PodGroupPlugin extends Plugin {
  /** The group `pod` belongs to, or undefined when it is scheduled alone. */
  groupOf(pod: DeepReadonly<Pod>): PodGroupRef | undefined;
  /** Called once per group cycle, after the binds were started (not awaited). Must not throw. */
  groupCycleDone?(result: PodGroupCycleResult): void;
}

/** True when `p` implements `groupOf`. */
export function isPodGroupPlugin(p: Plugin): p is PodGroupPlugin {
  return typeof (p as PodGroupPlugin).groupOf === "function";
}

/** The message a feasible member of a group short of quorum is reported with (kube-scheduler v1.36's text). */
export const POD_GROUP_UNSCHEDULABLE_MESSAGE =
  "pod group is unschedulable, waiting for minCount pods from a gang to be scheduled, one or more plugins asked to wait and no plugin rejected pod";
