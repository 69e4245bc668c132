/**
 * The benchmark's output: a plain-text table with the targets beside the results, and the same
 * numbers as JSON in `bench-results/bench-<ISO time>.json`.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { MemoryResult } from "./memory.ts";
import type { PhysicalResult } from "./physical.ts";
import type { ReplicaSetResult } from "./replicaset.ts";
import type { SchedulingResults } from "./scheduling.ts";
import { formatEndpointsReport, type EndpointsBenchResult } from "./endpoints.ts";
import { formatAdmissionReport, type AdmissionBenchResult } from "./admission.ts";
import { formatSchedulingReport, schedulingComparisons, schedulingTargets } from "./scheduling-report.ts";

/** Targets the report prints beside the results (not asserted: a missed target is no error). */
export const targets = {
  /** ours / built-in time (to all created, to all Ready) with no client limit on either side. */
  maxTimeRatioUnlimited: 0.9,
  /** ours / built-in time at equal client limits. */
  maxTimeRatioEqualLimits: 1.0,
  /** ours creates/s as a fraction of the raw create rate (a), where the client limit allows it (raised, unlimited). */
  minFractionOfPhysical: 0.8,
  /** Heap bytes per cached Pod (managedFields stripped). */
  maxBytesPerPod: 20 * 1024,
  /** controller-runtime's cache, for reference (tigera/operator#5082). */
  controllerRuntimeBytesPerPod: 36 * 1024,
} as const;

/** One control plane's results, under one setting of client limits. */
export interface SettingResults {
  /** `defaults`, `raised` or `unlimited`. */
  label: string;
  /** kube-controller-manager `--kube-api-qps` / `--kube-api-burst`. */
  kubeApiQps: number;
  kubeApiBurst: number;
  /** kube-scheduler `--kube-api-qps` / `--kube-api-burst` (upstream 50/100). */
  schedulerApiQps: number;
  schedulerApiBurst: number;
  /** How our operator's client was limited in this setting. */
  oursClient: string;
  physical: PhysicalResult | undefined;
  replicaSets: ReplicaSetResult[];
}

/** Everything one `npm run bench` measured. */
export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  quick: boolean;
  environment: Record<string, string | number>;
  /** The scheduler both sides share when pods are not pre-bound. */
  scheduler: string;
  settings: SettingResults[];
  memory: MemoryResult[];
  /** The scheduling suite (`--suites scheduling`), when it ran. */
  scheduling?: SchedulingResults;
  /** The Endpoints suite (`--suites endpoints`), one entry per setting, when it ran. */
  endpoints?: EndpointsBenchResult[];
  /** The admission suite (`--suites admission`), when it ran. */
  admission?: AdmissionBenchResult;
  /** Measurements that failed, with what went wrong. */
  errors: string[];
}

/** One of our runs against the built-in's of the same setting, placement and N. */
export interface Comparison {
  setting: string;
  placement: string;
  pods: number;
  /** Our transport. */
  transport: string;
  /** ours / built-in seconds to the N-th pod created (below 1: ours faster). */
  createdRatio: number | undefined;
  /** ours / built-in seconds to all Ready. */
  readyRatio: number;
  /** ours / built-in creates/s (above 1: ours faster). */
  createsPerSecondRatio: number | undefined;
  /** Our creates/s as a fraction of (a)'s raw create rate. */
  oursCreatesOfPhysical: number | undefined;
  builtInCreatesOfPhysical: number | undefined;
  /** The target on the time ratios for this setting. */
  maxRatio: number;
}

/** Pairs each of our runs with the built-in's run of the same setting, placement and N. */
export function comparisons(results: BenchResults): Comparison[] {
  const out: Comparison[] = [];
  for (const s of results.settings) {
    for (const ours of s.replicaSets.filter((r) => r.side === "ours")) {
      const builtIn = s.replicaSets.find((r) => r.side === "built-in" && r.placement === ours.placement && r.pods === ours.pods);
      if (!builtIn) continue;
      const physical = s.physical?.createPodsPerSecond;
      out.push({
        setting: s.label, placement: ours.placement, pods: ours.pods, transport: ours.transport ?? "?",
        createdRatio: ours.createdSeconds !== undefined && builtIn.createdSeconds !== undefined ? ours.createdSeconds / builtIn.createdSeconds : undefined,
        readyRatio: ours.seconds / builtIn.seconds,
        createsPerSecondRatio: ours.createsPerSecond !== undefined && builtIn.createsPerSecond !== undefined ? ours.createsPerSecond / builtIn.createsPerSecond : undefined,
        oursCreatesOfPhysical: physical && ours.createsPerSecond !== undefined ? ours.createsPerSecond / physical : undefined,
        builtInCreatesOfPhysical: physical && builtIn.createsPerSecond !== undefined ? builtIn.createsPerSecond / physical : undefined,
        maxRatio: s.oursClient.startsWith("no client-side limit") ? targets.maxTimeRatioUnlimited : targets.maxTimeRatioEqualLimits,
      });
    }
  }
  return out;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

const f1 = (n: number): string => n.toFixed(1);
const pct = (n: number | undefined): string => (n === undefined ? "n/a" : `${(n * 100).toFixed(0)} %`);
const met = (ok: boolean): string => (ok ? "met" : "MISSED");
const limit = (qps: number | undefined, burst: number | undefined): string => (qps === undefined ? "none (default)" : `${qps}/${burst ?? qps}`);

/** The report as printed on stdout. */
export function formatReport(results: BenchResults): string {
  const parts: string[] = [];
  parts.push(`kubeloop benchmark ${results.quick ? "(--quick) " : ""}${results.startedAt} → ${results.finishedAt}`);
  if (results.quick) parts.push("--quick: N = 200 takes a second or two and fits inside most client bursts: a smoke run, not rates to quote");
  parts.push(Object.entries(results.environment).map(([k, v]) => `${k}: ${v}`).join("; "));
  if (results.settings.length === 0) {
    if (results.scheduling) parts.push(formatSchedulingReport(results.scheduling));
    if (results.endpoints?.length) parts.push(formatEndpointsReport(results.endpoints));
    if (results.admission) parts.push(formatAdmissionReport(results.admission));
    if (results.errors.length > 0) parts.push(`\nERRORS:\n${results.errors.map((e) => `  ${e}`).join("\n")}`);
    return parts.join("\n") + "\n";
  }
  parts.push(`scheduler (shared by both sides when pods are not pre-bound): ${results.scheduler}`);

  parts.push("\n(a) physical limit: raw parallel pod creates, pre-bound to a kwok node, no client limit");
  parts.push(table(["cluster (kcm qps/burst)", "pods", "in flight", "create s", "create pods/s", "all Ready s", "Ready pods/s"],
    results.settings.filter((s) => s.physical).map((s) => {
      const p = s.physical!;
      return [`${s.label} (${s.kubeApiQps}/${s.kubeApiBurst})`, String(p.pods), String(p.concurrency), f1(p.createSeconds), f1(p.createPodsPerSecond), f1(p.readySeconds), f1(p.readyPodsPerSecond)];
    })));

  parts.push("\n(b) ReplicaSet 0 → N pods (clocks from the ReplicaSet's create: created = the N-th pod ADDED seen by a watch; Ready = status.readyReplicas == N)");
  parts.push("    creates/s = N / (last − first pod ADDED seen by the watch): the controller's own rate, not capped by kwok's Ready rate");
  parts.push("    syncs/pod: the replicaset work queue's items processed per pod; CPU s: process CPU during the run (ours: the operator's own process; built-in: all of kube-controller-manager)");
  parts.push("settings: " + results.settings.map((s) =>
    `${s.label}: kube-controller-manager ${s.kubeApiQps}/${s.kubeApiBurst}, kube-scheduler ${s.schedulerApiQps}/${s.schedulerApiBurst}, ours ${s.oursClient}`).join("; "));
  const side = (r: ReplicaSetResult): string => (r.side === "ours" ? `ours ${r.transport === "http1" ? "HTTP/1.1" : "HTTP/2"}` : "built-in");
  const opt = (n: number | undefined, digits = 1): string => (n === undefined ? "n/a" : n.toFixed(digits));
  parts.push(table(["setting", "placement", "N", "side", "client qps/burst", "created s", "creates/s", "of (a) create", "Ready s", "Ready pods/s", "requests/pod", "PUTs/pod", "RS Events", "syncs/pod", "CPU s"],
    results.settings.flatMap((s) => s.replicaSets.map((r) => [
      s.label, r.placement, String(r.pods), side(r), limit(r.qps, r.burst),
      opt(r.createdSeconds), opt(r.createsPerSecond), pct(s.physical && r.createsPerSecond !== undefined ? r.createsPerSecond / s.physical.createPodsPerSecond : undefined),
      f1(r.seconds), f1(r.podsPerSecond),
      r.requestsPerPod === undefined ? "n/a" : `${r.requestsPerPod.toFixed(2)}${r.side === "built-in" ? " (all kcm)" : ""}`,
      r.requestsPerPodByMethod ? (r.requestsPerPodByMethod["PUT"] ?? 0).toFixed(2) : "n/a",
      r.replicaSetEventObjects === undefined ? "n/a" : String(r.replicaSetEventObjects),
      opt(r.syncsPerPod, 2), `${opt(r.cpuSeconds)}${r.side === "built-in" ? " (all kcm)" : " (process)"}`,
    ]))));
  const withMethods = results.settings.flatMap((s) => s.replicaSets.filter((r) => r.requestsPerPodByMethod).map((r) => ({ s, r })));
  if (withMethods.length > 0) {
    parts.push("requests per pod by method: " + withMethods.map(({ s, r }) =>
      `${s.label} ${r.placement} N=${r.pods} ${side(r)}: ${Object.entries(r.requestsPerPodByMethod!).map(([m, n]) => `${m} ${n.toFixed(2)}`).join(", ")}`).join("; "));
  }

  const cmp = comparisons(results);
  parts.push(`\nours / built-in (defaults, raised: equal client limits, target ≤ ${targets.maxTimeRatioEqualLimits}; unlimited: ours without a client limit, kube-controller-manager 1000/1000, target ≤ ${targets.maxTimeRatioUnlimited})`);
  parts.push(table(["setting", "placement", "N", "ours over", "created ours/built-in", "Ready ours/built-in", "target", "creates/s ours/built-in", "ours creates of (a)", `target ≥ ${pct(targets.minFractionOfPhysical)} (raised, unlimited)`, "built-in creates of (a)"],
    cmp.map((c) => [
      c.setting, c.placement, String(c.pods), c.transport === "http1" ? "HTTP/1.1" : "HTTP/2",
      opt(c.createdRatio, 2), c.readyRatio.toFixed(2),
      `≤ ${c.maxRatio}: ${met((c.createdRatio ?? Infinity) <= c.maxRatio && c.readyRatio <= c.maxRatio)}`,
      opt(c.createsPerSecondRatio, 2), pct(c.oursCreatesOfPhysical),
      c.setting !== "defaults" && c.oursCreatesOfPhysical !== undefined ? met(c.oursCreatesOfPhysical >= targets.minFractionOfPhysical) : "-",
      pct(c.builtInCreatesOfPhysical),
    ])));

  const schedulerBound = results.settings.filter((s) => {
    const sched = s.replicaSets.filter((r) => r.placement === "scheduled");
    return sched.length >= 2 && sched.every((r) => r.podsPerSecond >= s.schedulerApiQps * 0.85 && r.podsPerSecond <= s.schedulerApiQps * 1.25);
  });
  for (const s of schedulerBound) {
    parts.push(`note: ${s.label}/scheduled: both sides reach ≈ kube-scheduler's ${s.schedulerApiQps} binds/s: the scheduler's client limit dominates; ` +
      "the prebound rows (spec.nodeName in the template, no scheduler) compare the controllers.");
  }

  parts.push("\n(c) heap bytes per cached Pod (InformerCache of one namespace's Pods, fresh process, heapUsed after gc(), before start → after sync)");
  parts.push("    pending: schedulerName none, nobody touches them; running: pre-bound to a kwok node, status filled in as a kubelet would");
  parts.push(table(["pods", "state", "managedFields", "heap Δ MiB", "KiB per pod", "JSON KiB per pod", `target ≤ ${targets.maxBytesPerPod / 1024} KiB`, `controller-runtime ≈ ${targets.controllerRuntimeBytesPerPod / 1024} KiB`],
    results.memory.map((m) => [
      String(m.pods), m.podState, m.managedFieldsStripped ? "stripped" : "kept", f1((m.heapAfter - m.heapBefore) / 2 ** 20), f1(m.bytesPerPod / 1024),
      f1(m.jsonBytesPerPod / 1024),
      m.managedFieldsStripped ? met(m.bytesPerPod <= targets.maxBytesPerPod) : "-",
      `${((m.bytesPerPod / targets.controllerRuntimeBytesPerPod) * 100).toFixed(0)} % of it`,
    ])));

  if (results.scheduling) parts.push(formatSchedulingReport(results.scheduling));
  if (results.endpoints?.length) parts.push(formatEndpointsReport(results.endpoints));
  if (results.admission) parts.push(formatAdmissionReport(results.admission));
  if (results.errors.length > 0) parts.push(`\nERRORS:\n${results.errors.map((e) => `  ${e}`).join("\n")}`);
  return parts.join("\n") + "\n";
}

/** Writes `<dir>/bench-<ISO time>.json` (colons as dashes); returns its path. */
export async function writeResults(results: BenchResults, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `bench-${results.startedAt.replace(/:/g, "-")}.json`);
  await writeFile(path, JSON.stringify({
    ...results, comparisons: comparisons(results), targets,
    ...(results.scheduling ? { schedulingComparisons: schedulingComparisons(results.scheduling), schedulingTargets } : {}),
  }, null, 2) + "\n");
  return path;
}
