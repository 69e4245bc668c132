/**
 * (c) Heap bytes per cached Pod. Pods are created fast in one namespace, then a fresh Node
 * process (`memory-probe.ts`, `--expose-gc`) syncs an `InformerCache` of them, with
 * managedFields stripped (the default transform) and kept. Two kinds of pods: `pending` (nobody
 * schedules them: `schedulerName: none`, no status beyond the phase; what the brief asks) and
 * `running` (pre-bound to a kwok node, which fills in the status a kubelet would: conditions,
 * container statuses, IPs; closer to what controller-runtime's ≈ 36 KiB was measured on).
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Pods } from "../../framework/meta/index.ts";
import { waitFor } from "../../framework/testing/index.ts";
import { createPods, deleteAllPods, ensureNamespace, type BenchCluster } from "./cluster.ts";

/** State of the cached pods. */
export type CachedPodState = "pending" | "running";

/** One probe: `pods` cached, with or without managedFields. */
export interface MemoryResult {
  pods: number;
  podState: CachedPodState;
  managedFieldsStripped: boolean;
  heapBefore: number;
  heapAfter: number;
  /** (heapAfter − heapBefore) / pods. */
  bytesPerPod: number;
  /** Size of the cached objects as JSON, per pod, for scale. */
  jsonBytesPerPod: number;
}

type ProbeOutput = Omit<MemoryResult, "managedFieldsStripped" | "podState">;

const probe = fileURLToPath(new URL("./memory-probe.ts", import.meta.url));

function runProbe(kubeconfigPath: string, namespace: string, strip: boolean): Promise<ProbeOutput> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ["--expose-gc", probe, "--kubeconfig", kubeconfigPath, "--namespace", namespace, "--strip", String(strip)],
      { timeout: 300_000 }, (err, stdout, stderr) => {
        if (err) return reject(new Error(`memory probe (${namespace}, strip=${strip}) failed: ${err.message}\n${stderr}`));
        const line = stdout.trim().split("\n").pop() ?? "";
        try {
          resolve(JSON.parse(line) as ProbeOutput);
        } catch {
          reject(new Error(`memory probe printed no result: ${stdout}\n${stderr}`));
        }
      });
  });
}

/** Waits until `count` pods of the namespace are Running and Ready (kwok's Stages). */
async function waitRunning(cluster: BenchCluster, namespace: string, count: number): Promise<void> {
  await waitFor(async () => {
    const pods = (await cluster.admin.list(Pods, { namespace })).items;
    const ready = pods.filter((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
    return ready.length >= count || undefined;
  }, { timeoutMs: 600_000, intervalMs: 2_000, description: `${count} pods of ${namespace} to be Ready` });
}

/**
 * For each count in `podCounts` (ascending), tops the namespace up to that many pods in
 * `podState` and probes with managedFields stripped and kept. Deletes the pods at the end.
 * @throws Error when a probe fails or caches a different number of pods.
 */
export async function measureCacheMemory(cluster: BenchCluster, opts: {
  podCounts: number[]; podState: CachedPodState; namespace: string; say: (line: string) => void;
}): Promise<MemoryResult[]> {
  const { admin } = cluster;
  await ensureNamespace(admin, opts.namespace);
  const results: MemoryResult[] = [];
  let created = 0;
  try {
    for (const count of opts.podCounts) {
      await createPods(admin, {
        namespace: opts.namespace, prefix: opts.podState, count: count - created, offset: created, concurrency: 64,
        placement: opts.podState === "running" ? "prebound" : "unschedulable",
      });
      created = count;
      if (opts.podState === "running") await waitRunning(cluster, opts.namespace, count);
      for (const strip of [true, false]) {
        const r = await runProbe(cluster.plane.kubeconfigPath, opts.namespace, strip);
        if (r.pods !== count) throw new Error(`memory probe cached ${r.pods} pods of namespace ${opts.namespace}, expected ${count}`);
        results.push({ ...r, podState: opts.podState, managedFieldsStripped: strip });
        opts.say(`    ${count} ${opts.podState} pods, managedFields ${strip ? "stripped" : "kept"}: ` +
          `${(r.bytesPerPod / 1024).toFixed(1)} KiB heap per pod (JSON ${(r.jsonBytesPerPod / 1024).toFixed(1)} KiB)`);
      }
    }
    return results;
  } finally {
    await deleteAllPods(admin, opts.namespace);
  }
}
