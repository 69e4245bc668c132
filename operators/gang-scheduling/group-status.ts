/**
 * What a group cycle's outcome writes on the PodGroup: the `PodGroupScheduled` condition and one
 * Event per attempt. Pure functions over the cycle result.
 *
 * Mirrors kube-scheduler v1.36 `updatePodGroupCondition` (`pkg/scheduler/schedule_one_podgroup.go`):
 * True/`Scheduled`/"" on success, False/`Unschedulable`/"pod group is unschedulable" on failure,
 * False/`SchedulerError`/<error> on error, and a True condition is never regressed to False.
 * Native PodGroups get exactly those texts (so the differential run compares like with like);
 * kubeloop PodGroups get the same condition with the failing member and its reason appended to
 * the False message. The Events (`Scheduled` / `FailedScheduling` on the PodGroup, one per
 * attempt) are ours: kube-scheduler writes Events on pods only.
 */
import type { PodGroupCycleResult } from "../../framework/scheduling/pod-group.ts";
import type { GroupApi } from "./membership.ts";

/** The condition type of a placed group (kube-scheduler v1.36's `PodGroupScheduled`). */
export const POD_GROUP_SCHEDULED = "PodGroupScheduled";
/** kube-scheduler's False message for a group short of quorum. */
export const POD_GROUP_UNSCHEDULABLE = "pod group is unschedulable";

/** A PodGroup condition (metav1.Condition fields). */
export interface GroupCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** An Event about the PodGroup. */
export interface GroupEvent {
  type: "Normal" | "Warning";
  reason: "Scheduled" | "FailedScheduling";
  note: string;
}

function podName(pod: { metadata?: { name?: string } }): string {
  return pod.metadata?.name ?? "";
}

/**
 * Why the group did not fit, naming the member that failed: `member <pod> did not fit: <its
 * message>; <k>/<minMember> members fit`, or, when every tried member got a node, how far short
 * the quorum was.
 */
export function failureDetail(result: PodGroupCycleResult): string {
  const fit = result.members.filter((m) => m.nodeName !== undefined).length;
  const placed = `${result.scheduledBefore + fit}/${result.group.minMember} members fit`;
  const failed = result.members.find((m) => m.nodeName === undefined);
  if (failed) return `member ${podName(failed.pod)} did not fit: ${failed.message ?? "no node"}; ${placed}`;
  return `${placed} (${result.members.length} tried, ${result.scheduledBefore} already scheduled)`;
}

/**
 * The condition to write after `result`, or undefined when nothing changes (same status, reason
 * and message, or a True condition that a failure must not regress). `nowIso` is the transition
 * time when the status changes.
 */
export function nextScheduledCondition(
  api: GroupApi,
  current: GroupCondition | undefined,
  result: PodGroupCycleResult,
  nowIso: string,
): GroupCondition | undefined {
  if (current?.status === "True" && result.outcome !== "Scheduled") return undefined;
  let next: GroupCondition;
  if (result.outcome === "Scheduled") next = { type: POD_GROUP_SCHEDULED, status: "True", reason: "Scheduled", message: "" };
  else if (result.outcome === "Error") next = { type: POD_GROUP_SCHEDULED, status: "False", reason: "SchedulerError", message: result.message };
  else {
    next = {
      type: POD_GROUP_SCHEDULED, status: "False", reason: "Unschedulable",
      message: api === "native" ? POD_GROUP_UNSCHEDULABLE : `${POD_GROUP_UNSCHEDULABLE}: ${failureDetail(result)}`,
    };
  }
  if (current && current.status === next.status && current.reason === next.reason && (current.message ?? "") === next.message) return undefined;
  next.lastTransitionTime = current && current.status === next.status && current.lastTransitionTime ? current.lastTransitionTime : nowIso;
  return next;
}

/** The Event one attempt records on the PodGroup. */
export function attemptEvent(result: PodGroupCycleResult): GroupEvent {
  const name = `${result.group.namespace}/${result.group.name}`;
  if (result.outcome === "Scheduled") {
    const placed = result.members.filter((m) => m.nodeName !== undefined).map((m) => `${podName(m.pod)} on ${m.nodeName}`);
    return { type: "Normal", reason: "Scheduled", note: `PodGroup ${name}: ${placed.length} members assigned (${placed.join(", ")})` };
  }
  if (result.outcome === "Error") return { type: "Warning", reason: "FailedScheduling", note: `PodGroup ${name}: scheduler error: ${result.message}` };
  return { type: "Warning", reason: "FailedScheduling", note: `PodGroup ${name}: ${POD_GROUP_UNSCHEDULABLE}: ${failureDetail(result)}` };
}

/** `conditions` with `next` put in place of the one of its type (order kept, new types appended). */
export function withCondition<C extends { type: string }>(conditions: readonly C[] | undefined, next: C): C[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}
