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

/** ours / kube-scheduler for one setting and kind. */
export interface SchedulingComparison {
  qps: number;
  burst: number;
  kind: "plain" | "gang";
  oursPodsPerSecond: number;
  kubePodsPerSecond: number;
  ratio: number;
  target: number;
  met: boolean;
}

/** Pairs our throughput runs with kube-scheduler's of the same limits and kind. */
export function schedulingComparisons(r: SchedulingResults): SchedulingComparison[] {
  const out: SchedulingComparison[] = [];
  for (const ours of r.throughput.filter((t) => t.side === "ours")) {
    const kube = r.throughput.find((t) => t.side === "kube-scheduler" && t.kind === ours.kind && t.qps === ours.qps && t.burst === ours.burst);
    if (!kube || kube.podsPerSecond === 0) continue;
    const ratio = ours.podsPerSecond / kube.podsPerSecond;
    const target = ours.qps >= 1000 ? schedulingTargets.minRatioRaised : schedulingTargets.minRatioDefaults;
    const complete = ours.bound === ours.pods && ours.partialGroups === 0;
    out.push({ qps: ours.qps, burst: ours.burst, kind: ours.kind, oursPodsPerSecond: ours.podsPerSecond, kubePodsPerSecond: kube.podsPerSecond, ratio, target, met: complete && ratio >= target });
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
    parts.push(table(["client qps/burst", "kind", "side", "pods", "bound", "first→last s", "pods/s", "start→last s", "full groups", "partial groups"],
      r.throughput.map((t) => [
        `${t.qps}/${t.burst}`, t.kind === "gang" ? `gangs of ${t.groupSize}` : "plain", t.side, String(t.pods), String(t.bound),
        t.firstToLastSeconds.toFixed(2), t.podsPerSecond.toFixed(1), t.startToLastSeconds.toFixed(2),
        t.kind === "gang" ? String(t.fullGroups) : "-", t.kind === "gang" ? String(t.partialGroups) : "-",
      ])));
    parts.push("\nours / kube-scheduler pods/s (target ≥ 1.0 at 1000/1000, ≥ 0.9 at 50/100; all pods bound, 0 partial groups)");
    parts.push(table(["client qps/burst", "kind", "ours pods/s", "kube-scheduler pods/s", "ours / kube-scheduler", "target"],
      schedulingComparisons(r).map((c) => [
        `${c.qps}/${c.burst}`, c.kind === "gang" ? "gangs" : "plain", c.oursPodsPerSecond.toFixed(1), c.kubePodsPerSecond.toFixed(1), c.ratio.toFixed(2), `≥ ${c.target}: ${met(c.met)}`,
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
  const partial = r.throughput.reduce((n, t) => n + t.partialGroups, 0) + r.competing.reduce((n, c) => n + c.partialGroups, 0);
  parts.push(`\npartially bound groups in the whole suite: ${partial} (target 0: ${met(partial === 0)})`);
  if (r.errors.length > 0) parts.push(`scheduling ERRORS:\n${r.errors.map((e) => `  ${e}`).join("\n")}`);
  return parts.join("\n") + "\n";
}
