/**
 * The PodGroup phase machine, a pure function of the group and its member pods. Mirrors
 * scheduler-plugins `pkg/controllers/podgroup_controller.go` (`Reconcile`, `getCurrentPodStats`):
 *
 * ```
 * ""        -> Pending
 * Pending   -> Scheduling            when at least minMember pods exist
 * Scheduling/Running:
 *   fewer than minMember pods exist  -> Pending
 *   running + succeeded <  minMember -> Scheduling
 *   running + succeeded >= minMember -> Running
 *   failed > 0 and failed + running + succeeded >= minMember -> Failed   (final)
 *   succeeded >= minMember           -> Finished                         (final)
 * ```
 *
 * Where it differs on purpose:
 * - Members are the pods with the group's label **in the PodGroup's namespace** (upstream lists
 *   pods by label in every namespace, so same-named groups in two namespaces count each other's pods).
 * - Upstream takes one step per reconcile (`""` -> Pending -> Scheduling -> ... over several
 *   writes); here the steps repeat until the phase is stable, so one reconcile writes the phase the
 *   pods justify, and the counters are always current (upstream leaves them stale in Pending).
 * - `scheduleStartTime` is set when the group first enters Scheduling (upstream's field is never
 *   written by its controller), and kept afterwards.
 * - Pods being deleted do not count as existing members; their phase still counts.
 */
import type { DeepReadonly, Pod } from "../../framework/meta/index.ts";
import type { PodGroupPhase } from "./api.ts";

/** Phases after which the controller stops (upstream returns early for them). */
export const FINAL_PHASES: ReadonlySet<PodGroupPhase> = new Set(["Finished", "Failed"]);

/** How long a group may stay Pending/Scheduling with nothing running before a `Timeout` warning, by default (upstream's fixed 48 h), in ms. */
export const SCHEDULE_TIMEOUT_WARNING_MS = 48 * 60 * 60 * 1000;

/** Counts of member pods by phase. */
export interface MemberCounts {
  /** Members not being deleted (bound or not, any phase). */
  readonly total: number;
  readonly running: number;
  readonly succeeded: number;
  readonly failed: number;
}

/** Counts `pods` (the group's members) by phase (`getCurrentPodStats`); pods being deleted are left out of `total`. */
export function countMembers(pods: ReadonlyArray<DeepReadonly<Pod>>): MemberCounts {
  let total = 0, running = 0, succeeded = 0, failed = 0;
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp === undefined) total++;
    switch (pod.status?.phase) {
      case "Running": running++; break;
      case "Succeeded": succeeded++; break;
      case "Failed": failed++; break;
    }
  }
  return { total, running, succeeded, failed };
}

/** The status fields the controller owns. */
export interface PhaseStatus {
  phase?: PodGroupPhase;
  running?: number;
  succeeded?: number;
  failed?: number;
  /** RFC 3339. */
  scheduleStartTime?: string;
}

/** One step of the machine from `phase` (upstream's `switch`). */
function step(phase: PodGroupPhase | undefined, minMember: number, c: MemberCounts): PodGroupPhase {
  if (phase === undefined) return "Pending";
  if (FINAL_PHASES.has(phase)) return phase;
  if (phase === "Pending") return c.total >= minMember ? "Scheduling" : "Pending";
  if (c.total < minMember) return "Pending";
  let next: PodGroupPhase = c.succeeded + c.running >= minMember ? "Running" : "Scheduling";
  if (c.failed !== 0 && c.failed + c.running + c.succeeded >= minMember) next = "Failed";
  if (c.succeeded >= minMember) next = "Finished";
  return next;
}

/**
 * The status the controller writes for a group with `minMember` and these member counts, given
 * its current status; `nowIso` (RFC 3339) becomes `scheduleStartTime` when the group first enters
 * Scheduling. A group in a final phase keeps its whole status.
 */
export function nextPhaseStatus(current: Readonly<PhaseStatus>, minMember: number, counts: MemberCounts, nowIso: string): PhaseStatus {
  if (current.phase !== undefined && FINAL_PHASES.has(current.phase)) return { ...current };
  let phase = current.phase;
  for (let i = 0; i < 4; i++) {
    const next = step(phase, minMember, counts);
    if (next === phase) break;
    phase = next;
  }
  const scheduleStartTime = current.scheduleStartTime ?? (phase !== "Pending" ? nowIso : undefined);
  return {
    phase: phase ?? "Pending",
    running: counts.running,
    succeeded: counts.succeeded,
    failed: counts.failed,
    ...(scheduleStartTime !== undefined ? { scheduleStartTime } : {}),
  };
}

/** True when two statuses differ in a field the controller owns. */
export function phaseStatusChanged(a: Readonly<PhaseStatus>, b: Readonly<PhaseStatus>): boolean {
  return a.phase !== b.phase || (a.running ?? 0) !== (b.running ?? 0) || (a.succeeded ?? 0) !== (b.succeeded ?? 0) ||
    (a.failed ?? 0) !== (b.failed ?? 0) || a.scheduleStartTime !== b.scheduleStartTime;
}

/**
 * When upstream's `Timeout` warning is due, in ms since the epoch, or undefined when it is not
 * pending: the group is Pending or Scheduling, nothing runs, and `timeoutMs` (the group's
 * `scheduleTimeoutSeconds`, default `SCHEDULE_TIMEOUT_WARNING_MS`) passes after
 * `scheduleStartTime` (else after its creation). Upstream compares scheduleStartTime with the
 * creation time against a fixed 48 h, which its controller never makes that far apart; this is
 * the intent: a group stuck too long.
 */
export function scheduleTimeoutAtMs(status: Readonly<PhaseStatus>, creationIso: string | undefined, timeoutMs = SCHEDULE_TIMEOUT_WARNING_MS): number | undefined {
  if (status.phase !== "Pending" && status.phase !== "Scheduling") return undefined;
  if ((status.running ?? 0) !== 0) return undefined;
  const since = Date.parse(status.scheduleStartTime ?? creationIso ?? "");
  return Number.isFinite(since) ? since + timeoutMs : undefined;
}

/** True when the `Timeout` warning is due at `nowMs` (strictly after `scheduleTimeoutAtMs`). */
export function scheduleTimeoutDue(status: Readonly<PhaseStatus>, creationIso: string | undefined, nowMs: number, timeoutMs = SCHEDULE_TIMEOUT_WARNING_MS): boolean {
  const at = scheduleTimeoutAtMs(status, creationIso, timeoutMs);
  return at !== undefined && nowMs > at;
}
