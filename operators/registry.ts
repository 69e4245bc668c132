import type { z } from "zod";
import type { CustomResourceDefinitionOf } from "../framework/api/index.ts";
import type { WebhookServer } from "../framework/admission/index.ts";
import type { Manager } from "../framework/manager/index.ts";
import { addExtendedScheduler, type DeferredSchedulerExtension, type Profile, type Scheduler, type SchedulerExtension } from "../framework/scheduling/index.ts";
import { defaultProfile, type PodBinder } from "../framework/scheduling/plugins/index.ts";
import { ReplicaSetDefinition, setupReplicaSetController } from "./replicaset/index.ts";
import { EndpointsDefinition, EndpointSliceDefinition, setupEndpointsControllers } from "./endpoints/index.ts";
import { GPUPlacementPolicyDefinition, setupGPUPlacement } from "./gpu-placement/index.ts";
import { PodGroupDefinition, gangSchedulerExtension, setupPodGroupController } from "./gang-scheduling/index.ts";
// kubeloop:operator-imports (`kubeloop create api` adds new operators' imports above this line)

// The framework owns the concept; re-exported for the operators' callers.
export { extendProfile, type DeferredSchedulerExtension, type SchedulerExtension } from "../framework/scheduling/index.ts";

/** One sample operator: the custom resources it serves and how it wires itself into a manager. */
export interface Operator {
  /** The custom resources it defines; their CRDs are generated into `crds/`. */
  definitions: ReadonlyArray<CustomResourceDefinitionOf<z.ZodType, z.ZodType>>;
  /**
   * Sets up its controllers on `mgr`; returns the plugins it adds to the kubeloop scheduler, if
   * any (deferred when they exist only once the manager runs).
   */
  setup(mgr: Manager, ctx: OperatorContext): void | SchedulerExtension | DeferredSchedulerExtension;
}

/** What the process offers the operators besides the manager. */
export interface OperatorContext {
  /** The admission webhook server, when the process serves webhooks (`--webhook-bind-address`). */
  webhooks?: WebhookServer;
  /** Namespaces the webhooks must never see, besides kube-system (the operator's own, so it can always start). */
  webhookExcludedNamespaces?: readonly string[];
}

/** Every operator this process can run, by the name `--operators` takes. One entry per operator. */
export const operators: Readonly<Record<string, Operator>> = {
  replicaset: {
    definitions: [ReplicaSetDefinition],
    setup: (mgr) => {
      setupReplicaSetController(mgr);
    },
  },
  endpoints: {
    definitions: [EndpointsDefinition, EndpointSliceDefinition],
    setup: (mgr) => {
      setupEndpointsControllers(mgr);
    },
  },
  "gang-scheduling": {
    definitions: [PodGroupDefinition],
    setup: (mgr) => {
      setupPodGroupController(mgr);
      return gangSchedulerExtension(mgr);
    },
  },
  "gpu-placement": {
    definitions: [GPUPlacementPolicyDefinition],
    setup: (mgr, ctx) => setupGPUPlacement(mgr, ctx).scheduler,
  },
  // kubeloop:operators (`kubeloop create api` adds new operators above this line)
};

/** The custom resource definitions of every operator. */
export const allDefinitions: ReadonlyArray<CustomResourceDefinitionOf<z.ZodType, z.ZodType>> =
  Object.values(operators).flatMap((op) => op.definitions);

/** Options of `setupOperators`. */
export interface SetupOperatorsOptions extends OperatorContext {
  /** Called with the kubeloop scheduler and its composed profile once it exists (tests, the demo). */
  onScheduler?: (scheduler: Scheduler, profile: Profile) => void;
}

/**
 * Sets up the named operators on `mgr`. When some return scheduler extensions, ONE kubeloop
 * scheduler (`kubeloop-scheduler`: the default plugins plus all of theirs, in the order of
 * `names`) runs in the same manager, once the deferred extensions are ready.
 * @throws Error naming the unknown operator and the known ones.
 */
export function setupOperators(mgr: Manager, names: readonly string[], opts: SetupOperatorsOptions = {}): void {
  for (const name of names) {
    if (!operators[name]) throw new Error(`unknown operator ${JSON.stringify(name)}; known: ${Object.keys(operators).join(", ")}`);
  }
  const extensions: Array<SchedulerExtension | DeferredSchedulerExtension> = [];
  for (const name of names) {
    const extension = operators[name]!.setup(mgr, opts);
    if (extension) extensions.push(extension);
  }
  if (extensions.length === 0) return;
  addExtendedScheduler(mgr, {
    base: defaultProfile({ client: mgr.client as unknown as PodBinder }),
    extensions,
    ...(opts.onScheduler ? { onScheduler: opts.onScheduler } : {}),
  });
}
