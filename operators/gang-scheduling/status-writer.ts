/**
 * Writes a group cycle's outcome to the PodGroup: the `PodGroupScheduled` condition (see
 * `group-status.ts`) and one Event per attempt. Writes are asynchronous and serialized per group;
 * failures are logged, never thrown (the scheduling cycle does not wait for them).
 *
 * The condition is read from what this writer last wrote for the group (by UID) before the cache,
 * so a cache that has not yet seen our True write cannot make us regress it.
 * Native PodGroups are written with a strategic merge patch of `status.conditions` (keyed by
 * `type`, as kube-scheduler does); kubeloop PodGroups (a CRD: no strategic merge) with a merge
 * patch of the whole list.
 */
import type { CacheReader } from "../../framework/cache/index.ts";
import { isNotFound, type Client } from "../../framework/client/index.ts";
import type { EventRecorder } from "../../framework/events/index.ts";
import type { Logger } from "../../framework/log/index.ts";
import type { PodGroupCycleResult } from "../../framework/scheduling/pod-group.ts";
import { PodGroups, type PodGroup } from "./api.ts";
import { attemptEvent, nextScheduledCondition, POD_GROUP_SCHEDULED, withCondition, type GroupCondition } from "./group-status.ts";
import type { GroupRef } from "./membership.ts";
import { NativePodGroups, type NativePodGroup } from "./native-api.ts";

/** Options of `GroupStatusWriter`. */
export interface GroupStatusWriterOptions {
  client: Client;
  events: EventRecorder;
  podGroups: CacheReader<PodGroup>;
  /** Absent when the server does not serve `scheduling.k8s.io/v1alpha2`. */
  nativePodGroups?: CacheReader<NativePodGroup>;
  log?: Logger;
  /** Time source in ms since the epoch (tests). Default `Date.now`. */
  now?: () => number;
}

/** PodGroups whose last written condition is remembered. */
const WRITTEN_LIMIT = 4096;

/** RFC 3339 with seconds, as metav1.Time serializes. */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Writes `PodGroupScheduled` and attempt Events on PodGroups; see the module doc. */
export class GroupStatusWriter {
  readonly #opts: GroupStatusWriterOptions;
  readonly #now: () => number;
  /** Per group key: the tail of its write chain. */
  readonly #chains = new Map<string, Promise<void>>();
  /** Per PodGroup UID: the condition we last wrote. */
  readonly #written = new Map<string, GroupCondition>();

  constructor(opts: GroupStatusWriterOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** Queues the writes for one cycle's outcome on the group `ref`. Returns the write's promise (never rejects). */
  record(ref: GroupRef, result: PodGroupCycleResult): Promise<void> {
    const key = result.group.key;
    const prev = this.#chains.get(key) ?? Promise.resolve();
    const next = prev.then(() => this.#write(ref, result)).catch((err: unknown) => {
      this.#opts.log?.error({ err, podGroup: `${ref.namespace}/${ref.name}`, api: ref.api }, "writing the PodGroup's scheduling outcome failed");
    });
    this.#chains.set(key, next);
    void next.then(() => {
      if (this.#chains.get(key) === next) this.#chains.delete(key);
    });
    return next;
  }

  /** Resolves when every queued write is done (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.#chains.size) await Promise.all([...this.#chains.values()]);
    await this.#opts.events.flush();
  }

  async #write(ref: GroupRef, result: PodGroupCycleResult): Promise<void> {
    const cacheKey = `${ref.namespace}/${ref.name}`;
    const obj = ref.api === "native" ? this.#opts.nativePodGroups?.get(cacheKey) : this.#opts.podGroups.get(cacheKey);
    if (!obj) return;
    const uid = obj.metadata?.uid ?? "";
    const cached = (obj.status?.conditions as GroupCondition[] | undefined)?.find((c) => c.type === POD_GROUP_SCHEDULED);
    const current = this.#written.get(uid) ?? cached;
    const condition = nextScheduledCondition(ref.api, current, result, rfc3339(this.#now()));
    const event = attemptEvent(result);
    void this.#opts.events.event(obj, {
      type: event.type, reason: event.reason, note: event.note, action: "Scheduling",
      regardingKind: ref.api === "native" ? NativePodGroups : PodGroups,
    });
    if (!condition) return;
    try {
      if (ref.api === "native") {
        await this.#opts.client.patch(NativePodGroups, { namespace: ref.namespace, name: ref.name }, {
          type: "strategic", body: { status: { conditions: [condition] } },
        }, { subresource: "status" });
      } else {
        const conditions = withCondition((obj.status?.conditions ?? []) as GroupCondition[], condition);
        await this.#opts.client.patch(PodGroups, { namespace: ref.namespace, name: ref.name }, {
          type: "merge", body: { metadata: { uid }, status: { conditions } },
        }, { subresource: "status" });
      }
      this.#written.delete(uid);
      this.#written.set(uid, condition);
      // Remember the most recent groups only (insertion order): an old entry only guards a True
      // that the cache has long seen.
      if (this.#written.size > WRITTEN_LIMIT) this.#written.delete(this.#written.keys().next().value!);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }
}
