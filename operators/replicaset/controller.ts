import type { Client } from "../../framework/client/index.ts";
import { CONTROLLER_UID_INDEX, type CacheReader, type EventHandler, type Informer } from "../../framework/cache/index.ts";
import { controllerFor, type Controller, type ControllerHost, type Request } from "../../framework/controller/index.ts";
import { controllerOf, keyOf, Pods, type Pod } from "../../framework/meta/index.ts";
import { ReplicaSets, type ReplicaSet } from "./api.ts";
import { ControllerExpectations } from "./expectations.ts";
import { usableSelectorOf } from "./selector.ts";
import { ReplicaSetReconciler, type ReplicaSetEventSink } from "./reconciler.ts";
import type { ReplicaSetShape } from "./types.ts";

/** What `setupReplicaSetController` needs from a manager (`framework/manager`'s `Manager` fits). */
export interface ReplicaSetControllerHost extends ControllerHost {
  readonly client: Client;
  eventRecorder(component: string): ReplicaSetEventSink;
}

/** Options of `setupReplicaSetController`. */
export interface ReplicaSetControllerOptions {
  /** Controller name: metrics label, work queue name, Event source. Default `replicaset`. */
  name?: string;
  /** ReplicaSets reconciled at the same time. Default 5 (kube-controller-manager `--concurrent-replicaset-syncs`). */
  maxConcurrentReconciles?: number;
  /** Most pods created or deleted per reconcile. Default 500 (upstream `BurstReplicas`). */
  burstReplicas?: number;
  /**
   * Least time between two status writes of one ReplicaSet that only report progress, in ms.
   * Default 1000; 0 writes every change at once (upstream). See `StatusWriteTracker`.
   */
  statusWriteIntervalMs?: number;
}

/** The running pieces, for tests and for callers that want to look inside. */
export interface ReplicaSetControllerHandle {
  controller: Controller<ReplicaSet>;
  reconciler: ReplicaSetReconciler<ReplicaSet>;
  expectations: ControllerExpectations;
}

/** `namespace/name` of the ReplicaSet (apps.kubeloop.dev, any version) that controls `pod`, or undefined. */
function controllingReplicaSetKey(pod: Pod): string | undefined {
  const ref = controllerOf(pod);
  if (!ref || ref.kind !== ReplicaSets.kind || ref.apiVersion.split("/")[0] !== ReplicaSets.group) return undefined;
  return `${pod.metadata?.namespace ?? ""}/${ref.name}`;
}

/**
 * The informer handler that feeds pod events into `expectations` (upstream `addPod`,
 * `updatePod`, `deletePod`): a new pod controlled by one of our ReplicaSets is an observed
 * creation; a pod first seen with a deletionTimestamp, an update that sets one, or a delete is an
 * observed deletion (counted once per pod). A pod whose controller ref names a ReplicaSet that is
 * not cached, or one with another UID (a deleted namesake), is ignored (upstream
 * `resolveControllerRef`).
 */
export function podExpectationsHandler(expectations: ControllerExpectations, replicaSets: CacheReader<ReplicaSetShape>): EventHandler<Pod> {
  const resolve = (pod: Pod): string | undefined => {
    const key = controllingReplicaSetKey(pod);
    if (!key) return undefined;
    const rs = replicaSets.get(key);
    // Upstream resolveControllerRef: a ReplicaSet that is not cached, or a namesake with another
    // UID, is not the pod's controller; nothing is observed for it.
    return rs !== undefined && rs.metadata?.uid === controllerOf(pod)?.uid ? key : undefined;
  };
  const observeDeletion = (pod: Pod): void => {
    const key = resolve(pod);
    if (key) expectations.deletionObserved(key, keyOf(pod));
  };
  return {
    onAdd(pod) {
      // A pod can show up already being deleted (e.g. after a relist): count it as deleted.
      if (pod.metadata?.deletionTimestamp) return observeDeletion(pod);
      const key = resolve(pod);
      if (key) expectations.creationObserved(key);
    },
    onUpdate(oldPod, newPod) {
      if (!newPod.metadata?.deletionTimestamp) return;
      observeDeletion(newPod);
      if (controllingReplicaSetKey(oldPod) !== controllingReplicaSetKey(newPod)) observeDeletion(oldPod);
    },
    onDelete(pod) {
      observeDeletion(pod);
    },
  };
}

/**
 * The ReplicaSets that may adopt `pod` (upstream `getPodReplicaSets`, for orphans): those in its
 * namespace with a usable selector that matches its labels. Pods with a controller, and pods
 * being deleted, map to none (the `owns` watch covers controlled pods).
 */
export function replicaSetsForOrphan(pod: Pod, replicaSets: CacheReader<ReplicaSetShape>): Request[] {
  if (controllerOf(pod) || pod.metadata?.deletionTimestamp) return [];
  const namespace = pod.metadata?.namespace ?? "";
  return replicaSets.list(namespace)
    .filter((rs) => usableSelectorOf(rs.spec?.selector).matches(pod.metadata?.labels))
    .map((rs) => ({ namespace, name: rs.metadata?.name ?? "" }));
}

/** An informer's last synced resourceVersion, "" when it does not say (then no sync waits for it). */
function lastSyncResourceVersion(informer: object): string {
  const rv = (informer as { lastSyncResourceVersion?: unknown }).lastSyncResourceVersion;
  return typeof rv === "string" ? rv : "";
}

/**
 * Registers the `apps.kubeloop.dev/v1alpha1` ReplicaSet controller with a manager: for
 * ReplicaSets, owning Pods, and watching orphan pods so that a ReplicaSet whose selector matches
 * one is reconciled and adopts it. Pod events feed the expectations the reconciler waits on
 * (`podExpectationsHandler`); a deleted ReplicaSet's expectations are dropped (upstream
 * `deleteRS`).
 * @throws Error when the manager already has a controller of the same name.
 */
export function setupReplicaSetController(host: ReplicaSetControllerHost, opts: ReplicaSetControllerOptions = {}): ReplicaSetControllerHandle {
  const name = opts.name ?? "replicaset";
  const expectations = new ControllerExpectations();
  const rsInformer: Informer<ReplicaSet> = host.cache.informerFor(ReplicaSets);
  const podInformer: Informer<Pod> = host.cache.informerFor(Pods);

  podInformer.addEventHandler(podExpectationsHandler(expectations, rsInformer.store));
  rsInformer.addEventHandler({
    onUpdate: (oldRs, newRs) => {
      if (oldRs.metadata?.uid !== newRs.metadata?.uid) expectations.delete(keyOf(newRs));
    },
    onDelete: (rs) => expectations.delete(keyOf(rs)),
  });

  const reconciler = new ReplicaSetReconciler<ReplicaSet>({
    replicaSetType: ReplicaSets,
    client: host.client,
    events: host.eventRecorder(name),
    expectations,
    // The framework's stores index every object by its controller's UID (upstream controllerUIDIndex).
    controllerUidIndex: CONTROLLER_UID_INDEX,
    consistency: {
      pods: () => lastSyncResourceVersion(podInformer),
      replicaSets: () => lastSyncResourceVersion(rsInformer),
    },
    ...(opts.burstReplicas !== undefined ? { burstReplicas: opts.burstReplicas } : {}),
    ...(opts.statusWriteIntervalMs !== undefined ? { statusWriteIntervalMs: opts.statusWriteIntervalMs } : {}),
  });

  const controller = controllerFor(host, ReplicaSets)
    .named(name)
    .owns(Pods)
    .watches(Pods, (pod) => replicaSetsForOrphan(pod, rsInformer.store))
    // Pods: created, deleted, adopted and released (patches of ownerReferences).
    .needs(Pods, ["create", "patch", "delete"])
    // A fresh read before adopting and before retrying a status write; the status write itself.
    .needs(ReplicaSets, ["get"])
    .needs(ReplicaSets, ["update"], "status")
    // Owner references with blockOwnerDeletion, where OwnerReferencesPermissionEnforcement is on.
    .needs(ReplicaSets, ["update"], "finalizers")
    .withOptions({ maxConcurrentReconciles: opts.maxConcurrentReconciles ?? 5 })
    .complete(reconciler);
  return { controller, reconciler, expectations };
}
