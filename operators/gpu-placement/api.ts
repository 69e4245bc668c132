import { z } from "zod";
import { conditions, defineCustomResource, labelSelector, listMap, listType, type ObjectOfDefinition } from "../../framework/api/index.ts";

/** The extended resource a GPU is requested and advertised as (NVIDIA device plugin). */
export const GPU_RESOURCE = "nvidia.com/gpu";
/** Node label naming the GPU model, as GPU feature discovery publishes it (e.g. `NVIDIA-A100-SXM4-80GB`). */
export const GPU_PRODUCT_LABEL = "nvidia.com/gpu.product";
/** Node label giving each GPU's memory in MiB, as GPU feature discovery publishes it (e.g. `81920`). */
export const GPU_MEMORY_LABEL = "nvidia.com/gpu.memory";
/** Highest `spec.weight`. The plugin's score is scaled by `weight / MAX_POLICY_WEIGHT`. */
export const MAX_POLICY_WEIGHT = 10;

/** A GPU product name: a label value (GPU feature discovery writes them as label values). */
const product = z.string().min(1).max(63).regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, {
  message: "must be a label value: alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric character",
});

/**
 * `spec` of a `scheduling.kubeloop.dev/v1alpha1` GPUPlacementPolicy. Which pods it governs, how
 * their GPUs are placed, and on which GPU nodes.
 */
const policySpec = z.object({
  selector: labelSelector().describe(
    "Pods (in every namespace) this policy applies to, by label. `{}` selects every pod. When several policies select a pod, the one with the highest weight applies (ties: the first name in alphabetical order).",
  ),
  strategy: z
    .enum(["BinPack", "Spread"])
    .default("BinPack")
    .describe(
      "BinPack: prefer the node left with the fewest free GPUs after placing the pod (keeps whole nodes free for large requests). Spread: prefer the node left with the most free GPUs. Defaults to BinPack.",
    ),
  requiredProducts: listType(z.array(product).max(32), "set")
    .optional()
    .describe("When set, pods requesting GPUs only go to nodes whose `nvidia.com/gpu.product` label is one of these."),
  preferredProducts: listType(z.array(product).max(32), "atomic")
    .optional()
    .describe("GPU products to prefer, most preferred first; nodes with another product still qualify."),
  minGPUMemoryMiB: z
    .int32()
    .min(0)
    .optional()
    .describe("When set, pods requesting GPUs only go to nodes whose `nvidia.com/gpu.memory` label (MiB per GPU) is at least this."),
  weight: z
    .int32()
    .min(1)
    .max(MAX_POLICY_WEIGHT)
    .default(MAX_POLICY_WEIGHT)
    .describe(`Strength of the policy's score against the scheduler's other scores, 1 to ${MAX_POLICY_WEIGHT} (default ${MAX_POLICY_WEIGHT}); also picks among overlapping policies.`),
});

/** One product's GPUs in the cluster. */
const productInventory = z.object({
  product: z.string().min(1).describe("The `nvidia.com/gpu.product` label (or the DRA device's productName); `unknown` when absent."),
  nodes: z.int32().min(0).describe("Nodes with at least one GPU of this product."),
  total: z.int32().min(0).describe("GPUs of this product (node allocatable `nvidia.com/gpu` plus DRA devices)."),
  allocated: z.int32().min(0).describe("GPUs requested by pods bound to those nodes (plus allocated DRA devices)."),
  free: z.int32().min(0).describe("total - allocated."),
});

/** `status` of a GPUPlacementPolicy: the cluster's GPU inventory as seen for this policy. */
const policyStatus = z.object({
  observedGeneration: z.int().min(0).optional().describe("The metadata.generation the status was computed for."),
  inventory: listMap(z.array(productInventory).max(256), ["product"]).optional().describe("GPUs of the whole cluster, per product."),
  eligibleNodes: z.int32().min(0).optional().describe("Schedulable GPU nodes that meet the policy's required products and minimum GPU memory."),
  wholeFreeNodes: z.int32().min(0).optional().describe("Eligible nodes with all their GPUs free."),
  largestRequest: z.int32().min(0).optional().describe("The most GPUs one pod selected by the policy requests (pods not finished)."),
  strandedGPUs: z
    .int32()
    .min(0)
    .optional()
    .describe("Free GPUs on eligible nodes that cannot host `largestRequest` (too few free GPUs there)."),
  selectedPods: z.int32().min(0).optional().describe("Pods selected by the policy that request GPUs and have not finished."),
  conditions: conditions().optional().describe("`Ready`: the status is current; `LargestRequestFits`: an eligible node has `largestRequest` free GPUs."),
});

/** The definition of `scheduling.kubeloop.dev/v1alpha1` GPUPlacementPolicy (cluster-scoped, shortName `gpp`). */
export const GPUPlacementPolicyDefinition = defineCustomResource({
  group: "scheduling.kubeloop.dev",
  version: "v1alpha1",
  kind: "GPUPlacementPolicy",
  plural: "gpuplacementpolicies",
  singular: "gpuplacementpolicy",
  shortNames: ["gpp"],
  scope: "Cluster",
  description:
    "GPUPlacementPolicy tells kubeloop-scheduler how to place the GPUs of the pods it selects (BinPack or Spread, on which products) and reports the cluster's GPU inventory.",
  spec: policySpec,
  status: policyStatus,
  printerColumns: [
    { name: "Strategy", type: "string", jsonPath: ".spec.strategy" },
    { name: "Weight", type: "integer", jsonPath: ".spec.weight" },
    { name: "Whole-Free-Nodes", type: "integer", jsonPath: ".status.wholeFreeNodes", description: "Eligible nodes with every GPU free" },
    { name: "Stranded", type: "integer", jsonPath: ".status.strandedGPUs", description: "Free GPUs that cannot host the largest request" },
    { name: "Largest", type: "integer", jsonPath: ".status.largestRequest", description: "Largest GPU request of a selected pod" },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
    { name: "Required", type: "string", jsonPath: ".spec.requiredProducts", priority: 1 },
    { name: "Selected-Pods", type: "integer", jsonPath: ".status.selectedPods", priority: 1 },
  ],
});

/** `scheduling.kubeloop.dev/v1alpha1` GPUPlacementPolicies: the ResourceType for the client, the cache and the builder. */
export const GPUPlacementPolicies = GPUPlacementPolicyDefinition.resource;

/** A GPUPlacementPolicy as read from the API server (defaults applied). */
export type GPUPlacementPolicy = ObjectOfDefinition<typeof GPUPlacementPolicyDefinition>;
/** `spec` of a GPUPlacementPolicy (defaults applied). */
export type GPUPlacementPolicySpec = z.output<typeof policySpec>;
/** `spec` as a user writes it (`strategy` and `weight` optional). */
export type GPUPlacementPolicySpecInput = z.input<typeof policySpec>;
/** `status` of a GPUPlacementPolicy. */
export type GPUPlacementPolicyStatus = z.output<typeof policyStatus>;
/** One product's line of `status.inventory`. */
export type ProductInventory = z.output<typeof productInventory>;
