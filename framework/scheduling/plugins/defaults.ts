/**
 * The default plugin set: kube-scheduler v1.36's default profile restricted to what kubeloop
 * implements, in the same order, with the same score weights, plus the UnsupportedFeatures guard.
 *
 * Mirrors `pkg/scheduler/apis/config/v1/default_plugins.go` in Kubernetes v1.36 (MultiPoint:
 * SchedulingGates, PrioritySort, NodeUnschedulable, NodeName, TaintToleration (3), NodeAffinity
 * (2), NodePorts, NodeResourcesFit (1), ..., DefaultBinder). Filter plugins run in list order and
 * the first rejection per node is reported, so the order is kube-scheduler's.
 *
 * Left out (see `unsupported-features.ts` for what a pod gets instead): VolumeRestrictions,
 * NodeVolumeLimits, VolumeBinding, VolumeZone, PodTopologySpread, InterPodAffinity,
 * DynamicResources, DefaultPreemption (no preemption: no PostFilter suffix in messages),
 * NodeResourcesBalancedAllocation and ImageLocality (scores only), NodeDeclaredFeatures.
 */
import type { Plugin } from "../framework.ts";
import { DEFAULT_SCHEDULER_NAME, type Profile } from "../profile.ts";
import { DefaultBinder, type PodBinder } from "./default-binder.ts";
import { NodeAffinity, NODE_AFFINITY, type NodeAffinityOptions } from "./node-affinity.ts";
import { NodeName } from "./node-name.ts";
import { NodePorts } from "./node-ports.ts";
import { NodeResourcesFit, NODE_RESOURCES_FIT, type NodeResourcesFitOptions } from "./node-resources-fit.ts";
import { NodeUnschedulable } from "./node-unschedulable.ts";
import { PrioritySort } from "./priority-sort.ts";
import { SchedulingGates } from "./scheduling-gates.ts";
import { TaintToleration, TAINT_TOLERATION } from "./taint-toleration.ts";
import { UnsupportedFeatures } from "./unsupported-features.ts";

/** kube-scheduler's default score weights of the plugins kubeloop ships. */
export const DEFAULT_SCORE_WEIGHTS: Readonly<Record<string, number>> = Object.freeze({
  [TAINT_TOLERATION]: 3,
  [NODE_AFFINITY]: 2,
  [NODE_RESOURCES_FIT]: 1,
});

/** Options of the default plugins. */
export interface DefaultPluginsOptions {
  /** The binder DefaultBinder posts `pods/binding` with (kubeloop's `KubeClient`); without it no Bind plugin is included. */
  readonly client?: PodBinder;
  /** The name UnsupportedFeatures messages start with; default `kubeloop-scheduler`. */
  readonly schedulerName?: string;
  /** NodeResourcesFit args (scoring strategy, ignored resources). */
  readonly nodeResourcesFit?: NodeResourcesFitOptions;
  /** NodeAffinity args (added affinity). */
  readonly nodeAffinity?: NodeAffinityOptions;
}

/**
 * The built-in plugins in kube-scheduler's order: UnsupportedFeatures, SchedulingGates,
 * PrioritySort, NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodePorts,
 * NodeResourcesFit, DefaultBinder (when `client` is given).
 * @throws Error when the NodeResourcesFit or NodeAffinity options are invalid.
 */
export function defaultPlugins(opts: DefaultPluginsOptions = {}): Plugin[] {
  const plugins: Plugin[] = [
    new UnsupportedFeatures(opts.schedulerName ? { schedulerName: opts.schedulerName } : {}),
    new SchedulingGates(),
    new PrioritySort(),
    new NodeUnschedulable(),
    new NodeName(),
    new TaintToleration(),
    new NodeAffinity(opts.nodeAffinity),
    new NodePorts(),
    new NodeResourcesFit(opts.nodeResourcesFit),
  ];
  if (opts.client) plugins.push(new DefaultBinder(opts.client));
  return plugins;
}

/** A profile with the default plugins and weights for `schedulerName` (default `kubeloop-scheduler`). */
export function defaultProfile(opts: DefaultPluginsOptions = {}): Profile {
  const schedulerName = opts.schedulerName ?? DEFAULT_SCHEDULER_NAME;
  return { schedulerName, plugins: defaultPlugins({ ...opts, schedulerName }), scoreWeights: DEFAULT_SCORE_WEIGHTS };
}
