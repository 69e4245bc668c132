/**
 * A scheduling profile (kube-scheduler's `KubeSchedulerProfile`): the scheduler name it serves
 * and the plugins it runs, in order. Filter plugins run in list order and the first rejection per
 * node is the one reported, so the built-in order is kube-scheduler's (NodeUnschedulable,
 * NodeName, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit).
 *
 * Operators add plugins to a profile through a `SchedulerExtension` (what kube-scheduler's
 * out-of-tree plugins do through the profile's `plugins.multiPoint.enabled` and its weights), so
 * one scheduler per process runs every operator's plugins.
 */
import { implementsPoint, type Plugin } from "./framework.ts";
import type { ClusterEventSource } from "./scheduler.ts";

/** The scheduler name kubeloop's scheduler serves by default (`spec.schedulerName`). */
export const DEFAULT_SCHEDULER_NAME = "kubeloop-scheduler";

export interface Profile {
  /** Pods whose `spec.schedulerName` equals this are scheduled by this profile. */
  readonly schedulerName: string;
  /** The plugins, in the order their extension points run. Names must be unique. */
  readonly plugins: readonly Plugin[];
  /** Score weight per plugin name (kube-scheduler's MultiPoint weights); absent means 1. */
  readonly scoreWeights?: Readonly<Record<string, number>>;
}

/**
 * Plugins an operator adds to a scheduler's profile, their score weights, and the informers
 * whose events feed their queueing hints.
 *
 * `{ plugins: [gpuPlacement], scoreWeights: { GPUPlacement: 10 }, eventSources: [{ resource: "gpuplacementpolicies.scheduling.kubeloop.dev", informer }] }`
 */
export interface SchedulerExtension {
  readonly plugins: readonly Plugin[];
  /** Score weight per plugin name; absent means 1. */
  readonly scoreWeights?: Readonly<Record<string, number>>;
  /** Informers whose events are cluster events for the plugins' queueing hints. */
  readonly eventSources?: readonly ClusterEventSource[];
  /**
   * Insert the plugins right after the profile's plugin of this name (for example
   * `"SchedulingGates"`, so a PreEnqueue/PreFilter plugin runs right after the built-in gates);
   * when the profile has no plugin of that name, at the front. Default: before the first Bind
   * plugin (so Filters run after the built-ins, whose first rejection per node is the one reported).
   */
  readonly after?: string;
}

/**
 * An extension whose plugins exist only once the manager runs (for example after discovering
 * which APIs the server serves). Resolves when it is ready; rejects when it cannot be built.
 */
export type DeferredSchedulerExtension = (signal: AbortSignal) => Promise<SchedulerExtension>;

/**
 * `profile` with each extension's plugins inserted (in extension order) where its `after` says,
 * else before the profile's first Bind plugin, and their score weights added. The profile itself
 * is not changed.
 * @throws Error when two plugins of the result have the same name.
 */
export function extendProfile(profile: Profile, extensions: readonly SchedulerExtension[]): Profile {
  const plugins = [...profile.plugins];
  for (const ext of extensions) {
    let at: number;
    if (ext.after !== undefined) {
      const i = plugins.findIndex((p) => p.name === ext.after);
      at = i + 1; // -1 (absent) -> 0: the front
    } else {
      const bind = plugins.findIndex((p) => implementsPoint.bind(p));
      at = bind === -1 ? plugins.length : bind;
    }
    plugins.splice(at, 0, ...ext.plugins);
  }
  const seen = new Set<string>();
  for (const p of plugins) {
    if (seen.has(p.name)) throw new Error(`extendProfile: two plugins named ${JSON.stringify(p.name)} in the profile of ${profile.schedulerName}`);
    seen.add(p.name);
  }
  return {
    ...profile,
    plugins,
    scoreWeights: Object.assign({}, profile.scoreWeights, ...extensions.map((e) => e.scoreWeights ?? {})),
  };
}
