/**
 * One of our operators as a process of its own for the benchmarks, as kube-controller-manager
 * runs in its own (on the benchmark's event loop it would share the time of the watches that
 * measure both sides). The benchmark forks this module ({@link startOperatorProcess}); the child
 * builds a client and a manager from {@link OperatorProcessOptions} (in `KUBELOOP_BENCH_OPERATOR`,
 * JSON), sends `ready` once its caches are synced, answers `scrape` with the Prometheus text of
 * its client's and manager's metrics (`rest_client_*`, workqueue, reconcile, process CPU), and
 * stops on `stop` or when the parent goes away.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Registry } from "prom-client";
import { createClient, KubeConfig, type TransportProtocol } from "../../framework/client/index.ts";
import { Manager } from "../../framework/manager/index.ts";
import { setupEndpointsControllers } from "../../operators/endpoints/index.ts";
import { setupReplicaSetController } from "../../operators/replicaset/index.ts";

/** What the child runs. Client limits undefined mean our client's default (no client-side limit). */
export interface OperatorProcessOptions {
  operator: "endpoints" | "replicaset";
  kubeconfigPath: string;
  qps?: number;
  burst?: number;
  transport?: TransportProtocol;
  http2Connections?: number;
  /** The one namespace the manager's cache watches; all namespaces when undefined. */
  namespace?: string;
}

type ToChild = { type: "scrape" } | { type: "stop" };
type ToParent = { type: "ready" } | { type: "scrape"; text: string };

/** A running operator process. */
export interface OperatorProcess {
  /** Prometheus text of its client's and manager's metrics. */
  scrape(): Promise<string>;
  /** Stops the manager and waits for the process to exit. */
  stop(): Promise<void>;
}

/** Forks this module with `opts` and resolves once the operator's caches synced. @throws Error when the process exits first. */
export async function startOperatorProcess(opts: OperatorProcessOptions): Promise<OperatorProcess> {
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, KUBELOOP_BENCH_OPERATOR: JSON.stringify(opts) },
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const next = <T extends ToParent["type"]>(type: T) => new Promise<Extract<ToParent, { type: T }>>((resolve, reject) => {
    const onMessage = (m: ToParent) => {
      if (m.type !== type) return;
      child.off("message", onMessage);
      child.off("exit", onExit);
      resolve(m as Extract<ToParent, { type: T }>);
    };
    const onExit = (code: number | null) => reject(new Error(`the benchmark's ${opts.operator} operator exited (${code}) before answering ${type}`));
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
  await next("ready");
  return {
    async scrape() {
      const answer = next("scrape");
      child.send({ type: "scrape" } satisfies ToChild);
      return (await answer).text;
    },
    async stop() {
      if (child.exitCode === null && child.connected) child.send({ type: "stop" } satisfies ToChild);
      await exited;
    },
  };
}

if (import.meta.main && process.env.KUBELOOP_BENCH_OPERATOR) {
  const opts = JSON.parse(process.env.KUBELOOP_BENCH_OPERATOR) as OperatorProcessOptions;
  const send = (m: ToParent) => process.send?.(m);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(opts.kubeconfigPath);
  const registry = new Registry();
  const client = createClient({
    kubeConfig, metrics: registry,
    ...(opts.transport ? { transport: opts.transport } : {}),
    ...(opts.http2Connections !== undefined ? { http2Connections: opts.http2Connections } : {}),
    ...(opts.qps !== undefined ? { qps: opts.qps } : {}),
    ...(opts.burst !== undefined ? { burst: opts.burst } : {}),
  });
  const mgr = new Manager({
    client, name: `kubeloop-bench-${opts.operator}`, metricsBindAddress: "0", healthProbeBindAddress: "0",
    ...(opts.namespace ? { cache: { defaultNamespace: opts.namespace } } : {}),
  });
  if (opts.operator === "endpoints") setupEndpointsControllers(mgr);
  else setupReplicaSetController(mgr, { maxConcurrentReconciles: 5 });
  const stop = new AbortController();
  const running = mgr.start(stop.signal);
  const shutdown = async () => {
    stop.abort(new Error("benchmark run finished"));
    await running.catch(() => {});
    client.close();
    process.exit(0);
  };
  process.on("message", (m: ToChild) => {
    if (m.type === "scrape") void Promise.all([registry.metrics(), mgr.metrics.metrics()]).then(([a, b]) => send({ type: "scrape", text: `${a}\n${b}` }));
    else if (m.type === "stop") void shutdown();
  });
  process.on("disconnect", () => void shutdown());
  await mgr.cache.waitForSync(stop.signal);
  send({ type: "ready" });
}
