/**
 * Wiring of the GPU placement operator into a manager: the inventory controller (policy status and
 * `kubeloop_gpu_*` metrics) and the `GPUPlacement` plugin over the same policy informer, ready to
 * be added to the kubeloop scheduler's profile.
 */
import type { Manager } from "../../framework/manager/index.ts";
import { setupGPUInventoryController, type GPUInventoryHandle, type GPUInventoryOptions } from "./controller.ts";
import { GPUPlacementPlugin } from "./plugin.ts";

/** Options of `setupGPUPlacement`. */
export interface GPUPlacementSetupOptions {
  inventory?: GPUInventoryOptions;
}

/** What `setupGPUPlacement` set up. */
export interface GPUPlacementSetup {
  inventory: GPUInventoryHandle;
  /** The scheduler plugin; add it to a profile with score weight `GPU_PLACEMENT_SCORE_WEIGHT`. */
  plugin: GPUPlacementPlugin;
}

/**
 * Sets up the inventory controller on `mgr` and builds the `GPUPlacement` plugin over its policy
 * cache.
 * @throws Error when the manager already has a controller of the same name.
 */
export function setupGPUPlacement(mgr: Manager, opts: GPUPlacementSetupOptions = {}): GPUPlacementSetup {
  const inventory = setupGPUInventoryController(mgr, opts.inventory);
  return { inventory, plugin: new GPUPlacementPlugin(inventory.policies) };
}
