/**
 * Wires the gang-scheduling operator into a manager: the PodGroup status controller and the
 * kubeloop scheduler with the `GangScheduling` plugin.
 */
import type { Manager } from "../../framework/manager/index.ts";
import { setupPodGroupController, type PodGroupControllerOptions } from "./controller.ts";

/** Options of `setupGangScheduling`. */
export interface GangSchedulingSetupOptions {
  /** Options of the PodGroup status controller. */
  controller?: PodGroupControllerOptions;
}

/**
 * Sets up the PodGroup status controller and the gang-aware scheduler on `mgr`.
 * @throws Error when the manager already has a controller of the same name.
 */
export function setupGangScheduling(mgr: Manager, opts: GangSchedulingSetupOptions = {}): void {
  setupPodGroupController(mgr, opts.controller);
}
