import type { z } from "zod";
import type { CustomResourceDefinitionOf } from "../framework/api/index.ts";
import type { Manager } from "../framework/manager/index.ts";
import { addScheduler, implementsPoint, type ClusterEventSource, type Plugin, type Profile } from "../framework/scheduling/index.ts";
import { defaultProfile, type PodBinder } from "../framework/scheduling/plugins/index.ts";
import { ReplicaSetDefinition, setupReplicaSetController } from "./replicaset/index.ts";
import { GPUPlacementPolicyDefinition, setupGPUPlacement } from "./gpu-placement/index.ts";
import { PodGroupDefinition, setupGangScheduling } from "./gang-scheduling/index.ts";

/** Plugins an operator adds to the kubeloop scheduler's profile, their score weights, and the informers whose events feed their queueing hints. */
export interface SchedulerExtension {
  plugins: readonly Plugin[];
  scoreWeights?: Readonly<Record<string, number>>;
  eventSources?: readonly ClusterEventSource[];
}

/** One sample operator: the custom resources it serves and how it wires itself into a manager. */
export interface Operator {
  /** The custom resources it defines; their CRDs are generated into `crds/`. */
  definitions: ReadonlyArray<CustomResourceDefinitionOf<z.ZodType, z.ZodType>>;
  /** Sets up its controllers (or schedulers) on `mgr`; returns the plugins it adds to the kubeloop scheduler, if any. */
  setup(mgr: Manager): void | SchedulerExtension;
}

/** `profile` with the extensions' plugins inserted before its first Bind plugin (Filter order: built-ins first) and their score weights added. */
export function extendProfile(profile: Profile, extensions: readonly SchedulerExtension[]): Profile {
  const added = extensions.flatMap((e) => e.plugins);
  const bind = profile.plugins.findIndex((p) => implementsPoint.bind(p));
  const at = bind === -1 ? profile.plugins.length : bind;
  return {
    ...profile,
    plugins: [...profile.plugins.slice(0, at), ...added, ...profile.plugins.slice(at)],
    scoreWeights: Object.assign({}, profile.scoreWeights, ...extensions.map((e) => e.scoreWeights ?? {})),
  };
}

/** Every operator this process can run, by the name `--operators` takes. One entry per operator. */
export const operators: Readonly<Record<string, Operator>> = {
  replicaset: {
    definitions: [ReplicaSetDefinition],
    setup: (mgr) => {
      setupReplicaSetController(mgr);
    },
  },
  "gang-scheduling": {
    definitions: [PodGroupDefinition],
    setup: (mgr) => setupGangScheduling(mgr),
  },
  "gpu-placement": {
    definitions: [GPUPlacementPolicyDefinition],
    setup: (mgr) => setupGPUPlacement(mgr).scheduler,
  },
};

/** The custom resource definitions of every operator. */
export const allDefinitions: ReadonlyArray<CustomResourceDefinitionOf<z.ZodType, z.ZodType>> =
  Object.values(operators).flatMap((op) => op.definitions);

/**
 * Sets up the named operators on `mgr`. When some return scheduler extensions, the kubeloop
 * scheduler (`kubeloop-scheduler`, default plugins plus theirs) runs in the same manager.
 * @throws Error naming the unknown operator and the known ones.
 */
export function setupOperators(mgr: Manager, names: readonly string[]): void {
  const extensions: SchedulerExtension[] = [];
  for (const name of names) {
    const op = operators[name];
    if (!op) throw new Error(`unknown operator ${JSON.stringify(name)}; known: ${Object.keys(operators).join(", ")}`);
    const extension = op.setup(mgr);
    if (extension) extensions.push(extension);
  }
  if (extensions.length > 0 && names.includes("gang-scheduling")) {
    // gang-scheduling runs its own kubeloop-scheduler (setupGangScheduling) and takes no extra
    // plugins yet: a second scheduler for the same name would race it for every pod.
    mgr.log.warn({ plugins: extensions.flatMap((e) => e.plugins.map((p) => p.name)) },
      "gang-scheduling runs the kubeloop scheduler and cannot take other operators' plugins yet; they are not in its profile");
  } else if (extensions.length > 0) {
    addScheduler(mgr, {
      profiles: [extendProfile(defaultProfile({ client: mgr.client as unknown as PodBinder }), extensions)],
      eventSources: extensions.flatMap((e) => e.eventSources ?? []),
    });
  }
}
