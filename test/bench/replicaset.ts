/**
 * (b) ReplicaSet 0 → N pods Ready: our operator (a Manager with the ReplicaSet controller in this
 * process, its client limited to `qps`/`burst`, over HTTP/2 or HTTP/1.1) against
 * kube-controller-manager's built-in apps/v1 ReplicaSet controller, on the same control plane and
 * fake nodes. Two clocks, both started at the ReplicaSet's create:
 * - created: a watch of the namespace's pods (the admin client, started before) sees the N-th
 *   pod ADDED; the creates/s of the controller is N / (last ADDED − first ADDED), which kwok's
 *   Ready rate does not cap;
 * - Ready: a GET shows `status.readyReplicas == N` (polled every 200 ms by the admin client, the
 *   same way on both sides).
 */
import { isNotFound, type KubeClient, type TransportProtocol } from "../../framework/client/index.ts";
import { AppsReplicaSets, Events, type KubeObject, type ResourceType } from "../../framework/meta/index.ts";
import { waitFor } from "../../framework/testing/index.ts";
import { ReplicaSets, type ReplicaSet } from "../../operators/replicaset/index.ts";
import { sleep } from "../../framework/flowcontrol/index.ts";
import { benchPodSpec, deleteAllPods, ensureNamespace, followPods, type BenchCluster, type Placement } from "./cluster.ts";
import { startOperatorProcess } from "./operator-process.ts";
import { fetchMetricsText, requestsByMethod, sumSamples } from "./prometheus-text.ts";

/** Which controller reconciled. */
export type ReplicaSetSide = "ours" | "built-in";

/** What one ReplicaSet run measured. */
export interface ReplicaSetResult {
  side: ReplicaSetSide;
  pods: number;
  placement: Placement;
  /**
   * Client limit of the side that ran: ours from `createClient`, the built-in's from
   * kube-controller-manager's flags. Undefined (ours only): no client-side limit, our client's
   * default (like controller-runtime's QPS -1).
   */
  qps: number | undefined;
  burst: number | undefined;
  /** Ours: the client's wire protocol; the built-in: undefined (client-go, HTTP/2). */
  transport: TransportProtocol | undefined;
  /** ReplicaSet created → the N-th pod ADDED seen by a watch. */
  createdSeconds: number | undefined;
  /** N / (last pod ADDED − first pod ADDED), as seen by a watch: the controller's own create rate. */
  createsPerSecond: number | undefined;
  /** ReplicaSet created → `status.readyReplicas == N`. */
  seconds: number;
  podsPerSecond: number;
  /** API requests per pod: ours from our client's `rest_client_requests_total`; built-in from kube-controller-manager's, all its controllers together (approximate). */
  requestsPerPod: number | undefined;
  /** Requests per pod by HTTP method (built-in: all of kube-controller-manager's controllers). */
  requestsPerPodByMethod: Record<string, number> | undefined;
  /** Event objects about the ReplicaSet in its namespace once all pods were Ready (each one POST or more). */
  replicaSetEventObjects: number | undefined;
  /**
   * Syncs (reconciles) of the ReplicaSet controller during the run, per pod: the `replicaset` work
   * queue's `workqueue_work_duration_seconds_count`, which kube-controller-manager and ours both
   * export; undefined when it cannot be read.
   */
  syncsPerPod: number | undefined;
  /**
   * CPU seconds of the controller's process during the run (`process_cpu_seconds_total`): ours is
   * this benchmark process (it also runs the pod watch that times the run), the built-in all of
   * kube-controller-manager; undefined when it cannot be read.
   */
  cpuSeconds: number | undefined;
}

/** Common options of a run. */
export interface ReplicaSetRunOptions {
  pods: number;
  namespace: string;
  placement: Placement;
  timeoutMs: number;
  say: (line: string) => void;
}

function template(app: string, placement: Placement) {
  return { metadata: { labels: { app, "kubeloop.dev/bench": "true" } }, spec: benchPodSpec(placement) };
}

/** Polls the ReplicaSet until `status.readyReplicas` reaches `pods`; the seconds since `started`. */
async function waitAllReady<T extends KubeObject & { status?: { readyReplicas?: number } }>(
  admin: KubeClient, type: ResourceType<T>, key: { namespace: string; name: string }, pods: number, started: number, opts: ReplicaSetRunOptions,
): Promise<number> {
  let lastReady = -1;
  let lastSaid = performance.now();
  await waitFor(async () => {
    const ready = (await admin.get(type, key)).status?.readyReplicas ?? 0;
    if (performance.now() - lastSaid > 10_000 && ready !== lastReady) {
      opts.say(`    ${ready}/${pods} ready after ${((performance.now() - started) / 1000).toFixed(0)}s`);
      lastSaid = performance.now();
    }
    lastReady = ready;
    return ready >= pods || undefined;
  }, { timeoutMs: opts.timeoutMs, intervalMs: 200, description: `${type.kind} ${key.namespace}/${key.name} to have ${pods} ready replicas` });
  return (performance.now() - started) / 1000;
}

/** When a watch saw pods ADDED: first and last, and how many. */
interface CreateWatch {
  firstMs: number | undefined;
  lastMs: number | undefined;
  count: number;
  stop(): void;
}

/** Watches the pods of `namespace` from now on, timing each new pod's ADDED event (performance.now). */
async function watchPodCreates(admin: KubeClient, namespace: string): Promise<CreateWatch> {
  const seen = new Set<string | undefined>();
  const watch: CreateWatch = { firstMs: undefined, lastMs: undefined, count: 0, stop: () => {} };
  const follow = await followPods(admin, namespace, "pod watch", {
    onListed: (pods) => { for (const p of pods) seen.add(p.metadata?.name); },
    onEvent: (type, pod) => {
      if (type !== "ADDED" || seen.has(pod.metadata?.name)) return;
      seen.add(pod.metadata?.name);
      const now = performance.now();
      watch.firstMs ??= now;
      watch.lastMs = now;
      watch.count++;
    },
  });
  watch.stop = follow.stop;
  return watch;
}

/** The created clock of a run: seconds from `started` to the N-th ADDED, and N / (last − first ADDED). */
function createdTimes(watch: CreateWatch, pods: number, started: number): { createdSeconds: number | undefined; createsPerSecond: number | undefined } {
  if (watch.count < pods || watch.firstMs === undefined || watch.lastMs === undefined) return { createdSeconds: undefined, createsPerSecond: undefined };
  const spanMs = watch.lastMs - watch.firstMs;
  return { createdSeconds: (watch.lastMs - started) / 1000, createsPerSecond: spanMs > 0 ? pods / (spanMs / 1000) : undefined };
}

/** Event objects whose `regarding` is the ReplicaSet `name` (any group); undefined when they cannot be listed. */
async function replicaSetEvents(admin: KubeClient, namespace: string, name: string): Promise<number | undefined> {
  try {
    const events = (await admin.list(Events, { namespace })).items;
    return events.filter((e) => e.regarding?.kind === "ReplicaSet" && e.regarding.name === name).length;
  } catch {
    return undefined;
  }
}

/** One scrape of a Prometheus text exposition. */
type Scrape = string;


/** What a run reports from the scrapes of the controller's metrics before and after it. */
function scrapeDeltas(before: Scrape | undefined, after: Scrape | undefined, pods: number): Pick<ReplicaSetResult, "requestsPerPod" | "requestsPerPodByMethod" | "syncsPerPod" | "cpuSeconds"> {
  if (before === undefined || after === undefined) return { requestsPerPod: undefined, requestsPerPodByMethod: undefined, syncsPerPod: undefined, cpuSeconds: undefined };
  const was = requestsByMethod(before);
  const byMethod: Record<string, number> = {};
  let total = 0;
  for (const [method, count] of requestsByMethod(after)) {
    const delta = count - (was.get(method) ?? 0);
    if (delta > 0) byMethod[method] = delta / pods;
    total += delta;
  }
  const syncs = (s: Scrape) => sumSamples(s, "workqueue_work_duration_seconds_count", { name: "replicaset" });
  const cpu = (s: Scrape) => sumSamples(s, "process_cpu_seconds_total");
  return {
    requestsPerPod: total / pods, requestsPerPodByMethod: byMethod,
    syncsPerPod: (syncs(after) - syncs(before)) / pods, cpuSeconds: cpu(after) - cpu(before),
  };
}

/**
 * Our operator: a fresh Manager with the ReplicaSet controller (5 workers, like
 * `--concurrent-replicaset-syncs`) in a process of its own (`operator-process.ts`), as
 * kube-controller-manager runs in its own, its client limited to `qps`/`burst`, or with our
 * client's default (no client-side limit) when they are undefined. Afterwards the process is
 * stopped and the pods and the ReplicaSet deleted.
 */
export async function runOurs(
  cluster: BenchCluster, opts: ReplicaSetRunOptions & { qps: number | undefined; burst: number | undefined; transport: TransportProtocol; http2Connections?: number },
): Promise<ReplicaSetResult> {
  const { admin } = cluster;
  await ensureNamespace(admin, opts.namespace);
  const key = { namespace: opts.namespace, name: "ours" };
  let creates: CreateWatch | undefined;
  const ours = await startOperatorProcess({
    operator: "replicaset", kubeconfigPath: cluster.plane.kubeconfigPath, transport: opts.transport,
    ...(opts.http2Connections !== undefined ? { http2Connections: opts.http2Connections } : {}),
    ...(opts.qps !== undefined ? { qps: opts.qps } : {}),
    ...(opts.burst !== undefined ? { burst: opts.burst } : {}),
  });
  try {
    await sleep(1_000); // let the controller's workers start
    creates = await watchPodCreates(admin, opts.namespace);
    const before = await ours.scrape();
    const started = performance.now();
    const rs: ReplicaSet = {
      apiVersion: `${ReplicaSets.group}/${ReplicaSets.version}`, kind: ReplicaSets.kind,
      metadata: key,
      spec: { replicas: opts.pods, minReadySeconds: 0, selector: { matchLabels: { app: "ours" } }, template: template("ours", opts.placement) },
    };
    await admin.create(ReplicaSets, rs);
    const seconds = await waitAllReady(admin, ReplicaSets, key, opts.pods, started, opts);
    const after = await ours.scrape();
    return {
      side: "ours", pods: opts.pods, placement: opts.placement, qps: opts.qps, burst: opts.burst, transport: opts.transport,
      ...createdTimes(creates, opts.pods, started),
      seconds, podsPerSecond: opts.pods / seconds, ...scrapeDeltas(before, after, opts.pods),
      replicaSetEventObjects: await replicaSetEvents(admin, opts.namespace, key.name),
    };
  } finally {
    creates?.stop();
    await ours.stop();
    await deleteAllPods(admin, opts.namespace);
    await admin.delete(ReplicaSets, key).catch((err) => { if (!isNotFound(err)) throw err; });
    await sleep(3_000);
  }
}

/**
 * kube-controller-manager's apps/v1 ReplicaSet controller. With `cleanup`, the ReplicaSet is
 * scaled to 0, its pods force-deleted and the ReplicaSet deleted once its status shows 0 replicas;
 * without, everything is left for the cluster's teardown.
 */
export async function runBuiltIn(cluster: BenchCluster, opts: ReplicaSetRunOptions & { cleanup: boolean }): Promise<ReplicaSetResult> {
  const { admin } = cluster;
  await ensureNamespace(admin, opts.namespace);
  const key = { namespace: opts.namespace, name: "builtin" };
  let creates: CreateWatch | undefined;
  try {
    creates = await watchPodCreates(admin, opts.namespace);
    const before = await kubeControllerManagerMetrics(cluster);
    const started = performance.now();
    await admin.create(AppsReplicaSets, {
      apiVersion: "apps/v1", kind: "ReplicaSet", metadata: key,
      spec: { replicas: opts.pods, selector: { matchLabels: { app: "builtin" } }, template: template("builtin", opts.placement) },
    });
    const seconds = await waitAllReady(admin, AppsReplicaSets, key, opts.pods, started, opts);
    const after = await kubeControllerManagerMetrics(cluster);
    return {
      side: "built-in", pods: opts.pods, placement: opts.placement, qps: cluster.kubeApiQps, burst: cluster.kubeApiBurst, transport: undefined,
      ...createdTimes(creates, opts.pods, started),
      seconds, podsPerSecond: opts.pods / seconds, ...scrapeDeltas(before, after, opts.pods),
      replicaSetEventObjects: await replicaSetEvents(admin, opts.namespace, key.name),
    };
  } finally {
    creates?.stop();
    if (opts.cleanup) {
      await admin.patch(AppsReplicaSets, key, { type: "merge", body: { spec: { replicas: 0 } } });
      await deleteAllPods(admin, opts.namespace);
      await waitFor(async () => {
        const rs = await admin.get(AppsReplicaSets, key);
        return (rs.status?.replicas === 0 && (rs.status.observedGeneration ?? 0) >= (rs.metadata?.generation ?? 0)) || undefined;
      }, { timeoutMs: 300_000, intervalMs: 500, description: `apps/v1 ReplicaSet ${key.namespace}/${key.name} to report 0 replicas` });
      await admin.delete(AppsReplicaSets, key);
      await sleep(3_000);
    }
  }
}

/**
 * One scrape of kube-controller-manager's `/metrics` (every controller), read on 127.0.0.1 (the harness allows /metrics without authorization); undefined when
 * it cannot be read.
 */
async function kubeControllerManagerMetrics(cluster: BenchCluster): Promise<Scrape | undefined> {
  const kcm = cluster.plane.processes.find((p) => p.name === "kube-controller-manager");
  if (!kcm) return undefined;
  const url = new URL("/metrics", kcm.healthUrl);
  if (url.hostname !== "127.0.0.1") return undefined;
  return fetchMetricsText(url, { rejectUnauthorized: false });
}
