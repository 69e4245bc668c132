/**
 * (a) The physical limit: how fast this machine's control plane accepts pod creates with no
 * client-side limit (`concurrency` in flight), pods pre-bound with `spec.nodeName` to the fake
 * node kwok runs (no scheduler involved), and how soon kwok has marked them all Ready.
 */
import { InformerCache } from "../../framework/cache/index.ts";
import { Pods } from "../../framework/meta/index.ts";
import { waitFor } from "../../framework/testing/index.ts";
import { sleep } from "../../framework/flowcontrol/index.ts";
import { isPodReady } from "../../operators/replicaset/podstate.ts";
import { createPods, deleteAllPods, ensureNamespace, type BenchCluster } from "./cluster.ts";

/** What one physical-limit run measured. */
export interface PhysicalResult {
  pods: number;
  concurrency: number;
  /** From the first create sent to the last create answered. */
  createSeconds: number;
  createPodsPerSecond: number;
  /** From the first create sent until every pod is Ready (kwok's pod-ready Stage). */
  readySeconds: number;
  readyPodsPerSecond: number;
}

/** Creates `pods` pre-bound pods in a fresh namespace, measures, and deletes them again. */
export async function measurePhysicalLimit(cluster: BenchCluster, opts: { pods: number; concurrency: number; namespace: string }): Promise<PhysicalResult> {
  const { admin } = cluster;
  await ensureNamespace(admin, opts.namespace);
  const stop = new AbortController();
  // Watching readiness through an informer costs the API server one watch, as the controllers' do.
  const cache = new InformerCache(admin);
  const informer = cache.informerFor(Pods, { namespace: opts.namespace });
  cache.start(stop.signal);
  try {
    await cache.waitForSync(stop.signal);
    const started = performance.now();
    await createPods(admin, { namespace: opts.namespace, prefix: "raw", count: opts.pods, concurrency: opts.concurrency, placement: "prebound" });
    const createSeconds = (performance.now() - started) / 1000;
    await waitFor(async () => informer.store.list(opts.namespace).filter(isPodReady).length >= opts.pods || undefined, {
      timeoutMs: 300_000, intervalMs: 50, description: `${opts.pods} pre-bound pods in ${opts.namespace} to be Ready`,
    });
    const readySeconds = (performance.now() - started) / 1000;
    return {
      pods: opts.pods, concurrency: opts.concurrency,
      createSeconds, createPodsPerSecond: opts.pods / createSeconds,
      readySeconds, readyPodsPerSecond: opts.pods / readySeconds,
    };
  } finally {
    stop.abort(new Error("physical-limit measurement done"));
    await deleteAllPods(admin, opts.namespace);
    await sleep(2_000);
  }
}
