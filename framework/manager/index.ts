/**
 * The manager: runs the informer cache, controllers and other runnables of a process, with
 * leader election on a Lease, `/metrics` (prom-client), `/healthz` and `/readyz`, and graceful
 * shutdown on SIGTERM (controller-runtime `pkg/manager`, `pkg/leaderelection`, `pkg/healthz`,
 * `pkg/metrics`).
 */
export { Manager, LeaderElectionLostError, type ManagerOptions, type Runnable } from "./manager.ts";
export { LeaderElector, type LeaderElectionOptions, type LeaderElectorDeps, type LeadingOutcome } from "./leader-election.ts";
export { fencedClient } from "./fence.ts";
export type { Checker } from "./health.ts";
export { parseBindAddress } from "./server.ts";
export { handleSignals, runManager } from "./signals.ts";
