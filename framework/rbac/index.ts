/**
 * Least-privilege RBAC from the code: what a process watches (its informers: list, watch) and
 * what its reconcilers declare they write, as PolicyRules for the chart's ClusterRole
 * (kubebuilder's `+kubebuilder:rbac` markers and `controller-gen rbac`, as typed declarations).
 */
export { PermissionSet, permission, rulesAllow, type Permission, type PolicyRule, type ResourceRequest, type Verb } from "./rules.ts";
export { clusterRoleYaml, policyRulesYaml } from "./manifest.ts";
