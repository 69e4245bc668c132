/**
 * `scheduling.kubeloop.dev/v1alpha1` PodGroup: a gang of pods that are scheduled all at once or
 * not at all. Mirrors scheduler-plugins' `scheduling.x-k8s.io/v1alpha1` PodGroup
 * (`apis/scheduling/v1alpha1/types.go`): the same spec (`minMember`, `minResources`,
 * `scheduleTimeoutSeconds`), the same status counters and phases, the same printer columns.
 * Pods join with the label `scheduling.kubeloop.dev/pod-group: <name>` in the PodGroup's
 * namespace.
 */
import { z } from "zod";
import { conditions, defineCustomResource, intOrString, type ObjectOfDefinition } from "../../framework/api/index.ts";

/** The API group of kubeloop's scheduling resources. */
export const SCHEDULING_GROUP = "scheduling.kubeloop.dev";

/** The label that makes a pod a member of the PodGroup it names (same namespace). */
export const POD_GROUP_LABEL = "scheduling.kubeloop.dev/pod-group";

/**
 * The phases of a PodGroup (scheduler-plugins' `PodGroupPhase`, without `Unknown`, which its
 * controller never writes):
 * - `Pending`: fewer than `minMember` pods of the group exist.
 * - `Scheduling`: at least `minMember` pods exist, fewer than `minMember` run or succeeded.
 * - `Running`: at least `minMember` pods run or succeeded.
 * - `Finished`: at least `minMember` pods succeeded (final).
 * - `Failed`: some pod failed after the group had `minMember` pods started (final).
 */
export const PodGroupPhases = ["Pending", "Scheduling", "Running", "Finished", "Failed"] as const;
/** One of `PodGroupPhases`. */
export type PodGroupPhase = (typeof PodGroupPhases)[number];

/** A resource list (`corev1.ResourceList`): resource name -> quantity (`"2"`, `"500m"`, `"8Gi"`, or a number). */
const resourceList = () => z.record(z.string().min(1).max(253), intOrString());

const podGroupSpec = z.object({
  minMember: z
    .int32()
    .min(1)
    .describe("Least number of pods that must be schedulable together; none is bound before that many fit at once. At least 1."),
  minResources: resourceList()
    .optional()
    .describe("Least total resources the group needs (cpu, memory, nvidia.com/gpu, ...): the scheduler does not try the group while the sum of the nodes' free allocatable (the group's own pods counted as free) is below it (scheduler-plugins' resource gap check; taints and affinity are not considered)."),
  scheduleTimeoutSeconds: z
    .int32()
    .min(1)
    .optional()
    .describe("How long the group may stay Pending or Scheduling with no member running before the controller warns (Event Timeout), in seconds. Default 172800 (48 h, scheduler-plugins' fixed limit). The kubeloop scheduler decides a group in one cycle, so no member waits at Permit for it."),
});

const podGroupStatus = z.object({
  phase: z.enum(PodGroupPhases).optional().describe("Where the group is: Pending, Scheduling, Running, Finished or Failed."),
  running: z.int32().min(0).optional().describe("Member pods in phase Running."),
  succeeded: z.int32().min(0).optional().describe("Member pods in phase Succeeded."),
  failed: z.int32().min(0).optional().describe("Member pods in phase Failed."),
  scheduleStartTime: z.iso.datetime().optional().describe("When the group first had minMember pods and scheduling began (RFC 3339)."),
  conditions: conditions().optional().describe("Latest observations: PodGroupScheduled (True once the group was placed; never regressed)."),
});

/** The definition of `scheduling.kubeloop.dev/v1alpha1` PodGroup (short names `pg`, `pgs`): CRD, parse, make. */
export const PodGroupDefinition = defineCustomResource({
  group: SCHEDULING_GROUP,
  version: "v1alpha1",
  kind: "PodGroup",
  plural: "podgroups",
  singular: "podgroup",
  shortNames: ["pg", "pgs"],
  scope: "Namespaced",
  description: `PodGroup is a gang of pods (label ${POD_GROUP_LABEL}: <name>) that the kubeloop scheduler places all at once or not at all.`,
  spec: podGroupSpec,
  status: podGroupStatus,
  printerColumns: [
    { name: "Phase", type: "string", jsonPath: ".status.phase", description: "Phase of the pod group" },
    { name: "MinMember", type: "integer", jsonPath: ".spec.minMember", description: "Least number of pods scheduled together" },
    { name: "Running", type: "integer", jsonPath: ".status.running", description: "Member pods running" },
    { name: "Succeeded", type: "integer", jsonPath: ".status.succeeded", description: "Member pods succeeded" },
    { name: "Failed", type: "integer", jsonPath: ".status.failed", description: "Member pods failed" },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
  ],
});

/** `scheduling.kubeloop.dev/v1alpha1` PodGroups: the ResourceType for the client, the cache and the builder. */
export const PodGroups = PodGroupDefinition.resource;

/** A PodGroup as read from the API server. */
export type PodGroup = ObjectOfDefinition<typeof PodGroupDefinition>;
/** `spec` of a PodGroup. */
export type PodGroupSpec = z.output<typeof podGroupSpec>;
/** `status` of a PodGroup. */
export type PodGroupStatus = z.output<typeof podGroupStatus>;
/** One status condition of a PodGroup. */
export type PodGroupCondition = NonNullable<PodGroupStatus["conditions"]>[number];
