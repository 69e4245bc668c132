/**
 * The inventory controller: keeps each GPUPlacementPolicy's status current from the node, pod,
 * ResourceSlice and ResourceClaim informers, and serves the `kubeloop_gpu_*` metrics. Level-based:
 * any change of a GPU node, a GPU pod, a slice or a claim enqueues every policy; a reconcile
 * computes the policy's status from the caches and writes it when it differs, at most once per
 * `statusIntervalMs` per policy.
 */
import type { Registry } from "prom-client";
import type { CacheReader, Informer } from "../../framework/cache/index.ts";
import type { Client } from "../../framework/client/index.ts";
import { controllerFor, predicates, requeueAfter, type Controller, type ControllerHost, type Request } from "../../framework/controller/index.ts";
import { deepCopy, Nodes, Pods, type DeepReadonly, type KubeObject, type Node, type Pod } from "../../framework/meta/index.ts";
import { GPUPlacementPolicies, type GPUPlacementPolicy } from "./api.ts";
import { NVIDIA_DRA_DRIVER, ResourceClaims, ResourceSlices, type ResourceClaim, type ResourceSlice } from "./dra.ts";
import { clusterGpus, mentionsGpu, mentionsGpuNode, type ClusterGpus } from "./inventory.ts";
import { registerGpuMetrics } from "./metrics.ts";
import { PolicyCache } from "./policy-cache.ts";
import { compilePolicy } from "./policy.ts";
import { computeStatus, statusChanged } from "./status.ts";

/** What the controller needs from a manager (`framework/manager`'s `Manager` fits). */
export interface GPUPlacementHost extends ControllerHost {
  readonly client: Client;
  readonly metrics?: Registry;
}

/** Options of `setupGPUInventoryController`. */
export interface GPUInventoryOptions {
  /** Controller name (metrics label, work queue name). Default `gpu-placement`. */
  name?: string;
  /** Watch `resource.k8s.io/v1` ResourceSlices and ResourceClaims and count DRA GPUs. Default true (v1 is served from Kubernetes 1.34). */
  dra?: boolean;
  /** DRA drivers whose devices are GPUs. Default `[gpu.nvidia.com]`. */
  draDrivers?: string[];
  /** Least time between two status writes of one policy, in ms. Default 1000. */
  statusIntervalMs?: number;
  /** Wall clock for condition transition times and the write interval (ms since the epoch). Default `Date.now`. */
  now?: () => number;
}

/**
 * The cluster's GPUs from informer stores, recomputed only after an informer event (`markDirty`).
 */
export class GpuInventory {
  readonly #nodes: CacheReader<Node>;
  readonly #pods: CacheReader<Pod>;
  readonly #slices: CacheReader<ResourceSlice> | undefined;
  readonly #claims: CacheReader<ResourceClaim> | undefined;
  readonly #draDrivers: string[];
  #cached: ClusterGpus | undefined;

  constructor(stores: { nodes: CacheReader<Node>; pods: CacheReader<Pod>; slices?: CacheReader<ResourceSlice>; claims?: CacheReader<ResourceClaim>; draDrivers?: string[] }) {
    this.#nodes = stores.nodes;
    this.#pods = stores.pods;
    this.#slices = stores.slices;
    this.#claims = stores.claims;
    this.#draDrivers = stores.draDrivers ?? [NVIDIA_DRA_DRIVER];
  }

  /** Forgets the computed view; the next `current()` recomputes it. */
  markDirty(): void {
    this.#cached = undefined;
  }

  /** The cluster's GPUs as the stores hold them now. */
  current(): ClusterGpus {
    this.#cached ??= clusterGpus({
      nodes: this.#nodes.list(),
      pods: this.#pods.list(),
      ...(this.#slices ? { slices: this.#slices.list() } : {}),
      ...(this.#claims ? { claims: this.#claims.list() } : {}),
      draDrivers: this.#draDrivers,
    });
    return this.#cached;
  }
}

/** The running pieces, for the scheduler wiring and for tests. */
export interface GPUInventoryHandle {
  controller: Controller<GPUPlacementPolicy>;
  inventory: GpuInventory;
  /** Compiled policies over the policy informer (the scheduler plugin reads them). */
  policies: PolicyCache;
  /** Stops reporting this controller's figures in the metrics. */
  unregisterMetrics: () => void;
}

/**
 * Registers the GPUPlacementPolicy inventory controller with a manager: for
 * GPUPlacementPolicies (spec changes), watching GPU nodes, GPU pods and (with `dra`)
 * ResourceSlices and ResourceClaims, each change enqueueing every policy; and the
 * `kubeloop_gpu_*` gauges in `host.metrics`.
 * @throws Error when the manager already has a controller of the same name.
 */
export function setupGPUInventoryController(host: GPUPlacementHost, opts: GPUInventoryOptions = {}): GPUInventoryHandle {
  const name = opts.name ?? "gpu-placement";
  const now = opts.now ?? Date.now;
  const intervalMs = opts.statusIntervalMs ?? 1000;
  const dra = opts.dra ?? true;
  const policyInformer: Informer<GPUPlacementPolicy> = host.cache.informerFor(GPUPlacementPolicies);
  const nodeInformer: Informer<Node> = host.cache.informerFor(Nodes);
  const podInformer: Informer<Pod> = host.cache.informerFor(Pods);
  const sliceInformer = dra ? host.cache.informerFor(ResourceSlices) : undefined;
  const claimInformer = dra ? host.cache.informerFor(ResourceClaims) : undefined;
  const inventory = new GpuInventory({
    nodes: nodeInformer.store, pods: podInformer.store,
    ...(sliceInformer ? { slices: sliceInformer.store } : {}),
    ...(claimInformer ? { claims: claimInformer.store } : {}),
    ...(opts.draDrivers ? { draDrivers: opts.draDrivers } : {}),
  });
  const dirty = { onAdd: () => inventory.markDirty(), onUpdate: () => inventory.markDirty(), onDelete: () => inventory.markDirty() };
  for (const informer of [nodeInformer, podInformer, sliceInformer, claimInformer]) (informer as Informer<KubeObject> | undefined)?.addEventHandler(dirty);

  const policies = new PolicyCache(policyInformer.store);
  const unregisterMetrics = host.metrics ? registerGpuMetrics(host.metrics, { cluster: () => inventory.current(), policies: () => policies.policies() }) : () => {};
  const everyPolicy = (): Request[] => policyInformer.store.list().map((p) => ({ name: p.metadata?.name ?? "" }));
  const either = <T extends KubeObject>(test: (o: DeepReadonly<T>) => boolean) => ({
    create: (o: T) => test(o as DeepReadonly<T>),
    update: (a: T, b: T) => test(a as DeepReadonly<T>) || test(b as DeepReadonly<T>),
    delete: (o: T) => test(o as DeepReadonly<T>),
  });
  const lastWriteMs = new Map<string, number>();

  let builder = controllerFor(host, GPUPlacementPolicies, { predicates: [predicates.generationChanged()] })
    .named(name)
    .watches(Nodes, everyPolicy, { predicates: [either<Node>(mentionsGpuNode)] })
    .watches(Pods, everyPolicy, { predicates: [either<Pod>(mentionsGpu)] });
  if (dra) builder = builder.watches(ResourceSlices, everyPolicy).watches(ResourceClaims, everyPolicy);
  const controller = builder.needs(GPUPlacementPolicies, ["update"], "status").complete(async (req, ctx) => {
    const obj = ctx.getCached();
    if (!obj) {
      lastWriteMs.delete(req.name);
      return;
    }
    const next = computeStatus(compilePolicy(obj as DeepReadonly<GPUPlacementPolicy>), inventory.current(), obj.status, now());
    if (!statusChanged(obj.status, next)) return;
    const wait = (lastWriteMs.get(req.name) ?? -Infinity) + intervalMs - now();
    if (wait > 0) return requeueAfter(wait);
    const copy = deepCopy(obj) as GPUPlacementPolicy;
    copy.status = next;
    await host.client.updateStatus(GPUPlacementPolicies, copy, { signal: ctx.signal });
    lastWriteMs.set(req.name, now());
    ctx.log.debug({ policy: req.name, wholeFreeNodes: next.wholeFreeNodes, strandedGPUs: next.strandedGPUs }, "GPU placement status written");
  });
  return { controller, inventory, policies, unregisterMetrics };
}
