/**
 * kubeloop's scheduler runtime: a scheduling framework with kube-scheduler v1.36's extension
 * points and messages, a scheduling queue with backoff and queueing hints, a cache of nodes and
 * pods with assumed pods, the one-snapshot pod-group cycle, and a manager runnable that needs
 * leader election. See README.md.
 */
export * from "./framework.ts";
export { DEFAULT_SCHEDULER_NAME, extendProfile, type DeferredSchedulerExtension, type Profile, type SchedulerExtension } from "./profile.ts";
export { POD_GROUP_UNSCHEDULABLE_MESSAGE, isPodGroupPlugin } from "./pod-group.ts";
export type { PodGroupCycleResult, PodGroupMemberResult, PodGroupPlugin, PodGroupRef } from "./pod-group.ts";
export { Scheduler, truncateNote, type ClusterEventSource, type SchedulerClient, type SchedulerOptions } from "./scheduler.ts";
export { addScheduler, schedulerPermissions, type ManagedSchedulerOptions } from "./manager.ts";
export { addExtendedScheduler, type ExtendedSchedulerOptions } from "./extended.ts";
export { SchedulingQueue, type QueueName, type QueuedPod, type SchedulingQueueOptions } from "./queue.ts";
export { SchedulerCache, Snapshot, type SchedulerCacheOptions } from "./cache.ts";
export { fitErrorMessage, goDuration, statusMessage, type Diagnosis } from "./fit-error.ts";
export { ProfileRunner, prioritySortLess, type FindResult } from "./profile-runner.ts";
export { MAX_PERMIT_WAIT_MS, WaitingPodsMap } from "./waiting-pods.ts";
export { schedulerMetrics, type SchedulerMetrics } from "./metrics.ts";
export { NodeInfoBuilder, nodeInfoOf, podInfoOf, podRequests } from "./resources.ts";
export { defaultPlugins, defaultProfile, DEFAULT_SCORE_WEIGHTS, type DefaultPluginsOptions } from "./plugins/index.ts";
