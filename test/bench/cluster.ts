/**
 * The benchmark's cluster: a local control plane per setting (kube-controller-manager client
 * limits), fake nodes run by kwok, namespaces, and fast parallel pod creates and deletes that the
 * measurements share. Everything talks to 127.0.0.1 only.
 */
import { rm } from "node:fs/promises";
import type { RequestOptions } from "node:https";
import { createClient, isAlreadyExists, isNotFound, KubeConfig, type KubeClient } from "../../framework/client/index.ts";
import { Namespaces, Pods, ServiceAccounts, type Pod } from "../../framework/meta/index.ts";
import { createFakeNodes, startControlPlane, waitFor, type ControlPlane } from "../../framework/testing/index.ts";
import { fetchMetricsText, sumSamples } from "./prometheus-text.ts";

/** The fake node pre-bound pods go to: tainted so that kube-scheduler never picks it. */
export const PREBOUND_NODE = "bench-prebound";
const PREBOUND_TAINT = { key: "kubeloop.dev/bench-prebound", value: "true", effect: "NoSchedule" } as const;

/** Fake nodes the scheduler spreads ReplicaSet pods over: 20 × 250 pods. */
export const SCHEDULABLE_NODES = { count: 20, cpu: "32", memory: "256Gi", pods: 250 } as const;

/** A running benchmark cluster and an unthrottled admin client to it. */
export interface BenchCluster {
  plane: ControlPlane;
  kubeConfig: KubeConfig;
  /** No client-side limit: for setup, cleanup, polling and the raw-create measurement. */
  admin: KubeClient;
  /** kube-controller-manager `--kube-api-qps` / `--kube-api-burst` this cluster runs with. */
  kubeApiQps: number;
  kubeApiBurst: number;
  /** kube-scheduler `--kube-api-qps` / `--kube-api-burst` this cluster runs with. */
  schedulerApiQps: number;
  schedulerApiBurst: number;
  stop(): Promise<void>;
}

/**
 * Starts a control plane in `dir` (wiped first) with kube-controller-manager limited to
 * `kubeApiQps`/`kubeApiBurst` and kube-scheduler to `schedulerApiQps`/`schedulerApiBurst`,
 * 20 schedulable fake nodes and one tainted node for pre-bound pods.
 * @throws Error when a component or a node does not come up.
 */
export async function startBenchCluster(opts: {
  dir: string;
  kubeApiQps: number;
  kubeApiBurst: number;
  schedulerApiQps: number;
  schedulerApiBurst: number;
  say: (line: string) => void;
}): Promise<BenchCluster> {
  await rm(opts.dir, { recursive: true, force: true });
  const plane = await startControlPlane({
    dir: opts.dir,
    kubeApiQps: opts.kubeApiQps,
    kubeApiBurst: opts.kubeApiBurst,
    schedulerApiQps: opts.schedulerApiQps,
    schedulerApiBurst: opts.schedulerApiBurst,
    onProgress: (line) => opts.say(`  ${line}`),
  });
  try {
    await createFakeNodes(plane.kubeconfigPath, { ...SCHEDULABLE_NODES, namePrefix: "bench-node-" });
    await createFakeNodes(plane.kubeconfigPath, [{ name: PREBOUND_NODE, cpu: "1000", memory: "4Ti", pods: 10_000, taints: [{ ...PREBOUND_TAINT }] }]);
  } catch (err) {
    await plane.stop({ removeData: true }).catch(() => {});
    throw err;
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(plane.kubeconfigPath);
  const admin = createClient({ kubeConfig });
  return {
    plane, kubeConfig, admin, kubeApiQps: opts.kubeApiQps, kubeApiBurst: opts.kubeApiBurst,
    schedulerApiQps: opts.schedulerApiQps, schedulerApiBurst: opts.schedulerApiBurst,
    async stop() {
      admin.close();
      await plane.stop({ removeData: true });
      await rm(opts.dir, { recursive: true, force: true });
    },
  };
}

/** Creates `name` (if needed) and waits for its `default` ServiceAccount, without which pods are refused. */
export async function ensureNamespace(client: KubeClient, name: string): Promise<void> {
  try {
    await client.create(Namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
  await waitFor(() => client.get(ServiceAccounts, { namespace: name, name: "default" }), {
    timeoutMs: 60_000, description: `ServiceAccount ${name}/default`,
  });
}

/** How pods of a measurement are placed. */
export type Placement = "scheduled" | "prebound" | "unschedulable";

/** The pod spec every measurement uses: one cheap container; placement as asked. */
export function benchPodSpec(placement: Placement): NonNullable<Pod["spec"]> {
  return {
    containers: [{
      name: "app",
      image: "registry.k8s.io/pause:3.10",
      resources: { requests: { cpu: "10m", memory: "16Mi" } },
    }],
    terminationGracePeriodSeconds: 0,
    ...(placement === "prebound" ? { nodeName: PREBOUND_NODE, tolerations: [{ ...PREBOUND_TAINT, operator: "Equal" }] } : {}),
    ...(placement === "unschedulable" ? { schedulerName: "none" } : {}),
  };
}

/**
 * Lists the pods of `namespace`, hands them to `onListed`, then watches from the list's
 * resourceVersion and hands every event's pod to `onEvent` with its type, until `stop()`; a watch
 * that breaks is resumed from the last resourceVersion (said on stderr as `<what> broke`).
 * The benchmark's own clock for creates and binds (performance.now at each event).
 */
export async function followPods(admin: KubeClient, namespace: string, what: string, handlers: {
  onListed?: (pods: Pod[]) => void; onEvent: (type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK", pod: Pod) => void;
}): Promise<{ stop(): void }> {
  const list = await admin.list(Pods, { namespace });
  handlers.onListed?.(list.items);
  const stop = new AbortController();
  void (async () => {
    let resourceVersion = list.metadata.resourceVersion!;
    while (!stop.signal.aborted) {
      try {
        for await (const event of admin.watch(Pods, { namespace, resourceVersion, signal: stop.signal, timeoutSeconds: 600 })) {
          if (event.type === "ERROR") throw new Error(`pod watch: ${event.object.message}`);
          resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion;
          handlers.onEvent(event.type, event.object);
        }
      } catch (err) {
        if (!stop.signal.aborted) process.stderr.write(`    ${what} broke (${(err as Error).message}); watching again\n`);
      }
    }
  })();
  return { stop: () => stop.abort() };
}

/**
 * `attempt(what, run)` for a benchmark: says `what` and runs one measurement; a failure is said
 * and recorded in `errors` (message and stack), and resolves undefined, so the benchmark goes on.
 */
export function measurementAttempts(say: (line: string) => void, errors: string[]): <T>(what: string, run: () => Promise<T>) => Promise<T | undefined> {
  return async (what, run) => {
    say(what);
    try {
      return await run();
    } catch (err) {
      const message = `${what}: ${(err as Error).stack ?? String(err)}`;
      say(`FAILED ${message}`);
      errors.push(message);
      return undefined;
    }
  };
}

/** Runs `work(i)` for i in [0, count) with at most `concurrency` in flight; rejects on the first failure. */
export async function runParallel(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      await work(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** Creates pods `<prefix>-<offset..offset+count)` in `namespace`, `concurrency` at a time. */
export async function createPods(client: KubeClient, opts: {
  namespace: string; prefix: string; count: number; offset?: number; concurrency: number; placement: Placement;
}): Promise<void> {
  const offset = opts.offset ?? 0;
  const spec = benchPodSpec(opts.placement);
  await runParallel(opts.count, opts.concurrency, async (i) => {
    await client.create(Pods, {
      apiVersion: "v1", kind: "Pod",
      metadata: { name: `${opts.prefix}-${offset + i}`, namespace: opts.namespace, labels: { app: opts.prefix, "kubeloop.dev/bench": "true" } },
      spec,
    });
  });
}

/**
 * Deletes every pod of `namespace` at once (grace period 0, 64 in flight) until none is left:
 * what `kubectl delete --grace-period=0 --force` does, so neither kwok nor a controller is
 * waited for. @throws WaitTimeoutError when pods remain after 5 minutes.
 */
export async function deleteAllPods(client: KubeClient, namespace: string): Promise<void> {
  await waitFor(async () => {
    const pods = (await client.list(Pods, { namespace })).items;
    if (pods.length === 0) return true;
    await runParallel(pods.length, 64, async (i) => {
      try {
        await client.delete(Pods, { namespace, name: pods[i]!.metadata!.name! }, { gracePeriodSeconds: 0 });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    });
    return undefined;
  }, { timeoutMs: 300_000, intervalMs: 500, description: `every pod of namespace ${namespace} to be deleted` });
}

/**
 * kube-apiserver's `/metrics` text, read with the kubeconfig's credentials, for its own request
 * durations (`apiserver_request_duration_seconds`: from the request's arrival to the response,
 * server side), so a benchmark can tell the API server's time from a client's.
 *
 * @throws Error when `/metrics` does not answer 200.
 */
export async function apiServerMetrics(kubeConfig: KubeConfig): Promise<string> {
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new Error("the kubeconfig names no server");
  const options: RequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(options);
  const text = await fetchMetricsText(new URL("/metrics", server), options);
  if (text === undefined) throw new Error(`GET ${server}/metrics did not answer 200`);
  return text;
}

/**
 * Mean server-side milliseconds per request between two `apiServerMetrics` texts, over the
 * requests whose `group`, `resource` and `verb` labels match one of `requests` (core group "");
 * dry-run requests are left out. Undefined when none happened.
 */
export function meanRequestMs(before: string, after: string, requests: ReadonlyArray<{ group: string; resource: string; verb: string }>): number | undefined {
  const total = (text: string, series: "sum" | "count") =>
    requests.reduce((n, labels) => n + sumSamples(text, `apiserver_request_duration_seconds_${series}`, { ...labels, dry_run: "" }), 0);
  const count = total(after, "count") - total(before, "count");
  return count > 0 ? (1000 * (total(after, "sum") - total(before, "sum"))) / count : undefined;
}
