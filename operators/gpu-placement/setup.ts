/**
 * Wiring of the GPU placement operator into a manager: the inventory controller (policy status and
 * `kubeloop_gpu_*` metrics) and the `GPUPlacement` plugin over the same policy informer, with what
 * the kubeloop scheduler's profile needs to run it (score weight, the policy informer for
 * queueing hints).
 */
import type { KubeObject } from "../../framework/meta/index.ts";
import type { Manager } from "../../framework/manager/index.ts";
import type { Informer } from "../../framework/cache/index.ts";
import type { ClusterEventSource } from "../../framework/scheduling/index.ts";
import type { WebhookServer } from "../../framework/admission/index.ts";
import { GPUPlacementPolicies } from "./api.ts";
import { registerSchedulerNameWebhook } from "./scheduler-name-webhook.ts";
import { setupGPUInventoryController, type GPUInventoryHandle, type GPUInventoryOptions } from "./controller.ts";
import { GPUPlacementPlugin, GPU_PLACEMENT_PLUGIN, GPU_PLACEMENT_SCORE_WEIGHT } from "./plugin.ts";

/** Options of `setupGPUPlacement`. */
export interface GPUPlacementSetupOptions {
  inventory?: GPUInventoryOptions;
  /** Registers the scheduler-name webhook (`scheduler-name-webhook.ts`) on this server, over the same policy cache. */
  webhooks?: WebhookServer;
  /** Namespaces the webhook never sees, besides kube-system (the operator's own). */
  webhookExcludedNamespaces?: readonly string[];
}

/** What `setupGPUPlacement` set up. */
export interface GPUPlacementSetup {
  inventory: GPUInventoryHandle;
  /** The scheduler plugin. */
  plugin: GPUPlacementPlugin;
  /** What to add to the kubeloop scheduler: the plugin, its score weight and the policy informer as an event source. */
  scheduler: {
    plugins: readonly [GPUPlacementPlugin];
    scoreWeights: Readonly<Record<string, number>>;
    eventSources: readonly ClusterEventSource[];
  };
}

/**
 * Sets up the inventory controller on `mgr` and builds the `GPUPlacement` plugin over its policy
 * cache; with `webhooks`, registers the scheduler-name webhook on it.
 * @throws Error when the manager already has a controller of the same name.
 */
export function setupGPUPlacement(mgr: Manager, opts: GPUPlacementSetupOptions = {}): GPUPlacementSetup {
  const inventory = setupGPUInventoryController(mgr, opts.inventory);
  const plugin = new GPUPlacementPlugin(inventory.policies);
  if (opts.webhooks) registerSchedulerNameWebhook(opts.webhooks, inventory.policies, { excludedNamespaces: opts.webhookExcludedNamespaces ?? [] });
  const policyInformer = mgr.cache.informerFor(GPUPlacementPolicies) as unknown as Informer<KubeObject>;
  return {
    inventory,
    plugin,
    scheduler: {
      plugins: [plugin],
      scoreWeights: { [GPU_PLACEMENT_PLUGIN]: GPU_PLACEMENT_SCORE_WEIGHT },
      eventSources: [{ resource: `${GPUPlacementPolicies.plural}.${GPUPlacementPolicies.group}`, informer: policyInformer }],
    },
  };
}
