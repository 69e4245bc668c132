/**
 * kubeloop-scheduler's built-in plugins, with kube-scheduler v1.36's semantics, reasons and
 * codes (one file per plugin), the UnsupportedFeatures guard, and the default plugin set.
 */
export * from "./default-binder.ts";
export * from "./defaults.ts";
export * from "./node-affinity.ts";
export * from "./node-name.ts";
export * from "./node-ports.ts";
export * from "./node-resources-fit.ts";
export * from "./node-unschedulable.ts";
export * from "./priority-sort.ts";
export * from "./scheduling-gates.ts";
export * from "./taint-toleration.ts";
export * from "./unsupported-features.ts";
export {
  defaultNormalizeScore, findUntoleratedTaint, isDoNotScheduleTaint, NodeSelectorMatcher, PreferredSchedulingTerms,
  RequiredNodeAffinity, tolerationsTolerateTaint, toleratesTaint, UNSCHEDULABLE_TAINT,
  type NodeSelector, type NodeSelectorTerm, type PreferredSchedulingTerm, type Taint, type Toleration,
} from "./helpers.ts";
