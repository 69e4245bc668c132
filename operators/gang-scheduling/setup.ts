/**
 * Wires the gang-scheduling operator into a manager: the PodGroup status controller and the
 * `GangScheduling` plugin with the PodGroup informers as its event sources, as a
 * `SchedulerExtension` of the kubeloop scheduler (kube-scheduler's default plugins as kubeloop
 * ships them, plus the plugins of every other selected operator: see `operators/registry.ts`).
 *
 * Whether the server serves native `scheduling.k8s.io/v1alpha2` PodGroups is discovered when the
 * manager starts (or fixed by `nativePodGroups`); the extension is deferred until then and the
 * scheduler is created after it, so a native member is never scheduled as if it had no group.
 */
import type { Informer } from "../../framework/cache/index.ts";
import { sleep } from "../../framework/flowcontrol/index.ts";
import { permission } from "../../framework/rbac/index.ts";
import type { Manager } from "../../framework/manager/index.ts";
import { Pods, type KubeObject, type Pod } from "../../framework/meta/index.ts";
import {
  addExtendedScheduler, DEFAULT_SCHEDULER_NAME, extendProfile,
  type ClusterEventSource, type DeferredSchedulerExtension, type ManagedSchedulerOptions, type Profile, type Scheduler, type SchedulerExtension,
} from "../../framework/scheduling/index.ts";
import { defaultProfile, type DefaultPluginsOptions, type PodBinder } from "../../framework/scheduling/plugins/index.ts";
import { PodGroups } from "./api.ts";
import { setupPodGroupController, type PodGroupControllerOptions } from "./controller.ts";
import { NativePodGroups, nativePodGroupsServed } from "./native-api.ts";
import { GangScheduling, PodGroupEventResources } from "./plugin.ts";
import { ensurePodGroupIndex } from "./pod-index.ts";
import { GroupStatusWriter } from "./status-writer.ts";
import { UNSCHEDULED_POD, unscheduledMemberSource } from "./member-events.ts";

/** Options of `gangSchedulerExtension`. */
export interface GangExtensionOptions {
  /** The scheduler name served (`spec.schedulerName`), which names its Events. Default `kubeloop-scheduler`. */
  schedulerName?: string;
  /** Serve native `scheduling.k8s.io/v1alpha2` PodGroups: true, false, or discover (default). */
  nativePodGroups?: boolean;
  /** Called with the plugin once it exists. */
  onPlugin?: (plugin: GangScheduling) => void;
}

/** Options of `setupGangScheduling`. */
export interface GangSchedulingSetupOptions extends Omit<GangExtensionOptions, "onPlugin"> {
  /** Options of the PodGroup status controller. */
  controller?: PodGroupControllerOptions;
  /** Options of the default plugins (NodeResourcesFit scoring, ...), besides the client and scheduler name. */
  plugins?: Omit<DefaultPluginsOptions, "client" | "schedulerName">;
  /** Scheduler options (backoff, ...), besides the profiles and event sources. */
  scheduler?: Omit<ManagedSchedulerOptions, "profiles" | "eventSources">;
  /** Other operators' plugins for the same scheduler (e.g. `setupGPUPlacement(mgr).scheduler`), after the gang plugin. */
  extensions?: ReadonlyArray<SchedulerExtension | DeferredSchedulerExtension>;
  /** Run no scheduler, only the PodGroup controller. */
  controllerOnly?: boolean;
  /** Called with the scheduler once it exists (tests: queue counts). */
  onScheduler?: (scheduler: Scheduler, plugin: GangScheduling) => void;
}

/** Discovery attempts before the operator gives up (1 s apart). */
const DISCOVERY_ATTEMPTS = 10;

/** Where the gang plugin goes in a profile: right after the PreEnqueue built-ins (so its PreFilter reasons come after UnsupportedFeatures'). */
export const GANG_PLUGIN_AFTER = "SchedulingGates";

/** The profile: the default plugins with `gang` right after the PreEnqueue built-ins (so its PreFilter reasons come after UnsupportedFeatures'). */
export function gangProfile(gang: GangScheduling, opts: DefaultPluginsOptions): Profile {
  return extendProfile(defaultProfile(opts), [{ plugins: [gang], after: GANG_PLUGIN_AFTER }]);
}

/**
 * The gang plugin as a deferred scheduler extension over `mgr`'s Pod and PodGroup informers:
 * when the manager starts it discovers the native PodGroup API (up to 10 attempts, 1 s apart),
 * then builds the plugin, its status writer and its event sources (kubeloop PodGroups, native
 * PodGroups when served, unscheduled members).
 */
export function gangSchedulerExtension(mgr: Manager, opts: GangExtensionOptions = {}): DeferredSchedulerExtension {
  const pods: Informer<Pod> = mgr.cache.informerFor(Pods);
  ensurePodGroupIndex(pods);
  const podGroups = mgr.cache.informerFor(PodGroups);
  // Known only once the manager runs: the native PodGroups' informer (when served) and the
  // status writes of both kinds of PodGroup.
  mgr.permit(permission(NativePodGroups, ["list", "watch"]), permission(NativePodGroups, ["patch"], "status"), permission(PodGroups, ["patch"], "status"));
  return async (signal) => {
    let native = opts.nativePodGroups;
    for (let attempt = 1; native === undefined; attempt++) {
      try {
        native = await nativePodGroupsServed(mgr.client, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        if (attempt >= DISCOVERY_ATTEMPTS) throw new Error(`gang-scheduling: discovering scheduling.k8s.io/v1alpha2 PodGroups failed ${attempt} times`, { cause: err });
        await sleep(1000, signal).catch(() => undefined);
      }
    }
    const nativeInformer = native ? mgr.cache.informerFor(NativePodGroups) : undefined;
    const statusWriter = new GroupStatusWriter({
      client: mgr.client, events: mgr.eventRecorder(opts.schedulerName ?? DEFAULT_SCHEDULER_NAME),
      podGroups: podGroups.store, ...(nativeInformer ? { nativePodGroups: nativeInformer.store } : {}), log: mgr.log,
    });
    const gang = new GangScheduling({
      pods: pods.store, podGroups: podGroups.store, statusWriter, ...(nativeInformer ? { nativePodGroups: nativeInformer.store } : {}),
    });
    const eventSources: ClusterEventSource[] = [
      { resource: PodGroupEventResources.kubeloop, informer: podGroups as unknown as Informer<KubeObject> },
      { resource: UNSCHEDULED_POD, informer: unscheduledMemberSource(pods) as unknown as Informer<KubeObject> },
    ];
    if (nativeInformer) eventSources.push({ resource: PodGroupEventResources.native, informer: nativeInformer as unknown as Informer<KubeObject> });
    opts.onPlugin?.(gang);
    return { plugins: [gang], eventSources, after: GANG_PLUGIN_AFTER };
  };
}

/**
 * Sets up the PodGroup status controller and, once the manager starts and the native API is
 * discovered, the gang-aware kubeloop scheduler with `opts.extensions` (it runs while this
 * process leads).
 * @throws Error when the manager already has a controller of the same name.
 */
export function setupGangScheduling(mgr: Manager, opts: GangSchedulingSetupOptions = {}): void {
  setupPodGroupController(mgr, opts.controller);
  if (opts.controllerOnly) return;
  const schedulerName = opts.schedulerName ?? DEFAULT_SCHEDULER_NAME;
  let plugin: GangScheduling | undefined;
  const gang = gangSchedulerExtension(mgr, {
    schedulerName, ...(opts.nativePodGroups !== undefined ? { nativePodGroups: opts.nativePodGroups } : {}), onPlugin: (p) => { plugin = p; },
  });
  addExtendedScheduler(mgr, {
    ...opts.scheduler,
    base: defaultProfile({ ...opts.plugins, client: mgr.client as unknown as PodBinder, schedulerName }),
    extensions: [gang, ...(opts.extensions ?? [])],
    onScheduler: (scheduler) => { if (plugin) opts.onScheduler?.(scheduler, plugin); },
  });
}
