import { ApiError } from "../../framework/client/index.ts";
import type { OwnerReference, Pod } from "../../framework/meta/index.ts";
import type { ReplicaSetShape } from "./types.ts";

/** At most this many pods are created or deleted in one sync (upstream `BurstReplicas`). */
export const BURST_REPLICAS = 500;
/** Size of the first slow-start batch (upstream `SlowStartInitialBatchSize`). */
export const SLOW_START_INITIAL_BATCH_SIZE = 1;

/** The `apiVersion` and `kind` a controller reference names. */
export interface OwnerKind {
  apiVersion: string;
  kind: string;
}

/**
 * The controller reference a ReplicaSet puts on its pods: `controller: true` and
 * `blockOwnerDeletion: true`, so foreground deletion of the ReplicaSet waits for them
 * (apimachinery `metav1.NewControllerRef`).
 * @throws Error when the ReplicaSet has no name or UID (it was never stored).
 */
export function controllerRefFor(rs: ReplicaSetShape, owner: OwnerKind): OwnerReference {
  const name = rs.metadata?.name;
  const uid = rs.metadata?.uid;
  if (!name || !uid) throw new Error(`${owner.kind} ${rs.metadata?.namespace ?? ""}/${name ?? "?"} has no name or uid: only stored objects can own pods`);
  return { apiVersion: owner.apiVersion, kind: owner.kind, name, uid, controller: true, blockOwnerDeletion: true };
}

/**
 * A new pod for a ReplicaSet: `generateName: <rs-name>-`, the template's labels, annotations,
 * finalizers and spec (deep copies), and the controller reference. Mirrors kubernetes
 * `controller_utils.go` `GetPodFromTemplate`.
 */
export function podFromTemplate(rs: ReplicaSetShape, controllerRef: OwnerReference): Pod {
  const template = rs.spec?.template ?? {};
  const meta = template.metadata ?? {};
  const pod: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: `${rs.metadata?.name ?? ""}-`,
      namespace: rs.metadata?.namespace,
      ownerReferences: [controllerRef],
    },
    spec: structuredClone(template.spec ?? { containers: [] }),
  };
  if (meta.labels) pod.metadata!.labels = { ...meta.labels };
  if (meta.annotations) pod.metadata!.annotations = { ...meta.annotations };
  if (meta.finalizers) pod.metadata!.finalizers = [...meta.finalizers];
  return pod;
}

/** Outcome of `slowStartBatch`. */
export interface SlowStartResult {
  /** Calls that succeeded. */
  successes: number;
  /** The first error of the first failing batch, if any; later batches were not started. */
  error?: unknown;
}

/**
 * Calls `fn` `count` times in batches of `initialBatchSize`, then twice as many each round
 * (1, 2, 4, 8, ...), the calls of one batch in parallel. After a batch with any failure it stops
 * and reports the first error: a request that fails (quota, admission) fails once instead of
 * `count` times. Mirrors kubernetes `replica_set.go` `slowStartBatch`.
 */
export async function slowStartBatch(count: number, initialBatchSize: number, fn: () => Promise<void>): Promise<SlowStartResult> {
  let remaining = count;
  let successes = 0;
  for (let batchSize = Math.min(remaining, initialBatchSize); batchSize > 0; batchSize = Math.min(2 * batchSize, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batchSize }, () => fn()));
    let error: unknown;
    for (const result of results) {
      if (result.status === "fulfilled") successes++;
      else if (error === undefined) error = result.reason ?? new Error("pod creation failed");
    }
    if (error !== undefined) return { successes, error };
    remaining -= batchSize;
  }
  return { successes };
}

/**
 * True when a create was refused because the namespace is being terminated (a `metav1.Status`
 * cause of type `NamespaceTerminating`): such a create counts as done, since every retry would
 * fail the same way until the namespace is gone.
 */
export function isNamespaceTerminating(err: unknown): boolean {
  return err instanceof ApiError && (err.status.details?.causes ?? []).some((c) => c.reason === "NamespaceTerminating");
}
