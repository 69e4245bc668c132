/**
 * `npm run bench`: the benchmark (a measurement, not a test). One control plane per setting,
 * each in `/tmp/kubeloop-bench-<setting>` and stopped afterwards:
 * - `defaults`: kube-controller-manager 20/30 (upstream), kube-scheduler 50/100 (upstream), ours 20/30;
 * - `raised`: kube-controller-manager 200/300, kube-scheduler 1000/1000, ours 200/300;
 * - `unlimited`: kube-controller-manager 1000/1000, kube-scheduler 1000/1000, ours with our
 *   client's default (no client-side limit, like controller-runtime's QPS -1): neither side is
 *   held by its own client limit.
 * On each: (a) the physical limit of raw pod creates (at the largest N), (b) for each N,
 * ReplicaSet 0 → N created and Ready, ours over each transport (HTTP/2, HTTP/1.1) then the
 * built-in; on the first, (c) heap bytes per cached Pod. The load average is recorded before and
 * after. Prints a table and writes `bench-results/bench-<ISO time>.json`.
 *
 *   npm run bench [-- --quick] [--out-dir bench-results] [--settings defaults,raised,unlimited]
 *                 [--pods 1000,3000] [--transports http2,http1] [--placements scheduled,prebound]
 *                 [--http2-connections 1]
 *
 * `--quick`: N = 200 and 1k cached pods only. Exits 0 even when a target is missed; 1 when a
 * measurement failed (the others still run and are reported).
 *
 * `--suites replicaset,scheduling,endpoints` (default all three): `scheduling` is kubeloop-scheduler against
 * kube-scheduler on a control plane of its own (`scheduling.ts`), tuned by `--sched-settings
 * raised,defaults`, `--sched-parts throughput,fragmentation,competing`, `--sched-pods 1000`
 * (`--quick`: 200), `--sched-competing-gangs 50`, `--sched-seed 42`, `--sched-repeats 3`.
 *
 * `--suites admission`: the webhook server on loopback at `--adm-rate 200` requests/s for
 * `--adm-seconds 10` (p50/p99, failures), and the shipped ValidatingAdmissionPolicies evaluated
 * in-process beside kube-apiserver's own check time and `--adm-dry-runs 500` dry-run creates
 * (`admission.ts`).
 *
 * `--suites endpoints`: the Endpoints operator beside kube-controller-manager's
 * endpoints and EndpointSlice controllers (`endpoints.ts`) on a control plane per
 * `--ep-settings defaults` (kube-controller-manager's client limit per controller; ours, two
 * controllers on one client, twice that), `--ep-services 100`,
 * `--ep-pods-per-service 10`, `--ep-concurrency 10`, then the seeded randomized differential
 * e2e with `--ep-scenarios 500` (0: skip) from `--ep-seed 20261203`.
 */
import { cpus, loadavg, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { TransportProtocol } from "../../framework/client/index.ts";
import { rootLogger } from "../../framework/log/index.ts";
import { installCustomResourceDefinitions } from "../../framework/api/index.ts";
import { componentVersions } from "../../framework/testing/index.ts";
import { ReplicaSetDefinition } from "../../operators/replicaset/index.ts";
import { measurementAttempts, startBenchCluster, type BenchCluster } from "./cluster.ts";
import { measureCacheMemory } from "./memory.ts";
import { measurePhysicalLimit } from "./physical.ts";
import { runEndpointsBench, runRandomizedDifferential } from "./endpoints.ts";
import { runAdmissionBench } from "./admission.ts";
import { runBuiltIn, runOurs } from "./replicaset.ts";
import { formatReport, writeResults, type BenchResults, type SettingResults } from "./report.ts";
import { runSchedulingSuite, schedulingSettings, type SchedulingPart } from "./scheduling.ts";

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    "out-dir": { type: "string", default: fileURLToPath(new URL("../../bench-results/", import.meta.url)) },
    settings: { type: "string", default: "defaults,raised,unlimited" },
    pods: { type: "string" },
    transports: { type: "string", default: "http2,http1" },
    placements: { type: "string", default: "scheduled,prebound" },
    "http2-connections": { type: "string" },
    "skip-memory": { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
    suites: { type: "string", default: "replicaset,scheduling,endpoints,admission" },
    "adm-rate": { type: "string", default: "200" },
    "adm-seconds": { type: "string", default: "10" },
    "adm-dry-runs": { type: "string", default: "500" },
    "sched-settings": { type: "string", default: "raised,defaults" },
    "sched-parts": { type: "string", default: "throughput,fragmentation,competing" },
    "sched-pods": { type: "string" },
    "sched-competing-gangs": { type: "string", default: "50" },
    "sched-seed": { type: "string", default: "42" },
    "sched-repeats": { type: "string", default: "3" },
    "ep-settings": { type: "string", default: "defaults" },
    "ep-services": { type: "string", default: "100" },
    "ep-pods-per-service": { type: "string", default: "10" },
    "ep-concurrency": { type: "string", default: "10" },
    "ep-scenarios": { type: "string", default: "500" },
    "ep-seed": { type: "string", default: "20261203" },
  },
});
rootLogger.level = flags.verbose ? "info" : "warn";

/** `oursLimited`: ours runs at kube-controller-manager's qps/burst; else with no client-side limit. */
const settingsByLabel = {
  defaults: { label: "defaults", kubeApiQps: 20, kubeApiBurst: 30, schedulerApiQps: 50, schedulerApiBurst: 100, oursLimited: true },
  raised: { label: "raised", kubeApiQps: 200, kubeApiBurst: 300, schedulerApiQps: 1000, schedulerApiBurst: 1000, oursLimited: true },
  unlimited: { label: "unlimited", kubeApiQps: 1000, kubeApiBurst: 1000, schedulerApiQps: 1000, schedulerApiBurst: 1000, oursLimited: false },
} as const;
const wanted = flags.settings.split(",").map((s) => s.trim()).filter(Boolean);
for (const w of wanted) if (!(w in settingsByLabel)) throw new Error(`unknown --settings entry ${JSON.stringify(w)}; known: ${Object.keys(settingsByLabel).join(", ")}`);
const list = (value: string): string[] => value.split(",").map((s) => s.trim()).filter(Boolean);
const suites = list(flags.suites);
for (const s of suites) if (s !== "replicaset" && s !== "scheduling" && s !== "endpoints" && s !== "admission") throw new Error(`--suites wants replicaset, scheduling, endpoints and/or admission, got ${JSON.stringify(s)}`);
const epSettings = list(flags["ep-settings"]).map((label) => {
  if (!(label in settingsByLabel)) throw new Error(`unknown --ep-settings entry ${JSON.stringify(label)}; known: ${Object.keys(settingsByLabel).join(", ")}`);
  return settingsByLabel[label as keyof typeof settingsByLabel];
});
const settings = suites.includes("replicaset") ? wanted.map((w) => settingsByLabel[w as keyof typeof settingsByLabel]) : [];
const schedSettings = list(flags["sched-settings"]).map((label) => {
  const s = schedulingSettings[label];
  if (!s) throw new Error(`unknown --sched-settings entry ${JSON.stringify(label)}; known: ${Object.keys(schedulingSettings).join(", ")}`);
  return s;
});
const schedParts = list(flags["sched-parts"]) as SchedulingPart[];
for (const p of schedParts) if (!["throughput", "fragmentation", "competing"].includes(p)) throw new Error(`--sched-parts wants throughput, fragmentation, competing; got ${JSON.stringify(p)}`);
const podCounts = (flags.pods ? list(flags.pods) : flags.quick ? ["200"] : ["1000", "3000"]).map(Number);
for (const n of podCounts) if (!(Number.isInteger(n) && n > 0)) throw new Error(`--pods wants positive integers, got ${flags.pods}`);
const transports = list(flags.transports) as TransportProtocol[];
for (const t of transports) if (t !== "http2" && t !== "http1") throw new Error(`--transports wants http2 and/or http1, got ${JSON.stringify(t)}`);
const wantedPlacements = list(flags.placements);
const http2Connections = flags["http2-connections"] !== undefined ? Number(flags["http2-connections"]) : undefined;
const cachedPodCounts = flags.quick ? [1000] : [1000, 5000];
const maxPods = Math.max(...podCounts);

const started = Date.now();
const say = (line: string): void => {
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${line}\n`);
};

const loadAverage = (): string => loadavg().map((l) => l.toFixed(2)).join(", ");
const loadBefore = loadAverage();
say(`load average (1, 5, 15 min) before: ${loadBefore}`);

const results: BenchResults = {
  startedAt: new Date(started).toISOString(),
  finishedAt: "",
  quick: flags.quick,
  environment: {
    node: process.version,
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? "?"}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kubernetes: `${componentVersions.kubernetes}, etcd ${componentVersions.etcd}, kwok ${componentVersions.kwok}`,
    fakeNodes: suites.includes("replicaset") || suites.includes("endpoints") ? "20 × (32 CPU, 256Gi, 250 pods) + 1 tainted node for pre-bound pods (kwok)" : "see the scheduling suite",
    loadAverageBefore: loadBefore,
    loadAverageAfter: "",
  },
  scheduler: "kube-scheduler v1.36 default profile; client QPS/burst per setting (upstream 50/100)",
  settings: [],
  memory: [],
  errors: [],
};

/** Runs one measurement; a failure is recorded and the benchmark goes on. */
const attempt = measurementAttempts(say, results.errors);

for (const [index, setting] of settings.entries()) {
  const dir = `/tmp/kubeloop-bench-${setting.label}`;
  const { oursLimited, ...clusterSetting } = setting;
  const entry: SettingResults = { ...clusterSetting, oursClient: oursLimited ? "equal to kube-controller-manager" : "no client-side limit (default)", physical: undefined, replicaSets: [] };
  results.settings.push(entry);
  say(`cluster "${setting.label}": kube-controller-manager --kube-api-qps=${setting.kubeApiQps} --kube-api-burst=${setting.kubeApiBurst}, ` +
    `kube-scheduler --kube-api-qps=${setting.schedulerApiQps} --kube-api-burst=${setting.schedulerApiBurst}, in ${dir}`);
  let cluster: BenchCluster;
  try {
    cluster = await startBenchCluster({ dir, ...clusterSetting, say });
    await installCustomResourceDefinitions(cluster.admin, [ReplicaSetDefinition.crd()], { fieldManager: "kubeloop-bench" });
  } catch (err) {
    results.errors.push(`cluster ${setting.label}: ${(err as Error).stack ?? String(err)}`);
    say(`FAILED to start cluster ${setting.label}: ${(err as Error).message}`);
    continue;
  }
  try {
    entry.physical = await attempt(`(a) ${maxPods} raw pod creates, 64 in flight`, () =>
      measurePhysicalLimit(cluster, { pods: maxPods, concurrency: 64, namespace: "bench-raw" }));
    if (entry.physical) say(`    ${entry.physical.createPodsPerSecond.toFixed(1)} creates/s, all Ready at ${entry.physical.readyPodsPerSecond.toFixed(1)} pods/s`);

    if (index === 0 && !flags["skip-memory"]) {
      for (const podState of ["pending", "running"] as const) {
        const memory = await attempt(`(c) heap per cached ${podState} Pod at ${cachedPodCounts.join(", ")} pods`, () =>
          measureCacheMemory(cluster, { podCounts: cachedPodCounts, podState, namespace: `bench-memory-${podState}`, say }));
        if (memory) results.memory.push(...memory);
      }
    }

    const limits = oursLimited ? { qps: setting.kubeApiQps, burst: setting.kubeApiBurst } : { qps: undefined, burst: undefined };
    const placements = (setting.label === "defaults" ? (["scheduled"] as const) : (["scheduled", "prebound"] as const))
      .filter((p) => wantedPlacements.includes(p));
    // Every run cleans up after itself (the built-in: scale to 0, pods force-deleted) except the
    // cluster's last, left to the teardown.
    const runs = podCounts.flatMap((pods) => placements.map((placement) => ({ pods, placement })));
    for (const [runIndex, { pods, placement }] of runs.entries()) {
      const common = { pods, timeoutMs: 120_000 + pods * 300, say };
      for (const transport of transports) {
        const r = await attempt(`(b) ours over ${transport}, ${placement}, ${pods} pods, client ${oursLimited ? `${limits.qps}/${limits.burst}` : "no limit"}`, () =>
          runOurs(cluster, {
            ...common, ...limits, transport, placement, namespace: `bench-ours-${transport}-${placement}-${pods}`,
            ...(http2Connections !== undefined ? { http2Connections } : {}),
          }));
        if (r) {
          entry.replicaSets.push(r);
          say(`    created ${r.createdSeconds?.toFixed(1) ?? "?"}s (${r.createsPerSecond?.toFixed(1) ?? "?"} creates/s), Ready ${r.seconds.toFixed(1)}s, ${r.requestsPerPod?.toFixed(2)} requests/pod`);
        }
      }
      const r = await attempt(`(b) built-in, ${placement}, ${pods} pods, kube-controller-manager ${setting.kubeApiQps}/${setting.kubeApiBurst}`, () =>
        runBuiltIn(cluster, { ...common, placement, namespace: `bench-builtin-${placement}-${pods}`, cleanup: runIndex < runs.length - 1 }));
      if (r) {
        entry.replicaSets.push(r);
        say(`    created ${r.createdSeconds?.toFixed(1) ?? "?"}s (${r.createsPerSecond?.toFixed(1) ?? "?"} creates/s), Ready ${r.seconds.toFixed(1)}s`);
      }
    }
  } finally {
    say(`stopping cluster "${setting.label}"`);
    await cluster.stop().catch((err: Error) => results.errors.push(`stopping cluster ${setting.label}: ${err.message}`));
  }
}

if (suites.includes("scheduling")) {
  const schedPods = Number(flags["sched-pods"] ?? (flags.quick ? 200 : 1000));
  results.scheduling = await runSchedulingSuite("/tmp/kubeloop-bench-scheduling", {
    settings: schedSettings, parts: schedParts, pods: schedPods, gangSize: 10, throughputNodes: 100, repeats: Number(flags["sched-repeats"]),
    competingGangs: Number(flags["sched-competing-gangs"]), seed: Number(flags["sched-seed"]), say,
  });
  results.errors.push(...results.scheduling.errors);
}

if (suites.includes("endpoints")) {
  results.endpoints = [];
  for (const setting of epSettings) {
    const dir = `/tmp/kubeloop-bench-endpoints-${setting.label}`;
    const { oursLimited: _unused, ...clusterSetting } = setting;
    let cluster: BenchCluster | undefined;
    try {
      say(`Endpoints, cluster "${setting.label}" (kube-controller-manager ${setting.kubeApiQps}/${setting.kubeApiBurst} per controller, ours twice that for its two) in ${dir}`);
      cluster = await startBenchCluster({ dir, ...clusterSetting, say });
      const c = cluster;
      const r = await attempt(`Endpoints churn, ${flags["ep-services"]} Services x ${flags["ep-pods-per-service"]} pods`, () => runEndpointsBench(c, {
        setting: setting.label, namespace: "bench-endpoints", services: Number(flags["ep-services"]), podsPerService: Number(flags["ep-pods-per-service"]),
        concurrency: Number(flags["ep-concurrency"]), timeoutMs: 300_000, say,
      }));
      if (r) {
        results.endpoints.push(r);
        const scenarios = Number(flags["ep-scenarios"]);
        if (scenarios > 0) {
          r.randomized = await attempt(`Endpoints randomized differential, ${scenarios} seeded scenarios`, () =>
            runRandomizedDifferential(c, { seed: Number(flags["ep-seed"]), scenarios, say }));
          if (r.randomized?.failed) results.errors.push(`Endpoints randomized differential: ${r.randomized.failed} of ${scenarios} scenarios differ`);
        }
      }
    } catch (err) {
      results.errors.push(`Endpoints cluster ${setting.label}: ${(err as Error).stack ?? String(err)}`);
    } finally {
      await cluster?.stop().catch((err: Error) => results.errors.push(`stopping the Endpoints cluster ${setting.label}: ${err.message}`));
    }
  }
}

if (suites.includes("admission")) {
  say("Admission: webhook latency on loopback, shipped policies in-process against kube-apiserver");
  const r = await attempt("admission suite", () => runAdmissionBench({
    dir: "/tmp/kubeloop-bench-admission", rate: Number(flags["adm-rate"]), seconds: Number(flags["adm-seconds"]), dryRuns: Number(flags["adm-dry-runs"]), say,
  }));
  if (r) results.admission = r;
}

results.finishedAt = new Date().toISOString();
results.environment.loadAverageAfter = loadAverage();
say(`load average (1, 5, 15 min) after: ${results.environment.loadAverageAfter}`);
process.stdout.write(formatReport(results));
const path = await writeResults(results, flags["out-dir"]);
say(`results written to ${path}`);
process.exit(results.errors.length > 0 ? 1 : 0);
