import { LABEL_INDEX, labelIndexFunc, type CacheReader, type Informer } from "../../framework/cache/index.ts";
import type { Client } from "../../framework/client/index.ts";
import { controllerFor, keyOfRequest, type Controller, type ControllerHost, type Request, type RequestMapper } from "../../framework/controller/index.ts";
import { enqueueSelecting } from "../../framework/controller/selector-handler.ts";
import { Nodes, Pods, Services, type Node, type Pod, type Service } from "../../framework/meta/index.ts";
import { defaultControllerRateLimiter, ItemExponentialFailureRateLimiter, BucketRateLimiter, MaxOfRateLimiter } from "../../framework/queue/index.ts";
import { KubeloopEndpoints, KubeloopEndpointSlices, type EndpointsObject, type EndpointSliceObject } from "./api.ts";
import type { EventRecorder } from "../../framework/events/index.ts";
import { EndpointsReconciler, type EndpointsEventSink } from "./endpoints-reconciler.ts";
import { podEndpointsChanged } from "./pods.ts";
import { SERVICE_NAME_LABEL, SLICE_MANAGED_BY_LABEL } from "./slice-placement.ts";
import { EndpointSliceReconciler, SLICE_CONTROLLER_NAME } from "./slices-reconciler.ts";

/** Retries of one Service key before it is dropped until its next event (upstream `maxRetries`). */
export const MAX_RETRIES = 15;

/** What `setupEndpointsControllers` needs from a manager (`framework/manager`'s `Manager` fits). */
export interface EndpointsControllerHost extends ControllerHost {
  readonly client: Client;
  eventRecorder?(component: string): EndpointsEventSink & Pick<EventRecorder, "event">;
}

/** Options of `setupEndpointsControllers`. */
export interface EndpointsControllerOptions {
  /** Service syncs at the same time, per controller. Default 5 (`--concurrent-endpoint-syncs`, `--concurrent-service-endpoint-syncs`). */
  workers?: number;
  /** Endpoints per slice, 1-1000. Default 100 (`--max-endpoints-per-slice`). */
  maxEndpointsPerSlice?: number;
  /**
   * Delay in milliseconds before a pod change is synced, so several changes of one Service's
   * pods make one sync (`--endpoint-updates-batch-period`, `--endpointslice-updates-batch-period`).
   * Service changes are synced at once. Default 0.
   */
  batchPeriodMs?: number;
  /** Run the Endpoints controller. Default true. */
  endpoints?: boolean;
  /** Run the EndpointSlice controller. Default true. */
  endpointSlices?: boolean;
}

/** The running pieces, for tests. */
export interface EndpointsControllersHandle {
  endpoints?: { controller: Controller<Service>; reconciler: EndpointsReconciler };
  endpointSlices?: { controller: Controller<Service>; reconciler: EndpointSliceReconciler };
}

/** The requests of the Services of `pod`'s namespace whose (non-nil) selector matches its labels (upstream `GetPodServiceMemberships`). */
export function servicesSelecting(pod: Pod, services: CacheReader<Service>): Request[] {
  const namespace = pod.metadata?.namespace ?? "";
  const labels = pod.metadata?.labels ?? {};
  const out: Request[] = [];
  for (const svc of services.list(namespace)) {
    const selector = svc.spec?.selector;
    if (selector === undefined || selector === null) continue;
    if (Object.entries(selector).every(([k, v]) => labels[k] === v)) out.push({ namespace, name: svc.metadata?.name ?? "" });
  }
  return out;
}

function addLabelIndex(informer: Informer<Pod> | Informer<EndpointSliceObject>): void {
  try {
    (informer as Informer<Pod>).addIndex(LABEL_INDEX, labelIndexFunc);
  } catch (err) {
    // Another controller of this manager added it already.
    if (!(err instanceof Error && /already exists/.test(err.message))) throw err;
  }
}

/**
 * The pod watch of `controller`: `mapper` as is, or, with a batch period, a mapper whose requests
 * are queued after `batchPeriodMs` (the queue folds the repeats; upstream `AddAfter(key,
 * endpointUpdatesBatchPeriod)`).
 */
function batched(mapper: RequestMapper<Pod>, controller: Controller<Service>, batchPeriodMs: number): RequestMapper<Pod> {
  if (batchPeriodMs <= 0) return mapper;
  const later = (reqs: Request[]): Request[] => {
    for (const r of reqs) {
      const key = keyOfRequest(r);
      if (key !== undefined) controller.queue.addAfter(key, batchPeriodMs);
    }
    return [];
  };
  return { create: (p) => later(mapper.create(p)), update: (o, n) => later(mapper.update(o, n)), delete: (p) => later(mapper.delete(p)) };
}

/**
 * Wraps a reconcile so that a key failing `MAX_RETRIES` times in a row is dropped (forgotten)
 * instead of retried, as upstream `handleErr` does; its next event brings it back.
 */
function withMaxRetries(reconcile: (req: Request, ctx: { signal: AbortSignal }) => Promise<void | { requeueAfterMs: number } | { requeue: true }>, controller: () => Controller<Service> | undefined) {
  return async (req: Request, ctx: { signal: AbortSignal }) => {
    try {
      return await reconcile(req, ctx);
    } catch (err) {
      const c = controller();
      const key = `${req.namespace ?? ""}/${req.name}`;
      if (c && c.queue.numRequeues(key) >= MAX_RETRIES) {
        c.queue.forget(key);
        return;
      }
      throw err;
    }
  };
}

/**
 * Registers the Endpoints and EndpointSlice controllers of `discovery.kubeloop.dev` with a
 * manager: both for Services, fed by the same pod informer (pod events map to the Services
 * whose selector matches the pod, through `enqueueSelecting` with upstream's pod-update
 * filter) and watching their own objects, so an object edited or deleted by hand is put back.
 * Settings as kube-controller-manager v1.36: 5 workers each; the Endpoints queue backs off
 * 5 ms -> 1000 s per key with a 10 qps / 100 burst bucket, the EndpointSlice queue 1 s -> 1000 s;
 * a key is dropped after 15 failed retries.
 * @throws Error when the manager already has controllers of these names.
 */
export function setupEndpointsControllers(host: EndpointsControllerHost, opts: EndpointsControllerOptions = {}): EndpointsControllersHandle {
  const workers = opts.workers ?? 5;
  const services: Informer<Service> = host.cache.informerFor(Services);
  const pods: Informer<Pod> = host.cache.informerFor(Pods);
  addLabelIndex(pods);
  const podMapper = enqueueSelecting<Pod>({
    selectorsOf: (pod) => servicesSelecting(pod, services.store),
    membershipChanged: (o, n) => podEndpointsChanged(o, n).membershipChanged,
    contentChanged: (o, n) => podEndpointsChanged(o, n).podChanged,
  });
  const handle: EndpointsControllersHandle = {};

  if (opts.endpoints ?? true) {
    const ours: Informer<EndpointsObject> = host.cache.informerFor(KubeloopEndpoints);
    const reconciler = new EndpointsReconciler({
      client: host.client,
      services: services.store,
      pods: pods.store,
      endpoints: ours.store,
      ...(host.eventRecorder ? { events: host.eventRecorder("endpoint-controller.kubeloop.dev") } : {}),
    });
    let controller: Controller<Service> | undefined;
    controller = controllerFor(host, Services)
      .named("endpoints")
      // Our Endpoints share the Service's key: a delete or a hand edit syncs the Service again,
      // and at start every Endpoints is synced once (orphans are deleted: checkLeftoverEndpoints).
      .watches(KubeloopEndpoints, (ep) => [{ namespace: ep.metadata?.namespace ?? "", name: ep.metadata?.name ?? "" }])
      .needs(KubeloopEndpoints, ["create", "update", "delete"])
      .withOptions({ maxConcurrentReconciles: workers, rateLimiter: defaultControllerRateLimiter<string>() })
      .complete(withMaxRetries((req, ctx) => reconciler.reconcile(req, ctx), () => controller));
    controller.watch({ informer: pods, mapper: batched(podMapper, controller, opts.batchPeriodMs ?? 0), description: "Pod.v1 (selected by Services)" });
    handle.endpoints = { controller, reconciler };
  }

  if (opts.endpointSlices ?? true) {
    const nodes: Informer<Node> = host.cache.informerFor(Nodes);
    const slices: Informer<EndpointSliceObject> = host.cache.informerFor(KubeloopEndpointSlices);
    addLabelIndex(slices);
    const reconciler = new EndpointSliceReconciler({
      client: host.client,
      services: services.store,
      pods: pods.store,
      nodes: nodes.store,
      slices: slices.store,
      ...(opts.maxEndpointsPerSlice !== undefined ? { maxEndpointsPerSlice: opts.maxEndpointsPerSlice } : {}),
      ...(host.eventRecorder ? { events: host.eventRecorder("endpointslice-controller.kubeloop.dev") } : {}),
    });
    slices.addEventHandler({ onDelete: (s) => reconciler.tracker.observedDeletion(s.metadata?.uid ?? "") });
    let controller: Controller<Service> | undefined;
    controller = controllerFor(host, Services)
      .named("endpointslices")
      .watches(KubeloopEndpointSlices, (s) => {
        const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
        if (!svc || s.metadata?.labels?.[SLICE_MANAGED_BY_LABEL] !== SLICE_CONTROLLER_NAME) return [];
        return [{ namespace: s.metadata?.namespace ?? "", name: svc }];
      })
      .needs(KubeloopEndpointSlices, ["create", "update", "delete"])
      .withOptions({
        maxConcurrentReconciles: workers,
        rateLimiter: new MaxOfRateLimiter<string>(new ItemExponentialFailureRateLimiter<string>(1000, 1_000_000), new BucketRateLimiter<string>(10, 100)),
      })
      .complete(withMaxRetries((req, ctx) => reconciler.reconcile(req, ctx), () => controller));
    controller.watch({ informer: pods, mapper: batched(podMapper, controller, opts.batchPeriodMs ?? 0), description: "Pod.v1 (selected by Services)" });
    handle.endpointSlices = { controller, reconciler };
  }
  return handle;
}
