/**
 * The native pod group API of Kubernetes v1.36 (KEP-4671, alpha): `scheduling.k8s.io/v1alpha2`
 * PodGroup, served only when kube-apiserver runs with
 * `--runtime-config=scheduling.k8s.io/v1alpha2=true` and `--feature-gates=GenericWorkload=true`.
 * Only the fields the gang plugin reads or writes are typed (`k8s.io/api/scheduling/v1alpha2/types.go`).
 */
import { isNotFound, type Client } from "../../framework/client/index.ts";
import { resourceType, type KubeObject, type ObjectMeta } from "../../framework/meta/index.ts";

/** `scheduling.k8s.io/v1alpha2` `PodGroupSchedulingPolicy`: exactly one of `basic` and `gang`. */
export interface NativeSchedulingPolicy {
  /** Members are scheduled one by one, as if there were no group. */
  basic?: Record<string, never>;
  /** All-or-nothing: no member binds before `minCount` members fit together. */
  gang?: { minCount: number };
}

/** A `metav1.Condition`. */
export interface NativeCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** `scheduling.k8s.io/v1alpha2` PodGroup (namespaced, with a status subresource). */
export interface NativePodGroup extends KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec: {
    schedulingPolicy: NativeSchedulingPolicy;
    podGroupTemplateRef?: { workload?: { workloadName: string; podGroupTemplateName: string } };
    disruptionMode?: string;
  };
  status?: { conditions?: NativeCondition[] };
}

/** `scheduling.k8s.io/v1alpha2` PodGroups. */
export const NativePodGroups = resourceType<NativePodGroup>({
  group: "scheduling.k8s.io", version: "v1alpha2", kind: "PodGroup", plural: "podgroups", namespaced: true,
});

/**
 * The least number of members that must fit together (`gang.minCount`), 1 for `basic`.
 * @throws Error when the policy names neither (the API server refuses that, so only a broken object gets here).
 */
export function nativeMinMember(pg: NativePodGroup): number {
  const policy = pg.spec?.schedulingPolicy;
  if (policy?.gang) return policy.gang.minCount;
  if (policy?.basic) return 1;
  throw new Error(`PodGroup.v1alpha2.scheduling.k8s.io ${pg.metadata?.namespace}/${pg.metadata?.name}: spec.schedulingPolicy has neither basic nor gang`);
}

/**
 * Whether the server serves `scheduling.k8s.io/v1alpha2` PodGroups (discovery of the group
 * version; a 404 means not served).
 * @throws ApiError for any failure other than "not served".
 */
export async function nativePodGroupsServed(client: Client, signal?: AbortSignal): Promise<boolean> {
  try {
    await client.list(NativePodGroups, { limit: 1, ...(signal ? { signal } : {}) });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
