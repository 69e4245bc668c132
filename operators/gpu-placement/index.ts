/**
 * The GPU placement operator: `scheduling.kubeloop.dev/v1alpha1` GPUPlacementPolicies, the
 * `GPUPlacement` scheduler plugin that applies them (BinPack or Spread over `nvidia.com/gpu`,
 * required and preferred GPU products, minimum GPU memory), and the inventory controller that
 * reports the cluster's GPUs in each policy's status and in `kubeloop_gpu_*` metrics (see README.md).
 *
 * ```ts
 * const handle = setupGPUInventoryController(mgr);
 * const plugin = new GPUPlacementPlugin(handle.policies); // add to the scheduler's profile, weight GPU_PLACEMENT_SCORE_WEIGHT
 * ```
 */
export {
  GPUPlacementPolicyDefinition, GPUPlacementPolicies, GPU_RESOURCE, GPU_PRODUCT_LABEL, GPU_MEMORY_LABEL, MAX_POLICY_WEIGHT,
} from "./api.ts";
export type { GPUPlacementPolicy, GPUPlacementPolicySpec, GPUPlacementPolicySpecInput, GPUPlacementPolicyStatus, ProductInventory } from "./api.ts";
export { GPUPlacementPlugin, GPU_PLACEMENT_PLUGIN, GPU_PLACEMENT_SCORE_WEIGHT, normalizeFreeGPUs, productReason, memoryReason } from "./plugin.ts";
export { compilePolicy, policyFor, unmetRequirement, preferenceBonus, productOf, memoryMiBOf, type CompiledPolicy, type Strategy } from "./policy.ts";
export { PolicyCache, staticPolicies, type PolicyReader, type PolicySource } from "./policy-cache.ts";
export {
  clusterGpus, productInventory, policyFigures, eligible, freeOf, gpuRequestOf, UNKNOWN_PRODUCT,
  type ClusterGpus, type ClusterGpusInput, type GpuPod, type GpuPool, type PolicyFigures,
} from "./inventory.ts";
export { draGpus, allocatedDevices, ResourceSlices, ResourceClaims, NVIDIA_DRA_DRIVER, type DraGpu, type ResourceSlice, type ResourceClaim } from "./dra.ts";
export { computeStatus, statusChanged, ConditionTypes } from "./status.ts";
export { registerGpuMetrics, type GpuMetricsSource } from "./metrics.ts";
export { setupGPUInventoryController, GpuInventory, type GPUInventoryHandle, type GPUInventoryOptions, type GPUPlacementHost } from "./controller.ts";
export {
  registerSchedulerNameWebhook, routeToKubeloopScheduler, SCHEDULER_NAME_WEBHOOK, GOVERNING_POLICY_ANNOTATION, KUBE_SCHEDULER_NAME, type SchedulerNameWebhookOptions,
} from "./scheduler-name-webhook.ts";
export { setupGPUPlacement, type GPUPlacementSetup, type GPUPlacementSetupOptions } from "./setup.ts";
