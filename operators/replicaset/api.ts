import { z } from "zod";
import {
  conditions,
  defineCustomResource,
  labelSelector,
  nonEmptySelectorRule,
  podTemplateSpec,
  selectorMatchesLabelsCel,
  withCel,
  type ObjectOfDefinition,
} from "../../framework/api/index.ts";

/**
 * `spec` of an `apps.kubeloop.dev/v1alpha1` ReplicaSet: apps/v1 `ReplicaSetSpec`.
 * The rules of apps/v1 validation (`ValidateReplicaSetSpec`, and the strategy's selector
 * immutability) are CEL rules here, with apps/v1's messages (including its "for deployment"
 * wording of the empty-selector error).
 */
const replicaSetSpec = withCel(
  z.object({
    replicas: z.int32().min(0).default(1).describe("Number of desired pods. Defaults to 1."),
    minReadySeconds: z
      .int32()
      .min(0)
      .default(0)
      .describe("Minimum number of seconds a new pod must be ready, without any container crashing, to count as available. Defaults to 0."),
    selector: withCel(labelSelector(), [
      nonEmptySelectorRule,
      { rule: "self == oldSelf", message: "field is immutable" },
    ]).describe("Label query over pods that should match the replica count. Must match the template's labels. Immutable."),
    template: podTemplateSpec().describe("The pod created when too few replicas exist."),
  }),
  [
    {
      rule: selectorMatchesLabelsCel("self.selector", "self.template.metadata", "self.template.metadata.labels"),
      message: "`selector` does not match template `labels`",
      fieldPath: ".template.metadata.labels",
    },
  ],
);

const atMostReplicas = (field: string) => ({
  rule: `!has(self.${field}) || self.${field} <= self.replicas`,
  message: "cannot be greater than status.replicas",
  fieldPath: `.${field}`,
});

/**
 * `status` of a ReplicaSet: apps/v1 `ReplicaSetStatus` plus `selector`, the string form the
 * scale subresource reports. The counts obey apps/v1 `ValidateReplicaSetStatus`: none exceeds
 * `replicas`, and `availableReplicas` does not exceed `readyReplicas`.
 */
const replicaSetStatusFields = z.object({
  replicas: z.int32().min(0).default(0).describe("Most recently observed number of non-terminating pods."),
  fullyLabeledReplicas: z.int32().min(0).optional().describe("Pods whose labels match the template's labels."),
  readyReplicas: z.int32().min(0).optional().describe("Non-terminating pods with a Ready condition."),
  availableReplicas: z.int32().min(0).optional().describe("Non-terminating pods ready for at least minReadySeconds."),
  terminatingReplicas: z.int32().min(0).optional().describe("Pods with a deletionTimestamp that are not yet Failed or Succeeded."),
  observedGeneration: z.int().min(0).optional().describe("The metadata.generation the status was computed for."),
  conditions: conditions().optional().describe("Latest observations of the ReplicaSet's state."),
  selector: z.string().optional().describe("The spec.selector in label-selector string syntax (read by /scale and the HPA)."),
});
const replicaSetStatus = withCel(
  replicaSetStatusFields.superRefine((status, ctx) => {
    for (const field of ["fullyLabeledReplicas", "readyReplicas", "availableReplicas"] as const) {
      if ((status[field] ?? 0) > status.replicas) ctx.addIssue({ code: "custom", path: [field], message: "cannot be greater than status.replicas" });
    }
    if ((status.availableReplicas ?? 0) > (status.readyReplicas ?? 0)) {
      ctx.addIssue({ code: "custom", path: ["availableReplicas"], message: "cannot be greater than readyReplicas" });
    }
  }),
  [
    atMostReplicas("fullyLabeledReplicas"),
    atMostReplicas("readyReplicas"),
    atMostReplicas("availableReplicas"),
    {
      rule: "!has(self.availableReplicas) || self.availableReplicas <= (has(self.readyReplicas) ? self.readyReplicas : 0)",
      message: "cannot be greater than readyReplicas",
      fieldPath: ".availableReplicas",
    },
  ],
);

/** The definition of `apps.kubeloop.dev/v1alpha1` ReplicaSet (shortName `krs`): CRD, parse, make. */
export const ReplicaSetDefinition = defineCustomResource({
  group: "apps.kubeloop.dev",
  version: "v1alpha1",
  kind: "ReplicaSet",
  plural: "replicasets",
  singular: "replicaset",
  shortNames: ["krs"],
  scope: "Namespaced",
  description: "ReplicaSet keeps a number of pods matching its selector running, like apps/v1 ReplicaSet.",
  spec: replicaSetSpec,
  status: replicaSetStatus,
  subresources: {
    status: true,
    scale: { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas", labelSelectorPath: ".status.selector" },
  },
  printerColumns: [
    { name: "Desired", type: "integer", jsonPath: ".spec.replicas", description: "Number of desired pods" },
    { name: "Current", type: "integer", jsonPath: ".status.replicas", description: "Number of non-terminating pods" },
    { name: "Ready", type: "integer", jsonPath: ".status.readyReplicas", description: "Number of ready pods" },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
    { name: "Containers", type: "string", jsonPath: ".spec.template.spec.containers[*].name", priority: 1 },
    { name: "Images", type: "string", jsonPath: ".spec.template.spec.containers[*].image", priority: 1 },
    { name: "Selector", type: "string", jsonPath: ".status.selector", priority: 1 },
  ],
});

/** `apps.kubeloop.dev/v1alpha1` ReplicaSets: the ResourceType for the client, the cache and the builder. */
export const ReplicaSets = ReplicaSetDefinition.resource;

/** An `apps.kubeloop.dev/v1alpha1` ReplicaSet as read from the API server (defaults applied). */
export type ReplicaSet = ObjectOfDefinition<typeof ReplicaSetDefinition>;
/** `spec` of a ReplicaSet (defaults applied: `replicas` and `minReadySeconds` are numbers). */
export type ReplicaSetSpec = z.output<typeof replicaSetSpec>;
/** `spec` of a ReplicaSet as written by a user (`replicas` and `minReadySeconds` optional). */
export type ReplicaSetSpecInput = z.input<typeof replicaSetSpec>;
/** `status` of a ReplicaSet. */
export type ReplicaSetStatus = z.output<typeof replicaSetStatus>;
/** One status condition of a ReplicaSet. */
export type ReplicaSetCondition = NonNullable<ReplicaSetStatus["conditions"]>[number];
