/** Pods and PodGroups for the gang-scheduling unit tests. */
import type { Pod } from "../../../../framework/meta/index.ts";
import { POD_GROUP_LABEL, PodGroupDefinition, type PodGroup } from "../../../../operators/gang-scheduling/api.ts";
import type { NativePodGroup } from "../../../../operators/gang-scheduling/native-api.ts";

/** A pod of namespace `ns` (default `ns`), optionally in a kubeloop group (`group`) or a native one (`native`). */
export function pod(name: string, o: {
  ns?: string; group?: string; native?: string; phase?: string; deleting?: boolean; schedulerName?: string; nodeName?: string;
} = {}): Pod {
  return {
    apiVersion: "v1", kind: "Pod",
    metadata: {
      name, namespace: o.ns ?? "ns", uid: `uid-${name}`,
      ...(o.group ? { labels: { [POD_GROUP_LABEL]: o.group } } : {}),
      ...(o.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
    },
    spec: {
      containers: [{ name: "c", image: "pause" }],
      schedulerName: o.schedulerName ?? "kubeloop-scheduler",
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      ...(o.native ? { schedulingGroup: { podGroupName: o.native } } : {}),
    } as Pod["spec"],
    status: { phase: (o.phase ?? "Pending") as "Pending" },
  };
}

/** A kubeloop PodGroup. */
export function podGroup(name: string, minMember: number, ns = "ns", status?: PodGroup["status"]): PodGroup {
  const pg = PodGroupDefinition.make({ metadata: { name, namespace: ns, uid: `pg-${name}`, creationTimestamp: "2026-01-01T00:00:00Z" }, spec: { minMember } });
  return status ? { ...pg, status } : pg;
}

/** A native PodGroup with a gang policy (`minCount`) or `basic` (minCount undefined). */
export function nativeGroup(name: string, minCount: number | undefined, ns = "ns"): NativePodGroup {
  return {
    apiVersion: "scheduling.k8s.io/v1alpha2", kind: "PodGroup",
    metadata: { name, namespace: ns, uid: `npg-${name}` },
    spec: { schedulingPolicy: minCount === undefined ? { basic: {} } : { gang: { minCount } } },
  };
}
