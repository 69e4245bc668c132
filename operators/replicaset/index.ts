/**
 * The ReplicaSet operator: `apps.kubeloop.dev/v1alpha1` ReplicaSets that keep a number of pods
 * running, mirroring kubernetes `pkg/controller/replicaset` (see README.md).
 *
 * ```ts
 * const mgr = new Manager({ ... });
 * setupReplicaSetController(mgr, { maxConcurrentReconciles: 5 });
 * await mgr.start(signal);
 * ```
 */
export { setupReplicaSetController } from "./controller.ts";
export type { ReplicaSetControllerHandle, ReplicaSetControllerHost, ReplicaSetControllerOptions } from "./controller.ts";
export { ReplicaSetReconciler, EventReasons, specProblems } from "./reconciler.ts";
export type { ReplicaSetEventSink, ReplicaSetReconcilerOptions } from "./reconciler.ts";
export { ControllerExpectations, EXPECTATIONS_TIMEOUT_MS } from "./expectations.ts";
export { podsToDelete, compareForDeletion, podDeletionCost, POD_DELETION_COST_ANNOTATION } from "./ranking.ts";
export { calculateStatus, statusChanged, REPLICA_FAILURE } from "./status.ts";
export { BURST_REPLICAS } from "./pods.ts";
export { ReplicaSetDefinition, ReplicaSets } from "./api.ts";
export type { ReplicaSet, ReplicaSetSpec, ReplicaSetStatus, ReplicaSetCondition } from "./api.ts";
export { indirectlyRelatedPods, replicaSetsWithSameController } from "./related.ts";
export { selectorOf, selectorProblems } from "./selector.ts";
export { StatusWriteTracker } from "./status-writes.ts";
