/**
 * The benchmark's cluster: a local control plane per setting (kube-controller-manager client
 * limits), fake nodes run by kwok, namespaces, and fast parallel pod creates and deletes that the
 * measurements share. Everything talks to 127.0.0.1 only.
 */
import { rm } from "node:fs/promises";
import https from "node:https";
import { createClient, isAlreadyExists, isNotFound, KubeConfig, type KubeClient } from "../../framework/client/index.ts";
import { Namespaces, Pods, ServiceAccounts, type Pod } from "../../framework/meta/index.ts";
import { createFakeNodes, startControlPlane, waitFor, type ControlPlane } from "../../framework/testing/index.ts";

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

/** Sum (seconds) and count of kube-apiserver's `apiserver_request_duration_seconds`, keyed `<group>/<resource> <verb>` (core group ""). */
export type ApiServerRequestDurations = Map<string, { sum: number; count: number }>;

/**
 * kube-apiserver's own request durations from its `/metrics` (`apiserver_request_duration_seconds`:
 * from the request's arrival to the response, server side), so a benchmark can tell the API
 * server's time from a client's. Dry-run requests are left out.
 *
 * @throws Error when `/metrics` does not answer 200.
 */
export async function apiServerRequestDurations(kubeConfig: KubeConfig): Promise<ApiServerRequestDurations> {
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new Error("the kubeconfig names no server");
  const options: https.RequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(options);
  const body = await new Promise<string>((resolve, reject) => {
    https.get(new URL("/metrics", server), options, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`GET /metrics: ${res.statusCode}`))));
    }).on("error", reject);
  });
  const durations: ApiServerRequestDurations = new Map();
  for (const line of body.split("\n")) {
    const m = /^apiserver_request_duration_seconds_(sum|count)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (labels.dry_run) continue;
    const key = `${labels.group ?? ""}/${labels.resource ?? ""} ${labels.verb ?? ""}`;
    const entry = durations.get(key) ?? { sum: 0, count: 0 };
    entry[m[1] as "sum" | "count"] += Number(m[3]);
    durations.set(key, entry);
  }
  return durations;
}

/**
 * Mean server-side milliseconds per request between two snapshots, over the `keys` given
 * (`<group>/<resource> <verb>`); undefined when none happened.
 */
export function meanRequestMs(before: ApiServerRequestDurations, after: ApiServerRequestDurations, keys: readonly string[]): number | undefined {
  let sum = 0;
  let count = 0;
  for (const key of keys) {
    const a = after.get(key);
    const b = before.get(key);
    sum += (a?.sum ?? 0) - (b?.sum ?? 0);
    count += (a?.count ?? 0) - (b?.count ?? 0);
  }
  return count > 0 ? (1000 * sum) / count : undefined;
}
