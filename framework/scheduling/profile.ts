/**
 * A scheduling profile (kube-scheduler's `KubeSchedulerProfile`): the scheduler name it serves
 * and the plugins it runs, in order. Filter plugins run in list order and the first rejection per
 * node is the one reported, so the built-in order is kube-scheduler's (NodeUnschedulable,
 * NodeName, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit).
 */
import type { Plugin } from "./framework.ts";

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
