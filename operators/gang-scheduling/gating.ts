/**
 * When a member of a pod group may be tried, as pure decisions over what the informers hold.
 *
 * Native groups (`scheduling.k8s.io/v1alpha2`) mirror kube-scheduler v1.36's `GangScheduling`
 * PreEnqueue (`pkg/scheduler/framework/plugins/gangscheduling/gangscheduling.go`): a pod whose
 * PodGroup does not exist, or whose gang has fewer than `minCount` pods, is held out of the active
 * queue silently (no event, no condition) with upstream's reasons; a `basic` group is not gated.
 *
 * kubeloop groups (`scheduling.kubeloop.dev/v1alpha1`) follow scheduler-plugins' coscheduling,
 * which rejects in PreFilter and so tells the user: a pod whose PodGroup is missing is
 * Unschedulable `PodGroup <ns>/<name> not found`; too few members is
 * `<n>/<minMember> pods of PodGroup <ns>/<name> exist` (coscheduling's
 * `cannot find enough sibling pods, current pods number: %v, minMember of group: %v`, reworded).
 * Both are `UnschedulableAndUnresolvable` (preemption cannot help).
 *
 * For both: members that disagree on `spec.schedulerName` cannot be placed as one gang
 * (kube-scheduler's `frameworkForPodGroup` error "all pods in a single pod group should have the
 * same .spec.schedulerName set"); here the pod is Unschedulable with a reason that lists the
 * names, never scheduled partly.
 */
import { SUCCESS, status, type Status } from "../../framework/scheduling/framework.ts";
import type { DeepReadonly, Pod } from "../../framework/meta/index.ts";
import { groupDisplayName, isTerminatedOrDeleting, type GroupRef } from "./membership.ts";

/** What the informers say about a pod's group. */
export interface GroupView {
  readonly ref: GroupRef;
  /** Whether the PodGroup object exists. */
  readonly exists: boolean;
  /** `minMember` / `gang.minCount`; 1 for a native `basic` group. Meaningless when `exists` is false. */
  readonly minMember: number;
  /** False only for a native `basic` group: members are scheduled one by one. */
  readonly gang: boolean;
  /** Every pod whose group is `ref` (any phase, bound or not). */
  readonly members: ReadonlyArray<DeepReadonly<Pod>>;
}

/** Upstream's PreEnqueue reason for a native pod whose PodGroup is missing. */
export function nativeGroupMissingReason(name: string): string {
  return `waiting for pods's pod group ${JSON.stringify(name)} to appear in scheduling queue`;
}

/** Upstream's PreEnqueue reason for a native gang short of `minCount` pods. */
export const NATIVE_TOO_FEW_PODS_REASON = "waiting for minCount pods from a gang to appear in scheduling queue";

/** The message for a kubeloop pod whose PodGroup is missing: `PodGroup <ns>/<name> not found`. */
export function groupNotFoundMessage(ref: GroupRef): string {
  return `PodGroup ${groupDisplayName(ref)} not found`;
}

/** The message for a kubeloop gang short of members: `<n>/<minMember> pods of PodGroup <ns>/<name> exist`. */
export function tooFewMembersMessage(ref: GroupRef, existing: number, minMember: number): string {
  return `${existing}/${minMember} pods of PodGroup ${groupDisplayName(ref)} exist`;
}

/** Members that exist for the quorum: not ended (Succeeded/Failed) and not being deleted. */
export function existingMembers(view: GroupView): number {
  let n = 0;
  for (const p of view.members) if (!isTerminatedOrDeleting(p)) n++;
  return n;
}

/**
 * The reason members disagree on `spec.schedulerName`, or undefined when they agree:
 * `pods of PodGroup <ns>/<name> disagree on spec.schedulerName (<count> <name>, ...): a pod group is scheduled by one scheduler`.
 */
export function schedulerNameConflict(view: GroupView): string | undefined {
  const counts = new Map<string, number>();
  for (const p of view.members) {
    if (isTerminatedOrDeleting(p)) continue;
    const name = p.spec?.schedulerName || "default-scheduler";
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  if (counts.size <= 1) return undefined;
  const list = [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, n]) => `${n} ${name}`).join(", ");
  return `pods of PodGroup ${groupDisplayName(view.ref)} disagree on spec.schedulerName (${list}): all pods of a pod group must have the same schedulerName`;
}

/**
 * PreEnqueue: holds a native gang member silently until its PodGroup and `minCount` pods exist
 * (`UnschedulableAndUnresolvable` with upstream's reasons). kubeloop members always pass (their
 * reasons are reported by `preFilterDecision`).
 */
export function preEnqueueDecision(view: GroupView | undefined): Status {
  if (!view || view.ref.api !== "native") return SUCCESS;
  if (!view.exists) return status("UnschedulableAndUnresolvable", nativeGroupMissingReason(view.ref.name));
  if (!view.gang) return SUCCESS;
  if (existingMembers(view) < view.minMember) return status("UnschedulableAndUnresolvable", NATIVE_TOO_FEW_PODS_REASON);
  return SUCCESS;
}

/**
 * PreFilter: rejects (`UnschedulableAndUnresolvable`) a kubeloop member whose PodGroup is missing
 * or short of members, and any member of a group whose pods disagree on `spec.schedulerName`.
 */
export function preFilterDecision(view: GroupView | undefined): Status {
  if (!view) return SUCCESS;
  if (view.ref.api === "kubeloop") {
    if (!view.exists) return status("UnschedulableAndUnresolvable", groupNotFoundMessage(view.ref));
    const existing = existingMembers(view);
    if (existing < view.minMember) return status("UnschedulableAndUnresolvable", tooFewMembersMessage(view.ref, existing, view.minMember));
  } else if (!view.exists) {
    // PreEnqueue holds such pods; a pod whose group vanished after it was queued waits silently the same way.
    return status("UnschedulableAndUnresolvable", nativeGroupMissingReason(view.ref.name));
  }
  const conflict = schedulerNameConflict(view);
  if (conflict) return status("UnschedulableAndUnresolvable", conflict);
  return SUCCESS;
}
