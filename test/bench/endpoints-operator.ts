/**
 * Our Endpoints operator as its own process for the Endpoints benchmark, as kube-controller-manager
 * runs in its own: forked by `test/bench/endpoints.ts` with an IPC channel. Environment:
 * `KUBECONFIG`, `KUBELOOP_BENCH_NAMESPACE` (the one namespace its cache watches),
 * `KUBELOOP_BENCH_QPS`, `KUBELOOP_BENCH_BURST` (its client limit). It sends `{ type: "ready" }`
 * once its caches are synced, answers `{ type: "requests" }` with `{ type: "requests", n }`
 * (its non-GET API requests so far, from its client's `rest_client_requests_total`), and stops
 * on `{ type: "stop" }` or when the parent goes away.
 */
import { Registry } from "prom-client";
import { createClient, KubeConfig } from "../../framework/client/index.ts";
import { Manager } from "../../framework/manager/index.ts";
import { setupEndpointsControllers } from "../../operators/endpoints/index.ts";

/** Non-GET API requests counted by a client's metrics (writes: create, update, patch, delete). */
export async function nonGetRequests(registry: Registry): Promise<number> {
  const metric = registry.getSingleMetric("rest_client_requests_total");
  if (!metric) return 0;
  let n = 0;
  for (const v of (await metric.get()).values) if (String(v.labels.method ?? "GET") !== "GET") n += v.value;
  return n;
}

/** Messages between the benchmark and this process. */
export type OperatorMessage = { type: "ready" } | { type: "requests"; n?: number } | { type: "stop" };

if (import.meta.main) {
  const send = (m: OperatorMessage) => process.send?.(m);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const registry = new Registry();
  const client = createClient({ kubeConfig, metrics: registry, qps: Number(process.env.KUBELOOP_BENCH_QPS), burst: Number(process.env.KUBELOOP_BENCH_BURST) });
  const mgr = new Manager({
    client, name: "kubeloop-bench-endpoints", metricsBindAddress: "0", healthProbeBindAddress: "0",
    cache: { defaultNamespace: process.env.KUBELOOP_BENCH_NAMESPACE! },
  });
  setupEndpointsControllers(mgr);
  const stop = new AbortController();
  const running = mgr.start(stop.signal);
  const shutdown = async () => {
    stop.abort();
    await running.catch(() => {});
    client.close();
    process.exit(0);
  };
  process.on("message", (m: OperatorMessage) => {
    if (m.type === "requests") void nonGetRequests(registry).then((n) => send({ type: "requests", n }));
    else if (m.type === "stop") void shutdown();
  });
  process.on("disconnect", () => void shutdown());
  await mgr.cache.waitForSync(stop.signal);
  send({ type: "ready" });
}
