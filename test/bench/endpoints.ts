/**
 * The Endpoints benchmark (issue 7): our Endpoints operator beside kube-controller-manager's
 * endpoints and EndpointSlice controllers, on the same Services and pods of one cluster in one
 * run. `services` Services select `podsPerService` kwok pods each (pre-bound, so kwok gives them
 * an IP and Ready). A fixed churn then changes them, `concurrency` Services at a time:
 * - `not-ready`: one pod per Service turns Ready=False (status write), then `ready`: back;
 * - `scale-up`: one pod more for half of the Services (measured from the moment the bench's own
 *   pod watch sees it Ready with an IP, so kwok's delay counts for neither side);
 * - `scale-down`: one pod fewer (grace period 0) for the other half.
 * For each change and each side: the time from the change (the bench's write returned, or the
 * new pod seen Ready) to the first watch event of that side's Endpoints object showing the
 * expected ready/not-ready counts. Writes: object changes seen by a watch on each side's
 * Endpoints and EndpointSlices (the same measure for both), and our client's non-GET requests.
 * Then a no-change resync: a fresh operator process (a new manager) lists everything and must
 * write nothing. Our operator runs in a child process (`operator-process.ts`), as
 * kube-controller-manager runs in its own, not on this process's event loop.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startOperatorProcess, type OperatorProcess } from "./operator-process.ts";
import { nonGetRequests } from "./prometheus-text.ts";
import type { KubeClient } from "../../framework/client/index.ts";
import { InformerCache } from "../../framework/cache/index.ts";
import { EndpointsResource, Pods, Services, type KubeObject, type Pod, type ResourceType } from "../../framework/meta/index.ts";
import { sleep } from "../../framework/flowcontrol/index.ts";
import { waitFor } from "../../framework/testing/index.ts";
import {
  BuiltinEndpointSlices, EndpointsDefinition, EndpointSliceDefinition, KubeloopEndpoints, KubeloopEndpointSlices,
} from "../../operators/endpoints/index.ts";
import { installCustomResourceDefinitions } from "../../framework/api/index.ts";
import { apiServerMetrics, benchPodSpec, ensureNamespace, meanRequestMs, runParallel, type BenchCluster } from "./cluster.ts";
import { latencySummary, type Latency } from "./latency.ts";

/** What one change kind measured, per side. */
export interface EndpointsChangeLatency {
  change: "not-ready" | "ready" | "scale-up" | "scale-down";
  changes: number;
  /** Milliseconds from the change to the side's Endpoints showing it: p50, p99, max. */
  ours: Latency;
  builtIn: Latency;
}

/** The Endpoints benchmark's result for one cluster setting. */
export interface EndpointsBenchResult {
  setting: string;
  /** Client limit of each of kube-controller-manager's two controllers (requests per second / burst); ours, one client for both, has twice that. */
  qps: number;
  burst: number;
  services: number;
  pods: number;
  /** Seconds from the operator's start until every Service's Endpoints of both sides hold all pods ready. */
  initialSeconds: { ours: number; builtIn: number };
  latencies: EndpointsChangeLatency[];
  /** Over the whole churn: object changes seen by watches per pod change (Endpoints + EndpointSlices). */
  objectWritesPerChange: { ours: number; builtIn: number };
  /** Our client's POST/PUT/PATCH/DELETE requests per pod change during the churn. */
  oursRequestsPerChange: number;
  /**
   * kube-apiserver's own mean milliseconds per create and update during the churn
   * (`apiserver_request_duration_seconds`): ours on our custom resources, the built-in's on core
   * Endpoints and discovery.k8s.io EndpointSlices. Tells the API server's share of each side's latency.
   */
  serverMsPerWrite: { ours: number | undefined; builtIn: number | undefined };
  /** Non-GET requests of a fresh operator over a resync with nothing to change (target 0). */
  noChangeResyncWrites: number;
  /** The seeded randomized differential run on the same cluster: scenarios passed / run (target all). */
  randomized?: { seed: number; scenarios: number; passed: number; failed: number; seconds: number };
}

interface Side {
  readonly name: "ours" | "builtIn";
  /** Ready and not-ready address counts of a Service's Endpoints, as last seen; undefined before it exists. */
  counts: Map<string, { ready: number; notReady: number }>;
  /** Object changes (add, update, delete) seen on Endpoints and EndpointSlices. */
  objectWrites: number;
  /** Waiters for a Service's counts. */
  waiters: Map<string, Array<{ want: { ready: number; notReady: number }; resolve: (atMs: number) => void }>>;
}


function countsOf(subsets: ReadonlyArray<{ addresses?: readonly unknown[] | null; notReadyAddresses?: readonly unknown[] | null }> | null | undefined) {
  let ready = 0;
  let notReady = 0;
  for (const s of subsets ?? []) {
    ready += s.addresses?.length ?? 0;
    notReady += s.notReadyAddresses?.length ?? 0;
  }
  return { ready, notReady };
}

function newSide(name: Side["name"]): Side {
  return { name, counts: new Map(), objectWrites: 0, waiters: new Map() };
}

function observe(side: Side, service: string, counts: { ready: number; notReady: number }): void {
  side.counts.set(service, counts);
  const waiting = side.waiters.get(service);
  if (!waiting) return;
  const now = performance.now();
  side.waiters.set(service, waiting.filter((w) => {
    if (w.want.ready !== counts.ready || w.want.notReady !== counts.notReady) return true;
    w.resolve(now);
    return false;
  }));
}

/** Resolves with the time (performance.now, ms) the side's Endpoints of `service` first show `want`. */
function when(side: Side, service: string, want: { ready: number; notReady: number }, timeoutMs: number): Promise<number> {
  const now = side.counts.get(service);
  if (now && now.ready === want.ready && now.notReady === want.notReady) return Promise.resolve(performance.now());
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${side.name}: Endpoints ${service} never showed ${JSON.stringify(want)} (last ${JSON.stringify(side.counts.get(service))})`)), timeoutMs);
    const list = side.waiters.get(service) ?? [];
    list.push({ want, resolve: (at) => { clearTimeout(timer); resolve(at); } });
    side.waiters.set(service, list);
  });
}

function watchSide<T extends KubeObject>(cache: InformerCache, side: Side, namespace: string, endpoints: ResourceType<T>, subsetsOf: (obj: T) => Parameters<typeof countsOf>[0], slices: ResourceType<KubeObject>): void {
  const informer = cache.informerFor(endpoints, { namespace });
  const seen = (obj: T) => observe(side, obj.metadata?.name ?? "", countsOf(subsetsOf(obj)));
  informer.addEventHandler({
    onAdd: (obj, initial) => { if (!initial) side.objectWrites++; seen(obj); },
    onUpdate: (_old, obj) => { side.objectWrites++; seen(obj); },
    onDelete: () => { side.objectWrites++; },
  });
  cache.informerFor(slices, { namespace }).addEventHandler({
    onAdd: (_obj, initial) => { if (!initial) side.objectWrites++; },
    onUpdate: () => { side.objectWrites++; },
    onDelete: () => { side.objectWrites++; },
  });
}

/** Our operator in a process of its own (`operator-process.ts`), its cache on one namespace. */
async function startOurs(cluster: BenchCluster, namespace: string, qps: number, burst: number): Promise<OperatorProcess & { requests(): Promise<number> }> {
  const child = await startOperatorProcess({ operator: "endpoints", kubeconfigPath: cluster.plane.kubeconfigPath, namespace, qps, burst });
  return { ...child, requests: async () => nonGetRequests(await child.scrape()) };
}

const podName = (svc: number, i: number) => `s${svc}-p${i}`;
const serviceName = (svc: number) => `s${svc}`;

function pod(namespace: string, svc: number, i: number): Pod {
  return {
    apiVersion: "v1", kind: "Pod",
    metadata: { name: podName(svc, i), namespace, labels: { svc: serviceName(svc), "kubeloop.dev/bench": "true" } },
    spec: { ...benchPodSpec("prebound"), containers: [{ name: "app", image: "registry.k8s.io/pause:3.10", ports: [{ name: "http", containerPort: 8080 }] }] },
  };
}

async function setReady(admin: KubeClient, namespace: string, name: string, ready: boolean): Promise<void> {
  const current = await admin.get(Pods, { namespace, name });
  const conditions = (current.status?.conditions ?? []).map((c) => (c.type === "Ready" || c.type === "ContainersReady" ? { ...c, status: ready ? "True" : "False" } : c));
  await admin.updateStatus(Pods, { ...current, status: { ...current.status, conditions } });
}

/**
 * Runs the benchmark in `namespace` of `cluster`: kube-controller-manager's endpoints and
 * EndpointSlice controllers at the cluster's client limit each, ours (both controllers on one
 * client) at twice that. @throws Error when a side never shows a change (after `timeoutMs`).
 */
export async function runEndpointsBench(cluster: BenchCluster, opts: {
  setting: string; namespace: string; services: number; podsPerService: number; concurrency: number; timeoutMs: number; say: (line: string) => void;
}): Promise<EndpointsBenchResult> {
  const { admin } = cluster;
  const { namespace, services, podsPerService } = opts;
  // kube-controller-manager gives each controller its own client at --kube-api-qps/-burst
  // (ClientBuilder.ClientOrDie per controller): the endpoints and the EndpointSlice controllers
  // have one each. Our two controllers share one manager client, so it gets both budgets.
  const qps = cluster.kubeApiQps * 2;
  const burst = cluster.kubeApiBurst * 2;
  await installCustomResourceDefinitions(admin, [EndpointsDefinition.crd(), EndpointSliceDefinition.crd()], { fieldManager: "kubeloop-bench" });
  await ensureNamespace(admin, namespace);
  const observer = new InformerCache(admin, { defaultNamespace: namespace });
  const ours = newSide("ours");
  const builtIn = newSide("builtIn");
  watchSide(observer, ours, namespace, KubeloopEndpoints, (e) => e.spec.subsets, KubeloopEndpointSlices as unknown as ResourceType<KubeObject>);
  watchSide(observer, builtIn, namespace, EndpointsResource, (e) => e.subsets, BuiltinEndpointSlices as unknown as ResourceType<KubeObject>);
  /** When the bench's pod watch saw each pod Ready with an IP (performance.now, ms). */
  const readyAt = new Map<string, number>();
  const podsInformer = observer.informerFor(Pods, { namespace });
  const noteReady = (p: Pod) => {
    const ready = p.status?.podIP && p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True");
    if (ready && !readyAt.has(p.metadata!.name!)) readyAt.set(p.metadata!.name!, performance.now());
  };
  podsInformer.addEventHandler({ onAdd: (p) => noteReady(p as Pod), onUpdate: (_o, p) => noteReady(p as Pod) });
  const stopObserver = new AbortController();
  observer.start(stopObserver.signal);
  let op: Awaited<ReturnType<typeof startOurs>> | undefined;
  try {
    opts.say(`    ${services} Services x ${podsPerService} pods (kwok, pre-bound)`);
    await runParallel(services, 16, async (s) => {
      await admin.create(Services, {
        apiVersion: "v1", kind: "Service", metadata: { name: serviceName(s), namespace },
        spec: { selector: { svc: serviceName(s) }, ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }] },
      });
    });
    await runParallel(services * podsPerService, 32, async (i) => {
      await admin.create(Pods, pod(namespace, Math.floor(i / podsPerService), i % podsPerService));
    });
    await waitFor(async () => readyAt.size >= services * podsPerService || undefined, { timeoutMs: opts.timeoutMs, description: "every pod Ready with an IP" });
    const full = { ready: podsPerService, notReady: 0 };
    const builtInStart = performance.now();
    await Promise.all(Array.from({ length: services }, (_, s) => when(builtIn, serviceName(s), full, opts.timeoutMs)));
    const builtInSeconds = (performance.now() - builtInStart) / 1000;
    const oursStart = performance.now();
    op = await startOurs(cluster, namespace, qps, burst);
    await Promise.all(Array.from({ length: services }, (_, s) => when(ours, serviceName(s), full, opts.timeoutMs)));
    const oursSeconds = (performance.now() - oursStart) / 1000;
    opts.say(`    initial: ours ${oursSeconds.toFixed(1)} s from its start to all ${services} Endpoints complete (built-in had them ${builtInSeconds.toFixed(1)} s after the pods were Ready)`);
    await sleep(2_000);

    const writesBefore = { ours: ours.objectWrites, builtIn: builtIn.objectWrites, requests: await op.requests() };
    const serverBefore = await apiServerMetrics(cluster.kubeConfig);
    const latencies: EndpointsChangeLatency[] = [];
    const counts = new Map<number, { ready: number; notReady: number }>(Array.from({ length: services }, (_, s) => [s, { ...full }]));
    let changes = 0;
    const measure = async (change: EndpointsChangeLatency["change"], targets: number[], apply: (s: number) => Promise<{ t0: number; want: { ready: number; notReady: number } }>) => {
      const o: number[] = [];
      const b: number[] = [];
      await runParallel(targets.length, opts.concurrency, async (k) => {
        const s = targets[k]!;
        const { t0, want } = await apply(s);
        counts.set(s, want);
        const [to, tb] = await Promise.all([when(ours, serviceName(s), want, opts.timeoutMs), when(builtIn, serviceName(s), want, opts.timeoutMs)]);
        o.push(Math.max(0, to - t0));
        b.push(Math.max(0, tb - t0));
      });
      changes += targets.length;
      latencies.push({ change, changes: targets.length, ours: latencySummary(o), builtIn: latencySummary(b) });
      const last = latencies[latencies.length - 1]!;
      opts.say(`    ${change}: ${targets.length} changes; ours p50 ${last.ours.p50.toFixed(0)} / p99 ${last.ours.p99.toFixed(0)} ms, built-in p50 ${last.builtIn.p50.toFixed(0)} / p99 ${last.builtIn.p99.toFixed(0)} ms`);
    };
    const all = Array.from({ length: services }, (_, s) => s);
    await measure("not-ready", all, async (s) => {
      await setReady(admin, namespace, podName(s, 0), false);
      const t0 = performance.now();
      const c = counts.get(s)!;
      return { t0, want: { ready: c.ready - 1, notReady: c.notReady + 1 } };
    });
    await measure("ready", all, async (s) => {
      await setReady(admin, namespace, podName(s, 0), true);
      const t0 = performance.now();
      const c = counts.get(s)!;
      return { t0, want: { ready: c.ready + 1, notReady: c.notReady - 1 } };
    });
    const half = Math.floor(services / 2);
    await measure("scale-up", all.slice(0, half), async (s) => {
      const name = podName(s, podsPerService);
      await admin.create(Pods, pod(namespace, s, podsPerService));
      await waitFor(async () => readyAt.has(name) || undefined, { timeoutMs: opts.timeoutMs, intervalMs: 5, description: `${name} Ready` });
      const c = counts.get(s)!;
      return { t0: readyAt.get(name)!, want: { ready: c.ready + 1, notReady: c.notReady } };
    });
    await measure("scale-down", all.slice(half), async (s) => {
      await admin.delete(Pods, { namespace, name: podName(s, podsPerService - 1) }, { gracePeriodSeconds: 0 });
      const t0 = performance.now();
      const c = counts.get(s)!;
      return { t0, want: { ready: c.ready - 1, notReady: c.notReady } };
    });
    await sleep(2_000);
    const objectWritesPerChange = {
      ours: (ours.objectWrites - writesBefore.ours) / changes,
      builtIn: (builtIn.objectWrites - writesBefore.builtIn) / changes,
    };
    const serverAfter = await apiServerMetrics(cluster.kubeConfig);
    const writes = (endpointsGroup: string, slicesGroup: string) => ["PUT", "POST"].flatMap((verb) => [
      { group: endpointsGroup, resource: "endpoints", verb }, { group: slicesGroup, resource: "endpointslices", verb },
    ]);
    const serverMsPerWrite = {
      ours: meanRequestMs(serverBefore, serverAfter, writes(EndpointsDefinition.options.group, EndpointSliceDefinition.options.group)),
      builtIn: meanRequestMs(serverBefore, serverAfter, writes("", "discovery.k8s.io")),
    };
    const oursRequestsPerChange = ((await op.requests()) - writesBefore.requests) / changes;
    await op.stop();
    op = undefined;

    // A fresh operator over an unchanged namespace: it lists everything and must write nothing.
    const fresh = await startOurs(cluster, namespace, qps, burst);
    await sleep(10_000);
    const noChangeResyncWrites = await fresh.requests();
    await fresh.stop();
    opts.say(`    writes per change (objects changed, seen by watches): ours ${objectWritesPerChange.ours.toFixed(2)}, built-in ${objectWritesPerChange.builtIn.toFixed(2)}; ours ${oursRequestsPerChange.toFixed(2)} write requests per change; a fresh operator over unchanged Services wrote ${noChangeResyncWrites}`);
    return {
      setting: opts.setting, qps: cluster.kubeApiQps, burst: cluster.kubeApiBurst, services, pods: services * podsPerService,
      initialSeconds: { ours: oursSeconds, builtIn: builtInSeconds }, latencies, objectWritesPerChange, oursRequestsPerChange, serverMsPerWrite, noChangeResyncWrites,
    };
  } finally {
    await op?.stop();
    stopObserver.abort();
  }
}

/** The Endpoints section of the report: one block per setting, ratios ours / built-in, and the targets. */
export function formatEndpointsReport(results: readonly EndpointsBenchResult[]): string {
  const lines = ["\nEndpoints: ours (discovery.kubeloop.dev) beside kube-controller-manager's endpoints + EndpointSlice controllers, same Services and pods, same run"];
  for (const r of results) {
    lines.push(`  ${r.setting} (kube-controller-manager ${r.qps}/${r.burst} per controller, ours ${r.qps * 2}/${r.burst * 2} for its two), ${r.services} Services, ${r.pods} pods; initial: ours ${r.initialSeconds.ours.toFixed(1)} s from start, built-in ${r.initialSeconds.builtIn.toFixed(1)} s after the pods were Ready`);
    lines.push("  change      n    ours p50/p99 ms   built-in p50/p99 ms   p99 ratio");
    for (const l of r.latencies) {
      lines.push(`  ${l.change.padEnd(10)} ${String(l.changes).padStart(3)}   ${l.ours.p50.toFixed(0).padStart(5)} / ${l.ours.p99.toFixed(0).padEnd(6)}    ${l.builtIn.p50.toFixed(0).padStart(5)} / ${l.builtIn.p99.toFixed(0).padEnd(6)}        ${(l.ours.p99 / l.builtIn.p99).toFixed(2)}`);
    }
    lines.push(`  object writes per change (seen by watches): ours ${r.objectWritesPerChange.ours.toFixed(2)}, built-in ${r.objectWritesPerChange.builtIn.toFixed(2)}; our write requests per change ${r.oursRequestsPerChange.toFixed(2)}`);
    const ms = (v: number | undefined) => (v === undefined ? "-" : `${v.toFixed(1)} ms`);
    lines.push(`  kube-apiserver's own time per create/update during the churn: ours ${ms(r.serverMsPerWrite.ours)} (custom resources), built-in ${ms(r.serverMsPerWrite.builtIn)} (core Endpoints, EndpointSlices)`);
    lines.push(`  no-change resync (a fresh operator): ${r.noChangeResyncWrites} writes`);
    if (r.randomized) lines.push(`  randomized differential (seed ${r.randomized.seed}): ${r.randomized.passed} of ${r.randomized.scenarios} scenarios equal kube-controller-manager's after every step, ${r.randomized.failed} differ (${r.randomized.seconds.toFixed(0)} s)`);
    const worstP99 = Math.max(...r.latencies.map((l) => l.ours.p99 / l.builtIn.p99));
    lines.push(`  targets: p99 ours / built-in <= 1.0: ${worstP99 <= 1 ? "met" : "MISSED"} (worst ${worstP99.toFixed(2)}); writes per change ours <= built-in: ${r.objectWritesPerChange.ours <= r.objectWritesPerChange.builtIn ? "met" : "MISSED"}; 0 writes on a no-op resync: ${r.noChangeResyncWrites === 0 ? "met" : "MISSED"}`);
  }
  return lines.join("\n");
}

const RANDOMIZED_TEST = fileURLToPath(new URL("../e2e/operators/endpoints/randomized.test.ts", import.meta.url));

/**
 * The seeded randomized differential e2e (`randomized.test.ts`: after every step of a random
 * scenario ours equal kube-controller-manager's in canonical form) with `scenarios` scenarios,
 * run as a child `node --test` against `cluster`. Resolves with the pass/fail counts the test
 * runner reports.
 */
export async function runRandomizedDifferential(cluster: BenchCluster, opts: { seed: number; scenarios: number; say: (line: string) => void }): Promise<NonNullable<EndpointsBenchResult["randomized"]>> {
  const started = performance.now();
  const child = spawn(process.execPath, ["--test", "--test-reporter=spec", RANDOMIZED_TEST], {
    env: { ...process.env, KUBECONFIG: cluster.plane.kubeconfigPath, KUBELOOP_CLUSTER_DIR: "", KUBELOOP_EP_SEED: String(opts.seed), KUBELOOP_EP_SCENARIOS: String(opts.scenarios) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (c: Buffer) => { out += c.toString("utf8"); });
  child.stderr.on("data", (c: Buffer) => { out += c.toString("utf8"); });
  await new Promise((resolve) => child.on("exit", resolve));
  const count = (label: string) => Number(new RegExp(`^ℹ ${label} (\\d+)$`, "m").exec(out)?.[1] ?? "NaN");
  const result = { seed: opts.seed, scenarios: opts.scenarios, passed: count("pass"), failed: count("fail"), seconds: (performance.now() - started) / 1000 };
  if (!Number.isFinite(result.passed)) throw new Error(`the randomized differential run printed no summary:\n${out.slice(-3000)}`);
  if (result.failed > 0) opts.say(`    randomized: failures:\n${out.split("\n").filter((l) => l.startsWith("✖") || l.includes("AssertionError")).slice(0, 20).join("\n")}`);
  return result;
}
