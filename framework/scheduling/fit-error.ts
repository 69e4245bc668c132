/**
 * The message of a pod no node fits, in kube-scheduler v1.36's grammar
 * (`pkg/scheduler/framework/types.go` `FitError.Error`):
 * `0/<N> nodes are available: <PreFilter message>.` when PreFilter rejected the pod, otherwise
 * `0/<N> nodes are available: <histogram>.` where the histogram counts every reason of every
 * node's status (the first failing Filter per node, or the status of nodes a PreFilter result
 * left out) as `"<count> <reason>"` strings sorted as strings (so `10 ...` sorts before `2 ...`)
 * and joined with `", "`; a PostFilter message, when there is one, follows as ` <message>.`.
 *
 * We never append kube-scheduler's DRA / preemption suffix (` no new claims to deallocate,
 * preemption: ...`): we run no preemption.
 */
import type { Status } from "./framework.ts";

/** What a failed search for a node found (kube-scheduler's `Diagnosis`). */
export interface Diagnosis {
  /** Node name -> the status that rejected it. */
  readonly nodeToStatus: ReadonlyMap<string, Status>;
  /** Status of the nodes absent from `nodeToStatus` (left out by a PreFilter result, or all of them after a PreFilter rejection). */
  readonly absentNodesStatus?: Status;
  /** The PreFilter rejection's message, when PreFilter rejected the pod. */
  readonly preFilterMsg?: string;
  /** The PostFilter message, when a PostFilter plugin returned one. */
  readonly postFilterMsg?: string;
  /** Plugins that rejected the pod (for queueing hints). */
  readonly unschedulablePlugins: ReadonlySet<string>;
}

/** `0/N nodes are available: ...` for `numAllNodes` nodes and `d` (see the module comment). */
export function fitErrorMessage(numAllNodes: number, d: Diagnosis): string {
  let msg = `0/${numAllNodes} nodes are available:`;
  if (d.preFilterMsg) {
    msg += ` ${d.preFilterMsg}.`;
  } else {
    const counts = new Map<string, number>();
    for (const st of d.nodeToStatus.values()) for (const r of st.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
    const absent = numAllNodes - d.nodeToStatus.size;
    if (absent > 0 && d.absentNodesStatus) for (const r of d.absentNodesStatus.reasons) counts.set(r, (counts.get(r) ?? 0) + absent);
    const parts = [...counts].map(([r, n]) => `${n} ${r}`).sort(compareGoStrings);
    if (parts.length > 0) msg += ` ${parts.join(", ")}.`;
  }
  if (d.postFilterMsg) msg += ` ${d.postFilterMsg}.`;
  return msg;
}

/** Go's `sort.Strings` order (byte-wise on UTF-8; UTF-16 code-unit order agrees for the ASCII messages used here). */
function compareGoStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The status message of a status (`Status.Message`: reasons joined by `", "`). */
export function statusMessage(s: Status): string {
  return s.reasons.join(", ");
}

/**
 * A Go `time.Duration.String()` of `ms` milliseconds (`5m0s`, `10s`, `1.5s`, `300ms`), for the
 * Permit timeout message `rejected due to timeout after waiting <d> at plugin <name>`.
 */
export function goDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1000) return `${trimZeros(ms.toFixed(3))}ms`;
  let s = ms / 1000;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const sec = `${trimZeros(s.toFixed(3))}s`;
  if (h > 0) return `${h}h${m}m${sec}`;
  if (m > 0) return `${m}m${sec}`;
  return sec;
}

function trimZeros(x: string): string {
  return x.includes(".") ? x.replace(/0+$/, "").replace(/\.$/, "") : x;
}
