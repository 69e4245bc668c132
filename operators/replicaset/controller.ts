import type { Client } from "../../framework/client/index.ts";
import type { Informer } from "../../framework/cache/index.ts";
import { controllerFor, type Controller, type ControllerHost, type Request } from "../../framework/controller/index.ts";
import { controllerOf, Pods, type Pod } from "../../framework/meta/index.ts";
import { ReplicaSets, type ReplicaSet } from "./api.ts";
import { ControllerExpectations } from "./expectations.ts";
import { selectorMatches, selectorProblems } from "./labels.ts";
import { ReplicaSetReconciler, type ReplicaSetEventSink } from "./reconciler.ts";

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
}

/** The running pieces, for tests and for callers that want to look inside. */
export interface ReplicaSetControllerHandle {
  controller: Controller<ReplicaSet>;
  reconciler: ReplicaSetReconciler<ReplicaSet>;
  expectations: ControllerExpectations;
}

const GROUP = ReplicaSets.group;

/** `namespace/name` of the ReplicaSet that controls `pod`, or undefined when none of ours does. */
function controllingReplicaSetKey(pod: Pod): string | undefined {
  const ref = controllerOf(pod);
  if (!ref || ref.kind !== ReplicaSets.kind || ref.apiVersion.split("/")[0] !== GROUP) return undefined;
  return `${pod.metadata?.namespace ?? ""}/${ref.name}`;
}

/**
 * Registers the `apps.kubeloop.dev/v1alpha1` ReplicaSet controller with a manager: for
 * ReplicaSets, owning Pods, and watching orphan pods so that a ReplicaSet whose selector matches
 * one is reconciled and adopts it. Pod events also feed the expectations the reconciler waits on
 * (mirrors upstream `addPod`/`updatePod`/`deletePod`): a new pod is an observed creation; a pod
 * first seen with a deletionTimestamp, an update that sets one, or a delete is an observed
 * deletion, counted once per pod.
 * @throws Error when the manager already has a controller of the same name.
 */
export function setupReplicaSetController(host: ReplicaSetControllerHost, opts: ReplicaSetControllerOptions = {}): ReplicaSetControllerHandle {
  const name = opts.name ?? "replicaset";
  const expectations = new ControllerExpectations();
  const rsInformer: Informer<ReplicaSet> = host.cache.informerFor(ReplicaSets);
  const podInformer: Informer<Pod> = host.cache.informerFor(Pods);

  const sameUid = (key: string, pod: Pod): boolean => {
    const rs = rsInformer.store.get(key);
    return rs === undefined || rs.metadata?.uid === controllerOf(pod)?.uid;
  };
  const observeDeletion = (pod: Pod): void => {
    const key = controllingReplicaSetKey(pod);
    if (key && sameUid(key, pod)) expectations.deletionObserved(key, `${pod.metadata?.namespace}/${pod.metadata?.name}`);
  };
  podInformer.addEventHandler({
    onAdd(pod) {
      // A pod can show up already being deleted (e.g. after a relist): count it as deleted.
      if (pod.metadata?.deletionTimestamp) return observeDeletion(pod);
      const key = controllingReplicaSetKey(pod);
      if (key && sameUid(key, pod)) expectations.creationObserved(key);
    },
    onUpdate(oldPod, newPod) {
      if (!newPod.metadata?.deletionTimestamp) return;
      observeDeletion(newPod);
      if (controllingReplicaSetKey(oldPod) !== controllingReplicaSetKey(newPod)) observeDeletion(oldPod);
    },
    onDelete(pod) {
      observeDeletion(pod);
    },
  });

  /** ReplicaSets that would adopt this pod: only for orphans that are not being deleted. */
  const replicaSetsForOrphan = (pod: Pod): Request[] => {
    if (controllerOf(pod) || pod.metadata?.deletionTimestamp) return [];
    const namespace = pod.metadata?.namespace ?? "";
    return rsInformer.store.list(namespace)
      .filter((rs) => selectorProblems(rs.spec?.selector).length === 0 && selectorMatches(rs.spec!.selector!, pod.metadata?.labels))
      .map((rs) => ({ namespace, name: rs.metadata?.name ?? "" }));
  };

  const reconciler = new ReplicaSetReconciler<ReplicaSet>({
    replicaSetType: ReplicaSets,
    client: host.client,
    replicaSets: rsInformer.store,
    pods: podInformer.store,
    events: host.eventRecorder(name),
    expectations,
    ...(opts.burstReplicas !== undefined ? { burstReplicas: opts.burstReplicas } : {}),
  });

  const controller = controllerFor(host, ReplicaSets)
    .named(name)
    .owns(Pods)
    .watches(Pods, replicaSetsForOrphan)
    .withOptions({ maxConcurrentReconciles: opts.maxConcurrentReconciles ?? 5 })
    .complete(reconciler);
  return { controller, reconciler, expectations };
}

