/**
 * One scheduler composed of a base profile and the operators' `SchedulerExtension`s: every
 * operator's plugins in one profile, one queue, one cache (as kube-scheduler runs in-tree and
 * out-of-tree plugins in one binary). Extensions known only once the manager runs (deferred:
 * API discovery, say) are awaited first, so no pod is scheduled by a profile that lacks them.
 */
import type { Manager, Runnable } from "../manager/index.ts";
import { addScheduler, schedulerPermissions, type ManagedSchedulerOptions } from "./manager.ts";
import { extendProfile, type DeferredSchedulerExtension, type Profile, type SchedulerExtension } from "./profile.ts";
import type { Scheduler } from "./scheduler.ts";

/** Options of `addExtendedScheduler`. */
export type ExtendedSchedulerOptions = Omit<ManagedSchedulerOptions, "profiles" | "eventSources"> & {
  /** The profile the extensions extend (e.g. `defaultProfile(...)`). */
  base: Profile;
  /** In profile order: each is inserted where its `after` says, else before the Bind plugin. */
  extensions: ReadonlyArray<SchedulerExtension | DeferredSchedulerExtension>;
  /** Called with the scheduler and its composed profile once it exists (tests: queue counts, plugin order). */
  onScheduler?: (scheduler: Scheduler, profile: Profile) => void;
};

/**
 * Adds the scheduler of `base` extended by `extensions` to `mgr`: at once when every extension
 * is known, else from a runnable (no leader election needed) that resolves the deferred ones
 * when the manager starts and then adds the scheduler (which runs while this process leads).
 * Returns the scheduler when it was added at once, else undefined (see `onScheduler`).
 * @throws Error (at once, or from the runnable) when two plugins share a name or a deferred extension fails.
 */
export function addExtendedScheduler(mgr: Manager, opts: ExtendedSchedulerOptions): Scheduler | undefined {
  const { base, extensions, onScheduler, ...schedulerOpts } = opts;
  // The scheduler may be created only once the manager runs; its needs are known now.
  mgr.permit(...schedulerPermissions);
  const add = (resolved: readonly SchedulerExtension[]): Scheduler => {
    const profile = extendProfile(base, resolved);
    const scheduler = addScheduler(mgr, { ...schedulerOpts, profiles: [profile], eventSources: resolved.flatMap((e) => e.eventSources ?? []) });
    onScheduler?.(scheduler, profile);
    return scheduler;
  };
  if (extensions.every((e) => typeof e !== "function")) return add(extensions as readonly SchedulerExtension[]);
  const starter: Runnable = {
    needLeaderElection: false,
    async start(signal) {
      let resolved: SchedulerExtension[];
      try {
        resolved = await Promise.all(extensions.map((e) => (typeof e === "function" ? e(signal) : e)));
      } catch (err) {
        if (signal.aborted) return; // stopped while discovering: no scheduler, no error
        throw err;
      }
      if (signal.aborted) return;
      add(resolved);
    },
  };
  mgr.add(starter);
  return undefined;
}
