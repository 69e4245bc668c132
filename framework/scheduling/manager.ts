/**
 * Wiring a `Scheduler` into a manager: the manager's shared Node and Pod informers, its fenced
 * client (only the leader binds), one event recorder per profile named after its scheduler name
 * (as kube-scheduler's `reportingController`), its metrics registry and logger.
 */
import { hostname } from "node:os";
import type { Client } from "../client/index.ts";
import { newEventRecorder, type EventRecorder } from "../events/index.ts";
import type { Manager } from "../manager/index.ts";
import { Events, Nodes, Pods } from "../meta/index.ts";
import { permission, type Permission } from "../rbac/index.ts";
import { Scheduler, type SchedulerClient, type SchedulerOptions } from "./scheduler.ts";

/** Options of `addScheduler`: the scheduler's options minus what the manager supplies. */
export type ManagedSchedulerOptions = Omit<SchedulerOptions, "client" | "nodes" | "pods" | "recorder" | "metrics" | "log"> & {
  /**
   * A client of its own for Events, as kube-scheduler has (`options.go`: a second clientset with
   * the same QPS/burst), so Events never take rate-limit tokens from binds. Default: the
   * manager's recorders on `mgr.client`.
   */
  eventClient?: Client;
};

/**
 * What a scheduler needs from the API (kube-scheduler's `system:kube-scheduler` role, cut to
 * what this runtime does): pods and nodes watched, `pods/binding` created, the PodScheduled
 * condition patched on `pods/status`, events.k8s.io Events recorded.
 */
export const schedulerPermissions: readonly Permission[] = [
  permission(Pods, ["list", "watch"]),
  permission(Nodes, ["list", "watch"]),
  permission(Pods, ["create"], "binding"),
  permission(Pods, ["patch"], "status"),
  permission(Events, ["create", "patch"]),
];

/**
 * Creates a scheduler on `mgr`'s informers and client and adds it as a runnable that needs leader
 * election. Returns it (for `queue` counts).
 * @throws Error when the manager's client cannot bind (a client without `bind`), or the options are invalid.
 */
export function addScheduler(mgr: Manager, opts: ManagedSchedulerOptions): Scheduler {
  const client = mgr.client as unknown as SchedulerClient;
  if (typeof client.bind !== "function") {
    throw new Error("addScheduler: the manager's client has no bind(); create the manager from a kubeconfig (createClient) or pass a KubeClient");
  }
  const { eventClient, ...schedulerOpts } = opts;
  mgr.permit(...schedulerPermissions);
  const own = new Map<string, EventRecorder>();
  const recorder = (name: string): EventRecorder => {
    if (!eventClient) return mgr.eventRecorder(name);
    let r = own.get(name);
    if (!r) {
      r = newEventRecorder(eventClient, { reportingController: name, reportingInstance: `${name}-${hostname()}`.slice(0, 128), log: mgr.log, registry: mgr.metrics });
      own.set(name, r);
    }
    return r;
  };
  const sched = new Scheduler({
    ...schedulerOpts, client, nodes: mgr.cache.informerFor(Nodes), pods: mgr.cache.informerFor(Pods),
    recorder, metrics: mgr.metrics, log: mgr.log,
  });
  mgr.add(sched);
  return sched;
}
