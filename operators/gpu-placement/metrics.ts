/**
 * Prometheus metrics of the cluster's GPUs, computed at scrape time from the inventory (never
 * stale, nothing to update on events):
 *
 * | metric | labels | meaning |
 * | --- | --- | --- |
 * | `kubeloop_gpu_nodes` | `product` | nodes with GPUs of the product |
 * | `kubeloop_gpu_total` | `product` | GPUs (allocatable `nvidia.com/gpu` plus DRA devices) |
 * | `kubeloop_gpu_allocated` | `product` | GPUs requested by unfinished bound pods (plus allocated DRA devices) |
 * | `kubeloop_gpu_free` | `product` | total - allocated |
 * | `kubeloop_gpu_stranded` | `policy`, `product` | free GPUs on the policy's eligible nodes that cannot host its largest request |
 * | `kubeloop_gpu_whole_free_nodes` | `policy` | the policy's eligible nodes with every GPU free |
 *
 * Gauges, in GPUs (or nodes). Each is registered once per registry; several sources may share it.
 */
import { Gauge, type Registry } from "prom-client";
import { policyFigures, productInventory, type ClusterGpus } from "./inventory.ts";
import type { CompiledPolicy } from "./policy.ts";

/** What the metrics read at scrape time. */
export interface GpuMetricsSource {
  cluster(): ClusterGpus;
  policies(): readonly CompiledPolicy[];
}

const sourcesByRegistry = new WeakMap<Registry, Set<GpuMetricsSource>>();

/**
 * Registers the `kubeloop_gpu_*` gauges in `registry` (once per registry) and adds `source` to
 * what they report. Returns a function that removes the source again.
 */
export function registerGpuMetrics(registry: Registry, source: GpuMetricsSource): () => void {
  let sources = sourcesByRegistry.get(registry);
  if (!sources) {
    const all = new Set<GpuMetricsSource>();
    sources = all;
    sourcesByRegistry.set(registry, all);
    const registers = [registry];
    const perProduct = (name: string, help: string, pick: (e: ReturnType<typeof productInventory>[number]) => number) =>
      new Gauge({
        name, help, labelNames: ["product"], registers,
        collect() {
          this.reset();
          for (const s of all) for (const e of productInventory(s.cluster())) this.set({ product: e.product }, pick(e));
        },
      });
    perProduct("kubeloop_gpu_nodes", "Nodes with GPUs of the product.", (e) => e.nodes);
    perProduct("kubeloop_gpu_total", "GPUs of the product: allocatable nvidia.com/gpu plus DRA devices.", (e) => e.total);
    perProduct("kubeloop_gpu_allocated", "GPUs of the product requested by unfinished bound pods, plus allocated DRA devices.", (e) => e.allocated);
    perProduct("kubeloop_gpu_free", "GPUs of the product not allocated.", (e) => e.free);
    new Gauge({
      name: "kubeloop_gpu_stranded",
      help: "Free GPUs on a GPUPlacementPolicy's eligible nodes that cannot host the largest GPU request of the pods it selects.",
      labelNames: ["policy", "product"], registers,
      collect() {
        this.reset();
        for (const s of all) {
          const cluster = s.cluster();
          const products = new Set(cluster.pools.map((p) => p.product));
          for (const policy of s.policies()) {
            const f = policyFigures(cluster, policy);
            for (const product of products) this.set({ policy: policy.name, product }, f.strandedByProduct.get(product) ?? 0);
          }
        }
      },
    });
    new Gauge({
      name: "kubeloop_gpu_whole_free_nodes",
      help: "A GPUPlacementPolicy's eligible nodes with every GPU free.",
      labelNames: ["policy"], registers,
      collect() {
        this.reset();
        for (const s of all) {
          const cluster = s.cluster();
          for (const policy of s.policies()) this.set({ policy: policy.name }, policyFigures(cluster, policy).wholeFreeNodes);
        }
      },
    });
  }
  sources.add(source);
  const registered = sources;
  return () => {
    registered.delete(source);
  };
}
