/**
 * Differential (c), second half: the GPUPlacement plugin's BinPack against kube-scheduler v1.36.3
 * configured as the binpack oracle, a profile with `NodeResourcesFit` scoring MostAllocated on
 * `{nvidia.com/gpu: 1}` (a second kube-scheduler process of the same build, its own
 * `schedulerName`), in the same run on two identical pools of 8 x 8 GPUs: the same seeded
 * sequence of 1/2/4-GPU pods up to 50 %, one pod at a time in each pool, then 8-GPU pods until
 * one no longer fits. Ours must leave at least as many whole free nodes and place at least as
 * many 8-GPU pods. Needs a local control plane (the kube-scheduler binary of the harness).
 */
import { after, before, test } from "node:test";
import { rootLogger } from "../../../../framework/log/index.ts";
import { Manager } from "../../../../framework/manager/index.ts";
import { Pods } from "../../../../framework/meta/index.ts";
import { DEFAULT_SCHEDULER_NAME } from "../../../../framework/scheduling/index.ts";
import { createTestNamespace, deleteTestNamespace, waitFor } from "../../../../framework/testing/index.ts";
import { setupOperators } from "../../../../operators/registry.ts";
import { gpuMix } from "../../../bench/scheduling-fragmentation.ts";
import { KUBE_SCHEDULER_MOST_ALLOCATED, startKubeScheduler, type KubeSchedulerProcess } from "../../../bench/scheduling-kube-scheduler.ts";
import { A100, assert, connect, createPolicy, deletePolicy, gpuNodes, gpuPod, removeNodes, disconnect, TIMEOUT_MS, type Cluster } from "./harness.ts";

const ORACLE = KUBE_SCHEDULER_MOST_ALLOCATED;
let cluster: Cluster;
let ns: string;
const nodes: string[] = [];
const stop = new AbortController();
let running: Promise<void> | undefined;
let oracle: KubeSchedulerProcess | undefined;

before(async () => {
  cluster = await connect();
  ns = await createTestNamespace(cluster.client, "gpu-mostalloc");
  nodes.push(...await gpuNodes(cluster, "ma-ours-", 8, { gpus: 8, gpuProduct: A100, labels: { pool: "ma-ours" } }));
  nodes.push(...await gpuNodes(cluster, "ma-oracle-", 8, { gpus: 8, gpuProduct: A100, labels: { pool: "ma-oracle" } }));
  // The binpack oracle: kube-scheduler v1.36 with NodeResourcesFit scoring MostAllocated on {nvidia.com/gpu: 1},
  // at its default client limits (50/100); this control plane may not serve the native gang API.
  oracle = await startKubeScheduler({
    kubeconfigPath: cluster.kubeconfigPath, qps: 50, burst: 100, gangScheduling: false,
    say: (line) => process.stderr.write(`[most-allocated kube-scheduler] ${line.trim()}\n`),
  });
  const mgr = new Manager({ client: cluster.operatorClient, name: "gpu-mostalloc-e2e", metricsBindAddress: "0", healthProbeBindAddress: "0", log: rootLogger });
  setupOperators(mgr, ["gpu-placement"]);
  running = mgr.start(stop.signal);
  running.catch(() => {});
  await mgr.cache.waitForSync(AbortSignal.timeout(TIMEOUT_MS));
  await createPolicy(cluster, "ma-binpack", { selector: { matchLabels: { app: "ma" } }, strategy: "BinPack" });
});

after(async () => {
  stop.abort();
  await running?.catch(() => {});
  await oracle?.stop();
  await deletePolicy(cluster, "ma-binpack");
  if (ns) await deleteTestNamespace(cluster.client, ns);
  await removeNodes(cluster, nodes);
  disconnect(cluster);
});

/** Waits until the pod is bound (its node) or reported Unschedulable (undefined). */
async function outcome(name: string): Promise<string | undefined> {
  const r = await waitFor(async () => {
    const p = await cluster.client.get(Pods, { namespace: ns, name });
    if (p.spec?.nodeName) return { node: p.spec.nodeName };
    if (p.status?.conditions?.some((c) => c.type === "PodScheduled" && c.status === "False" && c.reason === "Unschedulable")) return { node: undefined };
    return undefined;
  }, { timeoutMs: 30_000, intervalMs: 100, description: `${ns}/${name} bound or Unschedulable` });
  return r.node;
}

test("BinPack vs kube-scheduler MostAllocated{nvidia.com/gpu: 1}: at least as many whole free nodes and 8-GPU pods, same seeded load", async () => {
  const pools = { ours: { scheduler: DEFAULT_SCHEDULER_NAME, pool: "ma-ours" }, oracle: { scheduler: ORACLE, pool: "ma-oracle" } } as const;
  const used: Record<keyof typeof pools, Record<string, number>> = { ours: {}, oracle: {} };
  const sizes = gpuMix(7, 32);
  for (const [i, g] of sizes.entries()) {
    for (const [key, p] of Object.entries(pools) as Array<[keyof typeof pools, (typeof pools)[keyof typeof pools]]>) {
      await cluster.client.create(Pods, gpuPod(ns, `${key}-${i}`, g, { labels: { app: "ma" }, schedulerName: p.scheduler, extra: { nodeSelector: { pool: p.pool } } }));
    }
    for (const key of Object.keys(pools) as Array<keyof typeof pools>) {
      const node = await outcome(`${key}-${i}`);
      assert.ok(node, `${key}-${i} (${g} GPUs) should fit at 50 % load`);
      used[key][node] = (used[key][node] ?? 0) + g;
    }
  }
  const whole = { ours: 8 - Object.keys(used.ours).length, oracle: 8 - Object.keys(used.oracle).length };
  const eights = { ours: 0, oracle: 0 };
  for (const key of Object.keys(pools) as Array<keyof typeof pools>) {
    for (let j = 0; ; j++) {
      const name = `${key}-eight-${j}`;
      await cluster.client.create(Pods, gpuPod(ns, name, 8, { labels: { app: "ma" }, schedulerName: pools[key].scheduler, extra: { nodeSelector: { pool: pools[key].pool } } }));
      if (!(await outcome(name))) break;
      eights[key]++;
    }
  }
  const report = `sizes ${sizes.join(",")}; ours ${JSON.stringify(used.ours)} whole ${whole.ours} eights ${eights.ours}; MostAllocated ${JSON.stringify(used.oracle)} whole ${whole.oracle} eights ${eights.oracle}`;
  process.stderr.write(`[most-allocated differential] ${report}\n`);
  assert.ok(whole.ours >= whole.oracle, report);
  assert.ok(eights.ours >= eights.oracle, report);
  assert.ok(whole.ours >= 3, report); // 32 GPUs of load fill 4 nodes when packed perfectly
  assert.equal(eights.ours, whole.ours, report);
});
