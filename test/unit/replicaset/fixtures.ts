import type { Pod } from "../../../framework/meta/index.ts";

/** Options of `makePod`. */
export interface PodOptions {
  name: string;
  namespace?: string;
  uid?: string;
  node?: string;
  phase?: "Pending" | "Running" | "Unknown" | "Succeeded" | "Failed";
  ready?: boolean;
  readySince?: string;
  created?: string;
  restarts?: number[];
  cost?: string;
  labels?: Record<string, string>;
  deleting?: boolean;
  controllerUid?: string;
}

/** A pod for tests with only the fields the ReplicaSet logic reads. */
export function makePod(o: PodOptions): Pod {
  const pod: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: o.name,
      namespace: o.namespace ?? "ns",
      uid: o.uid ?? `uid-${o.name}`,
      labels: o.labels ?? { app: "web" },
      creationTimestamp: o.created ?? "2026-01-01T00:00:00Z",
    },
    spec: { containers: [{ name: "c", image: "i" }], nodeName: o.node },
    status: { phase: o.phase ?? "Running" },
  };
  if (o.ready !== undefined) {
    pod.status!.conditions = [{ type: "Ready", status: o.ready ? "True" : "False", lastTransitionTime: o.readySince }];
  }
  if (o.restarts) {
    pod.status!.containerStatuses = o.restarts.map((n, i) => ({
      name: `c${i}`, image: "i", imageID: "", ready: true, restartCount: n,
    }));
  }
  if (o.cost !== undefined) pod.metadata!.annotations = { "controller.kubernetes.io/pod-deletion-cost": o.cost };
  if (o.deleting) pod.metadata!.deletionTimestamp = "2026-01-01T00:00:00Z";
  if (o.controllerUid) {
    pod.metadata!.ownerReferences = [{ apiVersion: "apps.kubeloop.dev/v1alpha1", kind: "ReplicaSet", name: "rs", uid: o.controllerUid, controller: true }];
  }
  return pod;
}

/** A ReplicaSet for tests (apps/v1 shape). */
export function makeReplicaSet(overrides: { replicas?: number; minReadySeconds?: number; deleting?: boolean; generation?: number; templateLabels?: Record<string, string> } = {}) {
  return {
    apiVersion: "apps.kubeloop.dev/v1alpha1",
    kind: "ReplicaSet",
    metadata: {
      name: "rs",
      namespace: "ns",
      uid: "rs-uid",
      generation: overrides.generation ?? 1,
      ...(overrides.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
    },
    spec: {
      replicas: overrides.replicas ?? 2,
      minReadySeconds: overrides.minReadySeconds ?? 0,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: overrides.templateLabels ?? { app: "web" } },
        spec: { containers: [{ name: "c", image: "i" }] },
      },
    },
    status: { replicas: 0 } as Record<string, unknown> & { replicas: number },
  };
}
