/**
 * The gang-scheduling operator: `scheduling.kubeloop.dev/v1alpha1` PodGroups (and native
 * `scheduling.k8s.io/v1alpha2` PodGroups when the server serves them) placed all at once or not
 * at all by the kubeloop scheduler, with a PodGroup status controller (see README.md).
 *
 * ```ts
 * const mgr = new Manager({ ... });
 * setupGangScheduling(mgr);
 * await mgr.start(signal);
 * ```
 */
export { PodGroupDefinition, PodGroups, POD_GROUP_LABEL, PodGroupPhases, SCHEDULING_GROUP } from "./api.ts";
export type { PodGroup, PodGroupSpec, PodGroupStatus, PodGroupCondition, PodGroupPhase } from "./api.ts";
export { setupPodGroupController, PodGroupReconciler, PodGroupEventReasons, podGroupRequestsForPod } from "./controller.ts";
export type { PodGroupControllerHost, PodGroupControllerOptions } from "./controller.ts";
export { nextPhaseStatus, countMembers, FINAL_PHASES } from "./phase.ts";
export { GangScheduling, GANG_SCHEDULING, PodGroupEventResources, parseGroupKey } from "./plugin.ts";
export type { GangSchedulingOptions } from "./plugin.ts";
export { groupOf, groupKey, POD_GROUP_INDEX } from "./membership.ts";
export type { GroupRef, GroupApi } from "./membership.ts";
export { groupNotFoundMessage, tooFewMembersMessage, NATIVE_TOO_FEW_PODS_REASON, nativeGroupMissingReason } from "./gating.ts";
export { POD_GROUP_SCHEDULED, POD_GROUP_UNSCHEDULABLE } from "./group-status.ts";
export { NativePodGroups, nativePodGroupsServed } from "./native-api.ts";
export type { NativePodGroup } from "./native-api.ts";
export { GroupStatusWriter } from "./status-writer.ts";
export { ensurePodGroupIndex } from "./pod-index.ts";
export { setupGangScheduling } from "./setup.ts";
export type { GangSchedulingSetupOptions } from "./setup.ts";
