import type { KubeObject, LabelSelector, Pod } from "../../framework/meta/index.ts";

export type { LabelSelector };

/** One `status.conditions` entry of a ReplicaSet (apps/v1 `ReplicaSetCondition`). */
export interface ReplicaSetConditionShape {
  type: string;
  status: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

/** The status fields this controller writes (apps/v1 `ReplicaSetStatus` plus `selector`). */
export interface ReplicaSetStatusShape {
  replicas: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  terminatingReplicas?: number;
  observedGeneration?: number;
  conditions?: ReplicaSetConditionShape[];
  /** The selector in label-selector string syntax, read by the `scale` subresource. */
  selector?: string;
}

/**
 * The part of a ReplicaSet the controller reads: apps/v1's shape. Both
 * `apps.kubeloop.dev/v1alpha1` ReplicaSets and apps/v1 objects fit it, so the pure logic
 * (status, ranking, claim) does not depend on one API version.
 */
export interface ReplicaSetShape extends KubeObject {
  spec?: {
    replicas?: number;
    minReadySeconds?: number;
    selector?: LabelSelector;
    template?: { metadata?: Pod["metadata"]; spec?: Pod["spec"] };
  };
  status?: Partial<ReplicaSetStatusShape>;
}
