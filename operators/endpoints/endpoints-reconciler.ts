import type { CacheReader } from "../../framework/cache/index.ts";
import { listByLabelSet } from "../../framework/cache/index.ts";
import { isForbidden, isNotFound, type Client } from "../../framework/client/index.ts";
import { requeue, type ReconcileContext, type Request, type Result } from "../../framework/controller/index.ts";
import type { DeepReadonly, KubeObject, Pod, Service } from "../../framework/meta/index.ts";
import { KubeloopEndpoints, type EndpointsObject } from "./api.ts";
import { canonicalSubsets, stableJson } from "./canonical.ts";
import { desiredSubsets, endpointsLabels, labelsCorrect } from "./endpoints-desired.ts";
import { capacityAnnotationSetCorrectly, OVER_CAPACITY_ANNOTATION, repackSubsets, TRUNCATED, truncateSubsets } from "./repack.ts";
import { LAST_CHANGE_TRIGGER_TIME_ANNOTATION, rfc3339Nano, TriggerTimeTracker } from "./trigger-time.ts";

/** Label key and value marking our Endpoints (upstream: `endpoints.kubernetes.io/managed-by: endpoint-controller`). */
export const ENDPOINTS_MANAGED_BY = { "endpoints.kubernetes.io/managed-by": "endpoint-controller.kubeloop.dev" } as const;
/** Annotation of leader-election records, which orphan cleanup leaves alone. */
export const LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader";

/** Where Events about failed writes go. */
export interface EndpointsEventSink {
  warning(regarding: KubeObject, reason: string, note: string): Promise<void>;
}

/** What `EndpointsReconciler` reads and writes through. */
export interface EndpointsReconcilerOptions {
  client: Client;
  services: CacheReader<Service>;
  /** Pods, with `LABEL_INDEX` for selector lookups (scanned per namespace without it). */
  pods: CacheReader<Pod>;
  endpoints: CacheReader<EndpointsObject>;
  events?: EndpointsEventSink;
}

/**
 * Remembers the resourceVersion of each Endpoints this controller replaced, so a sync that
 * reads that version again from a lagging cache retries instead of acting on it (upstream
 * `staleEndpointsTracker`, issues 126578 and 127370).
 */
export class StaleEndpointsTracker {
  readonly #stale = new Map<string, string>();
  /** Marks `obj`'s current resourceVersion as replaced. */
  stale(key: string, resourceVersion: string): void {
    this.#stale.set(key, resourceVersion);
  }
  /** Whether the cached copy is one this controller already replaced. */
  isStale(key: string, resourceVersion: string | undefined): boolean {
    return resourceVersion !== undefined && this.#stale.get(key) === resourceVersion;
  }
  delete(key: string): void {
    this.#stale.delete(key);
  }
}

/**
 * The endpoints controller's `syncService` (`pkg/controller/endpoint` v1.36) writing
 * `discovery.kubeloop.dev` Endpoints: one reconcile per Service key, every step in upstream
 * order (see README.md).
 */
export class EndpointsReconciler {
  readonly #opts: EndpointsReconcilerOptions;
  readonly #triggers = new TriggerTimeTracker();
  readonly #stale = new StaleEndpointsTracker();
  /** Writes made (creates, updates, deletes), for tests and benchmarks. */
  writes = 0;

  constructor(opts: EndpointsReconcilerOptions) {
    this.#opts = opts;
  }

  /**
   * Syncs the Endpoints of the Service `req` names.
   * Resolves `requeue()` (retry with backoff, nothing written) when the cache still holds the
   * version our last write replaced.
   * @throws Error when a write fails (retried with backoff).
   */
  async reconcile(req: Request, ctx: Pick<ReconcileContext, "signal">): Promise<Result> {
    const namespace = req.namespace ?? "";
    const key = `${namespace}/${req.name}`;
    const { client } = this.#opts;
    const service = this.#opts.services.get(key) as DeepReadonly<Service> | undefined;
    if (!service) {
      // 1. The Service is gone: delete its Endpoints.
      if (this.#opts.endpoints.get(key)) {
        try {
          await client.delete(KubeloopEndpoints, { namespace, name: req.name }, { signal: ctx.signal });
          this.writes++;
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      this.#triggers.delete(namespace, req.name);
      this.#stale.delete(key);
      return;
    }
    // 2-3. ExternalName and selector-less Services get nothing, and their Endpoints stay as they are.
    if (service.spec?.type === "ExternalName") return;
    const selector = service.spec?.selector;
    if (selector === undefined || selector === null) return;
    const pods = listByLabelSet(this.#opts.pods, namespace, selector);
    const triggerMs = this.#triggers.compute(service, pods);
    const { subsets } = desiredSubsets(service, pods);

    const current = this.#opts.endpoints.get(key) as DeepReadonly<EndpointsObject> | undefined;
    if (current && this.#stale.isStale(key, current.metadata?.resourceVersion)) {
      // Upstream returns an error (logged at V(2)); a requeue with backoff does the same without an error log.
      return requeue();
    }
    const create = !current?.metadata?.resourceVersion;
    const wanted = stableJson(canonicalSubsets(subsets));
    if (!create &&
      (stableJson(canonicalSubsets(current.spec?.subsets as EndpointsObject["spec"]["subsets"])) === wanted ||
        stableJson(canonicalSubsets(repackSubsets(structuredClone(current.spec?.subsets ?? []) as NonNullable<EndpointsObject["spec"]["subsets"]>))) === wanted) &&
      labelsCorrect(current.metadata?.labels, service, ENDPOINTS_MANAGED_BY) &&
      capacityAnnotationSetCorrectly(current.metadata?.annotations, current.spec?.subsets as EndpointsObject["spec"]["subsets"])) {
      return;
    }
    const annotations: Record<string, string> = { ...current?.metadata?.annotations };
    if (triggerMs !== undefined) annotations[LAST_CHANGE_TRIGGER_TIME_ANNOTATION] = rfc3339Nano(triggerMs);
    else delete annotations[LAST_CHANGE_TRIGGER_TIME_ANNOTATION];
    if (truncateSubsets(subsets)) annotations[OVER_CAPACITY_ANNOTATION] = TRUNCATED;
    else delete annotations[OVER_CAPACITY_ANNOTATION];
    const obj: EndpointsObject = {
      apiVersion: KubeloopEndpoints.apiVersion,
      kind: KubeloopEndpoints.kind,
      metadata: {
        ...(current ? structuredClone(current.metadata) as EndpointsObject["metadata"] : {}),
        name: req.name,
        namespace,
        labels: endpointsLabels(service, ENDPOINTS_MANAGED_BY),
        annotations,
      },
      spec: { subsets },
    };
    try {
      if (create) {
        await client.create(KubeloopEndpoints, obj, { signal: ctx.signal });
      } else {
        const updated = await client.update(KubeloopEndpoints, obj, { signal: ctx.signal });
        if (updated.metadata?.resourceVersion !== current.metadata?.resourceVersion) this.#stale.stale(key, current.metadata!.resourceVersion!);
      }
      this.writes++;
    } catch (err) {
      // A namespace being deleted refuses creates: drop the key (upstream NamespaceTerminatingCause).
      if (create && isForbidden(err) && /because it is being terminated|NamespaceTerminating/i.test(String((err as Error).message))) return;
      void this.#opts.events?.warning(service as Service, create ? "FailedToCreateEndpoint" : "FailedToUpdateEndpoint",
        `Failed to ${create ? "create" : "update"} endpoint ${key}: ${(err as Error).message}`).catch(() => {});
      throw err;
    }
  }
}
