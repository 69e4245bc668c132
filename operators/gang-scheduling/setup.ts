/**
 * Wires the gang-scheduling operator into a manager: the PodGroup status controller and the
 * kubeloop scheduler (kube-scheduler's default plugins as kubeloop ships them, plus the
 * `GangScheduling` plugin), fed by the PodGroup informers.
 *
 * Whether the server serves native `scheduling.k8s.io/v1alpha2` PodGroups is discovered when the
 * manager starts (or fixed by `nativePodGroups`); the scheduler is created after that, so a
 * native member is never scheduled as if it had no group.
 */
import type { Informer } from "../../framework/cache/index.ts";
import { sleep } from "../../framework/flowcontrol/index.ts";
import type { Manager, Runnable } from "../../framework/manager/index.ts";
import { Pods, type KubeObject, type Pod } from "../../framework/meta/index.ts";
import { addScheduler, DEFAULT_SCHEDULER_NAME, type ClusterEventSource, type ManagedSchedulerOptions, type Profile, type Scheduler } from "../../framework/scheduling/index.ts";
import { defaultProfile, type DefaultPluginsOptions, type PodBinder } from "../../framework/scheduling/plugins/index.ts";
import { PodGroups } from "./api.ts";
import { setupPodGroupController, type PodGroupControllerOptions } from "./controller.ts";
import { NativePodGroups, nativePodGroupsServed } from "./native-api.ts";
import { GangScheduling, PodGroupEventResources } from "./plugin.ts";
import { ensurePodGroupIndex } from "./pod-index.ts";
import { GroupStatusWriter } from "./status-writer.ts";
import { UNSCHEDULED_POD, unscheduledMemberSource } from "./member-events.ts";

/** Options of `setupGangScheduling`. */
export interface GangSchedulingSetupOptions {
  /** Options of the PodGroup status controller. */
  controller?: PodGroupControllerOptions;
  /** The scheduler name served (`spec.schedulerName`). Default `kubeloop-scheduler`. */
  schedulerName?: string;
  /** Serve native `scheduling.k8s.io/v1alpha2` PodGroups: true, false, or discover (default). */
  nativePodGroups?: boolean;
  /** Options of the default plugins (NodeResourcesFit scoring, ...), besides the client and scheduler name. */
  plugins?: Omit<DefaultPluginsOptions, "client" | "schedulerName">;
  /** Scheduler options (backoff, ...), besides the profiles and event sources. */
  scheduler?: Omit<ManagedSchedulerOptions, "profiles" | "eventSources">;
  /** Run no scheduler, only the PodGroup controller. */
  controllerOnly?: boolean;
  /** Called with the scheduler once it exists (tests: queue counts). */
  onScheduler?: (scheduler: Scheduler, plugin: GangScheduling) => void;
}

/** Discovery attempts before the operator gives up (1 s apart). */
const DISCOVERY_ATTEMPTS = 10;

/** The profile: the default plugins with `gang` right after the PreEnqueue built-ins (so its PreFilter reasons come after UnsupportedFeatures'). */
export function gangProfile(gang: GangScheduling, opts: DefaultPluginsOptions): Profile {
  const base = defaultProfile(opts);
  const plugins = [...base.plugins];
  const at = plugins.findIndex((p) => p.name === "SchedulingGates");
  plugins.splice(at >= 0 ? at + 1 : 0, 0, gang);
  return { ...base, plugins };
}

/**
 * Sets up the PodGroup status controller and, once the manager starts and the native API is
 * discovered, the gang-aware scheduler (it runs while this process leads).
 * @throws Error when the manager already has a controller of the same name.
 */
export function setupGangScheduling(mgr: Manager, opts: GangSchedulingSetupOptions = {}): void {
  setupPodGroupController(mgr, opts.controller);
  if (opts.controllerOnly) return;
  const pods: Informer<Pod> = mgr.cache.informerFor(Pods);
  ensurePodGroupIndex(pods);
  const podGroups = mgr.cache.informerFor(PodGroups);
  const starter: Runnable = {
    needLeaderElection: false,
    async start(signal) {
      let native = opts.nativePodGroups;
      for (let attempt = 1; native === undefined; attempt++) {
        try {
          native = await nativePodGroupsServed(mgr.client, signal);
        } catch (err) {
          if (signal.aborted) return;
          if (attempt >= DISCOVERY_ATTEMPTS) throw new Error(`gang-scheduling: discovering scheduling.k8s.io/v1alpha2 PodGroups failed ${attempt} times`, { cause: err });
          await sleep(1000, signal).catch(() => undefined);
        }
      }
      if (signal.aborted) return;
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
      const profile = gangProfile(gang, {
        ...opts.plugins, client: mgr.client as unknown as PodBinder, schedulerName: opts.schedulerName ?? DEFAULT_SCHEDULER_NAME,
      });
      const scheduler = addScheduler(mgr, { ...opts.scheduler, profiles: [profile], eventSources });
      opts.onScheduler?.(scheduler, gang);
    },
  };
  mgr.add(starter);
}
