/**
 * The scheduling suite's part of the report: its tables, the ratios ours / kube-scheduler and the
 * issue 6 §5 targets beside them (printed, not asserted).
 */
import type { SchedulingResults } from "./scheduling.ts";

/** Targets of issue 6 §5. */
export const schedulingTargets = {
  /** ours / kube-scheduler pods/s, plain pods and gangs, at raised client limits (1000/1000). */
  minRatioRaised: 1.0,
  /** The same at kube-scheduler's defaults (50/100). */
  minRatioDefaults: 0.9,
  /** Partially bound groups anywhere. */
  maxPartialGroups: 0,
  /** Deadlocked gangs in the randomized run. */
  maxDeadlocks: 0,
} as const;

/** ours / kube-scheduler for one setting and kind, over the repeats. */
export interface SchedulingComparison {
  qps: number;
  burst: number;
  kind: "plain" | "gang";
  repeats: number;
  /** Medians of pods/s over the repeats. */
  oursPodsPerSecond: number;
  kubePodsPerSecond: number;
  /** Median ours / median kube-scheduler. */
  ratio: number;
  /** ours / kube-scheduler of each repeat (same repeat, back to back). */
  ratioPerRepeat: number[];
  target: number;
  /** Every run of ours bound all its pods with no partial group, and the median ratio reaches the target. */
  met: boolean;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Pairs our throughput runs with kube-scheduler's of the same limits and kind (medians over the repeats). */
export function schedulingComparisons(r: SchedulingResults): SchedulingComparison[] {
  const out: SchedulingComparison[] = [];
  const keys = new Map<string, { qps: number; burst: number; kind: "plain" | "gang" }>();
  for (const t of r.throughput) keys.set(`${t.qps}/${t.burst}/${t.kind}`, { qps: t.qps, burst: t.burst, kind: t.kind });
  for (const { qps, burst, kind } of keys.values()) {
    const runs = r.throughput.filter((t) => t.qps === qps && t.burst === burst && t.kind === kind);
    const ours = runs.filter((t) => t.side === "ours");
    const kube = runs.filter((t) => t.side === "kube-scheduler");
    if (ours.length === 0 || kube.length === 0) continue;
    const oursPodsPerSecond = median(ours.map((t) => t.podsPerSecond));
    const kubePodsPerSecond = median(kube.map((t) => t.podsPerSecond));
    if (kubePodsPerSecond === 0) continue;
    const ratio = oursPodsPerSecond / kubePodsPerSecond;
    const ratioPerRepeat = ours.flatMap((o) => {
      const k = kube.find((t) => t.repeat === o.repeat);
      return k && k.podsPerSecond > 0 ? [o.podsPerSecond / k.podsPerSecond] : [];
    });
    const target = qps >= 1000 ? schedulingTargets.minRatioRaised : schedulingTargets.minRatioDefaults;
    const complete = ours.every((t) => t.bound === t.pods && t.partialGroups === 0);
    out.push({ qps, burst, kind, repeats: Math.min(ours.length, kube.length), oursPodsPerSecond, kubePodsPerSecond, ratio, ratioPerRepeat, target, met: complete && ratio >= target });
  }
  return out;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

const met = (ok: boolean): string => (ok ? "met" : "MISSED");

/** The scheduling section of the printed report. */
export function formatSchedulingReport(r: SchedulingResults): string {
  const parts: string[] = [];
  parts.push("\n(d) scheduling: kubeloop-scheduler vs kube-scheduler v1.36.3 (same control plane, same kwok nodes, same run)");
  parts.push(`method: ${r.method}`);
  if (r.throughput.length > 0) {
    parts.push(`\nthroughput on ${r.throughputNodes} nodes (bound/s = N / first-to-last bind; start→last includes the scheduler's start-up)`);
    parts.push(table(["client qps/burst", "kind", "repeat", "side", "pods", "bound", "first→last s", "pods/s", "start→last s", "full groups", "partial groups"],
      r.throughput.map((t) => [
        `${t.qps}/${t.burst}`, t.kind === "gang" ? `gangs of ${t.groupSize}` : "plain", String(t.repeat + 1), t.side, String(t.pods), String(t.bound),
        t.firstToLastSeconds.toFixed(2), t.podsPerSecond.toFixed(1), t.startToLastSeconds.toFixed(2),
        t.kind === "gang" ? String(t.fullGroups) : "-", t.kind === "gang" ? String(t.partialGroups) : "-",
      ])));
    parts.push("\nours / kube-scheduler pods/s, medians over the repeats (target ≥ 1.0 at 1000/1000, ≥ 0.9 at 50/100; all pods bound, 0 partial groups)");
    parts.push(table(["client qps/burst", "kind", "repeats", "ours pods/s", "kube-scheduler pods/s", "ours / kube-scheduler", "per repeat", "target"],
      schedulingComparisons(r).map((c) => [
        `${c.qps}/${c.burst}`, c.kind === "gang" ? "gangs of 10" : "plain", String(c.repeats), c.oursPodsPerSecond.toFixed(1), c.kubePodsPerSecond.toFixed(1),
        c.ratio.toFixed(2), c.ratioPerRepeat.map((x) => x.toFixed(2)).join(", "), `≥ ${c.target}: ${met(c.met)}`,
      ])));
  }
  if (r.fragmentation.length > 0) {
    const f0 = r.fragmentation[0]!;
    const mostAllocated = r.fragmentation.find((f) => f.side === "kube-scheduler MostAllocated");
    parts.push(`\nfragmentation: ${f0.nodes} nodes × ${f0.gpusPerNode} GPUs per pool, seeded (${r.seed}) 1/2/4-GPU mix of ${f0.loadPods} pods = ${f0.loadGpus} GPUs (50 %), then 8-GPU pods until one no longer fits`);
    parts.push(table(["scheduler", "load unplaced", "nodes touched", "whole free nodes", "8-GPU pods placed", "target (ours ≥ MostAllocated)"],
      r.fragmentation.map((f) => [
        f.side, String(f.loadUnplaced), `${f.nodesTouched}/${f.nodes}`, String(f.wholeFreeNodes), String(f.eightGpuPodsPlaced),
        f.side === "ours BinPack" && mostAllocated
          ? met(f.loadUnplaced === 0 && f.wholeFreeNodes >= mostAllocated.wholeFreeNodes && f.eightGpuPodsPlaced >= mostAllocated.eightGpuPodsPlaced)
          : "-",
      ])));
  }
  if (r.competing.length > 0) {
    parts.push(`\ncompeting gangs: seeded (${r.seed}) randomized run, 2..6 pods × 1..3 CPU per gang on 4 nodes × 8 CPU, bound gangs finish once placements settle`);
    parts.push(table(["scheduler", "groups", "gangs", "pods", "ever bound", "partial groups", "deadlocked", "between-binds observations", "seconds", "target 0 partial, 0 deadlocks"],
      r.competing.map((c) => [
        c.side, c.api === "native" ? "native v1alpha2" : "kubeloop v1alpha1", String(c.gangs), String(c.pods), String(c.bound), String(c.partialGroups), String(c.deadlocked),
        String(c.transientObservations), c.seconds.toFixed(0),
        met(c.partialGroups <= schedulingTargets.maxPartialGroups && c.deadlocked <= schedulingTargets.maxDeadlocks),
      ])));
  }
  for (const side of ["ours", "kube-scheduler"]) {
    const partial = r.throughput.filter((t) => t.side === side).reduce((n, t) => n + t.partialGroups, 0) +
      r.competing.filter((c) => c.side === side).reduce((n, c) => n + c.partialGroups, 0);
    parts.push(`${side === "ours" ? "\n" : ""}partially bound groups, ${side}, whole suite: ${partial}${side === "ours" ? ` (target 0: ${met(partial === 0)})` : ""}`);
  }
  if (r.errors.length > 0) parts.push(`scheduling ERRORS:\n${r.errors.map((e) => `  ${e}`).join("\n")}`);
  return parts.join("\n") + "\n";
}
