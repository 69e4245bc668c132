import type { CacheReader } from "../../framework/cache/index.ts";
import { listByLabelSet } from "../../framework/cache/index.ts";
import { isForbidden, isNotFound, type Client } from "../../framework/client/index.ts";
import { requeue, type ReconcileContext, type Request, type Result } from "../../framework/controller/index.ts";
import type { DeepReadonly, Node, Pod, Service } from "../../framework/meta/index.ts";
import { KubeloopEndpointSlices, type EndpointSliceObject } from "./api.ts";
import { DEFAULT_MAX_ENDPOINTS_PER_SLICE, planSlices, SERVICE_NAME_LABEL, SLICE_MANAGED_BY_LABEL, type SliceState } from "./slice-placement.ts";
import { LAST_CHANGE_TRIGGER_TIME_ANNOTATION, rfc3339Nano, TriggerTimeTracker } from "./trigger-time.ts";
import type { EndpointsEventSink } from "./endpoints-reconciler.ts";

/** The `endpointslice.kubernetes.io/managed-by` value of our slices (upstream: `endpointslice-controller.k8s.io`). */
export const SLICE_CONTROLLER_NAME = "endpointslice-controller.kubeloop.dev";

/**
 * What this controller wrote and the cache may not show yet, per slice UID (upstream
 * `EndpointSliceTracker`): the resourceVersion an update replaced, a delete, a create. A sync
 * that would read a slice older than our own write retries instead.
 */
export class SliceWriteTracker {
  readonly #replaced = new Map<string, string>();
  readonly #deleted = new Set<string>();
  readonly #created = new Map<string, string>();

  /** Records an update of `uid` from `oldResourceVersion`. */
  updated(uid: string, oldResourceVersion: string): void {
    this.#replaced.set(uid, oldResourceVersion);
  }
  /** Records a create of `uid` for the Service `serviceKey`. */
  created(uid: string, serviceKey: string): void {
    this.#created.set(uid, serviceKey);
  }
  /** Records a delete of `uid`. */
  deleted(uid: string): void {
    this.#deleted.add(uid);
  }
  /** The cache saw `uid` go away: nothing is pending for it any more. */
  observedDeletion(uid: string): void {
    this.#replaced.delete(uid);
    this.#deleted.delete(uid);
    this.#created.delete(uid);
  }
  /** Whether `cached` (the Service's slices in the cache) misses one of our writes. */
  isStale(serviceKey: string, cached: readonly EndpointSliceObject[]): boolean {
    const uids = new Set<string>();
    for (const s of cached) {
      const uid = s.metadata?.uid ?? "";
      uids.add(uid);
      if (this.#deleted.has(uid)) return true;
      if (this.#replaced.get(uid) === s.metadata?.resourceVersion) return true;
      this.#created.delete(uid);
    }
    for (const [uid, key] of this.#created) if (key === serviceKey && !uids.has(uid)) return true;
    return false;
  }
}

/** What `EndpointSliceReconciler` reads and writes through. */
export interface EndpointSliceReconcilerOptions {
  client: Client;
  services: CacheReader<Service>;
  /** Pods, with `LABEL_INDEX` for selector lookups. */
  pods: CacheReader<Pod>;
  nodes: CacheReader<Node>;
  slices: CacheReader<EndpointSliceObject>;
  /** Endpoints per slice, 1-1000. Default 100 (`--max-endpoints-per-slice`). */
  maxEndpointsPerSlice?: number;
  events?: EndpointsEventSink;
}

function toState(slice: DeepReadonly<EndpointSliceObject>, service: DeepReadonly<Service>): SliceState {
  const copy = structuredClone(slice) as EndpointSliceObject;
  return {
    name: copy.metadata?.name ?? "",
    addressType: copy.spec.addressType === "IPv6" ? "IPv6" : "IPv4",
    ports: copy.spec.ports ?? [],
    endpoints: copy.spec.endpoints ?? [],
    labels: copy.metadata?.labels ?? {},
    ownedByService: (copy.metadata?.ownerReferences ?? []).some((o) => o.uid === service.metadata?.uid && o.kind === "Service" && o.apiVersion === "v1"),
  };
}

/**
 * The EndpointSlice controller's `syncService` (`pkg/controller/endpointslice` v1.36) and
 * reconciler (`k8s.io/endpointslice` v0.36) writing `discovery.kubeloop.dev` EndpointSlices.
 * Slices carry a controller reference to their Service, so the garbage collector removes them
 * with it.
 */
export class EndpointSliceReconciler {
  readonly #opts: EndpointSliceReconcilerOptions;
  readonly #max: number;
  readonly #triggers = new TriggerTimeTracker();
  /** Our writes the cache may not show yet. */
  readonly tracker = new SliceWriteTracker();
  /** Writes made (creates, updates, deletes), for tests and benchmarks. */
  writes = 0;

  /** @throws RangeError when `maxEndpointsPerSlice` is not an integer in 1-1000. */
  constructor(opts: EndpointSliceReconcilerOptions) {
    this.#opts = opts;
    this.#max = opts.maxEndpointsPerSlice ?? DEFAULT_MAX_ENDPOINTS_PER_SLICE;
    if (!Number.isInteger(this.#max) || this.#max < 1 || this.#max > 1000) {
      throw new RangeError(`maxEndpointsPerSlice must be an integer in 1-1000 (kube-controller-manager --max-endpoints-per-slice), got ${opts.maxEndpointsPerSlice}`);
    }
  }

  /**
   * Syncs the slices of the Service `req` names.
   * Resolves `requeue()` (retry with backoff, nothing written) when the cache misses one of our writes.
   * @throws Error when a write fails, or a pod's node is missing (after writing the slices
   *   without it), so the key is retried with backoff.
   */
  async reconcile(req: Request, ctx: Pick<ReconcileContext, "signal">): Promise<Result> {
    const namespace = req.namespace ?? "";
    const key = `${namespace}/${req.name}`;
    const { client } = this.#opts;
    const service = this.#opts.services.get(key) as DeepReadonly<Service> | undefined;
    if (!service) {
      // The garbage collector deletes the slices through their owner reference.
      this.#triggers.delete(namespace, req.name);
      return;
    }
    if (service.spec?.type === "ExternalName") return;
    const selector = service.spec?.selector;
    if (selector === undefined || selector === null) return;
    const pods = listByLabelSet(this.#opts.pods, namespace, selector);
    const cached = listByLabelSet(this.#opts.slices, namespace, { [SERVICE_NAME_LABEL]: req.name, [SLICE_MANAGED_BY_LABEL]: SLICE_CONTROLLER_NAME });
    if (this.tracker.isStale(key, cached)) {
      // Upstream returns a StaleInformerCache error; a requeue with backoff does the same without an error log.
      return requeue();
    }
    const triggerMs = this.#triggers.compute(service, pods);
    const byName = new Map(cached.map((s) => [s.metadata?.name ?? "", s]));
    const plan = planSlices({
      service,
      pods,
      nodeOf: (name) => (name ? this.#opts.nodes.get(name) : undefined),
      existing: cached.map((s) => toState(s, service)),
      maxEndpointsPerSlice: this.#max,
      controllerName: SLICE_CONTROLLER_NAME,
    });
    const annotate = (annotations: Record<string, string>): Record<string, string> => {
      if (triggerMs !== undefined) annotations[LAST_CHANGE_TRIGGER_TIME_ANNOTATION] = rfc3339Nano(triggerMs);
      else delete annotations[LAST_CHANGE_TRIGGER_TIME_ANNOTATION];
      return annotations;
    };
    const spec = (s: SliceState): EndpointSliceObject["spec"] => ({ addressType: s.addressType, endpoints: s.endpoints, ports: s.ports });
    try {
      for (const s of plan.create) {
        const created = await client.create(KubeloopEndpointSlices, {
          apiVersion: KubeloopEndpointSlices.apiVersion,
          kind: KubeloopEndpointSlices.kind,
          metadata: {
            generateName: `${req.name}-`,
            namespace,
            labels: s.labels,
            annotations: annotate({}),
            ownerReferences: [{ apiVersion: "v1", kind: "Service", name: req.name, uid: service.metadata?.uid ?? "", controller: true, blockOwnerDeletion: true }],
          },
          spec: spec(s),
        }, { signal: ctx.signal });
        this.writes++;
        if (created.metadata?.uid) this.tracker.created(created.metadata.uid, key);
      }
    } catch (err) {
      // A namespace being deleted refuses creates: drop the key.
      if (isForbidden(err) && /because it is being terminated|NamespaceTerminating/i.test(String((err as Error).message))) return;
      throw err;
    }
    for (const s of plan.update) {
      const current = byName.get(s.name!);
      if (!current) continue;
      const obj = structuredClone(current) as EndpointSliceObject;
      obj.metadata = { ...obj.metadata, labels: s.labels, annotations: annotate({ ...obj.metadata?.annotations }) };
      obj.spec = spec(s);
      const updated = await client.update(KubeloopEndpointSlices, obj, { signal: ctx.signal });
      this.writes++;
      if (updated.metadata?.resourceVersion !== current.metadata?.resourceVersion) this.tracker.updated(current.metadata?.uid ?? "", current.metadata?.resourceVersion ?? "");
    }
    for (const name of plan.delete) {
      const current = byName.get(name);
      try {
        await client.delete(KubeloopEndpointSlices, { namespace, name }, { signal: ctx.signal });
        this.writes++;
        if (current?.metadata?.uid) this.tracker.deleted(current.metadata.uid);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    if (plan.missingNodes.length > 0) {
      throw new Error(`Service ${key}: skipped pods whose node is not found (${plan.missingNodes.map((n) => JSON.stringify(n)).join(", ")}); retrying`);
    }
  }
}
