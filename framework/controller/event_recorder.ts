import { hostname } from "node:os";
import { isNotFound, type Client } from "../client/index.ts";
import { rootLogger, type Logger } from "../log/index.ts";
import { Events, type GroupVersionKind, type KubeObject } from "../meta/index.ts";

/** What one event says about an object (events.k8s.io/v1 fields). */
export interface EventInfo {
  /** `Normal` for expected transitions, `Warning` for what an operator should look at. */
  type: "Normal" | "Warning";
  /** Short UpperCamelCase reason, e.g. `SuccessfulCreate` (at most 128 characters). */
  reason: string;
  /** Human-readable message (at most 1 kB; longer notes are cut). */
  note: string;
  /** What the controller did or failed to do, e.g. `Create` (UpperCamelCase). Default: `reason`. */
  action?: string;
  /** A second object the event is about, e.g. the Pod created for a ReplicaSet. */
  related?: KubeObject;
  /** GVK of `regarding`, for objects that lack `apiVersion`/`kind` (items of a LIST). */
  regardingKind?: GroupVersionKind;
}

/**
 * Writes events.k8s.io/v1 Events about objects, as controller-runtime's recorder and client-go
 * `tools/events` do. A repeat of the same event (same object, type, reason, action and note)
 * within `seriesWindowMs` patches the `series` (count, lastObservedTime) of the Event already
 * written instead of creating another one.
 *
 * Never throws and never rejects: failures are logged (events are best-effort). The returned
 * promise resolves once the write was attempted, for callers that want to wait.
 */
export interface EventRecorder {
  event(regarding: KubeObject, info: EventInfo): Promise<void>;
  /** `event` with type `Normal`. */
  normal(regarding: KubeObject, reason: string, note: string, action?: string): Promise<void>;
  /** `event` with type `Warning`. */
  warning(regarding: KubeObject, reason: string, note: string, action?: string): Promise<void>;
}

/** Options of `newEventRecorder`. */
export interface EventRecorderOptions {
  /** `reportingController`, e.g. `kubeloop.dev/replicaset-controller`. */
  reportingController: string;
  /** `reportingInstance`; default `<reportingController>-<hostname>`. */
  reportingInstance?: string;
  /** Window in which repeats become a series. Default 600000 (10 min). */
  seriesWindowMs?: number;
  /** Distinct events remembered for series. Default 4096 (as client-go). */
  cacheSize?: number;
  log?: Logger;
  /** Time source in ms since the epoch; tests pass a fake. */
  now?: () => number;
}

interface Seen {
  namespace: string;
  name: string;
  count: number;
  lastMs: number;
}

/** RFC 3339 with microseconds, the wire form of `metav1.MicroTime`. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

function reference(obj: KubeObject, gvk?: GroupVersionKind) {
  const apiVersion = obj.apiVersion ?? (gvk ? (gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version) : undefined);
  const kind = obj.kind ?? gvk?.kind;
  const m = obj.metadata ?? {};
  return {
    ...(apiVersion ? { apiVersion } : {}),
    ...(kind ? { kind } : {}),
    ...(m.namespace ? { namespace: m.namespace } : {}),
    ...(m.name ? { name: m.name } : {}),
    ...(m.uid ? { uid: m.uid } : {}),
    ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
  };
}

let sequence = 0;

/** Creates an `EventRecorder` writing through `client`. */
export function newEventRecorder(client: Client, opts: EventRecorderOptions): EventRecorder {
  const log = (opts.log ?? rootLogger).child({ component: "event-recorder", reportingController: opts.reportingController });
  const now = opts.now ?? Date.now;
  const windowMs = opts.seriesWindowMs ?? 600_000;
  const cacheSize = opts.cacheSize ?? 4096;
  const reportingInstance = (opts.reportingInstance ?? `${opts.reportingController}-${hostname()}`).slice(0, 128);
  const seen = new Map<string, Seen>();

  async function write(key: string, regarding: KubeObject, info: EventInfo): Promise<void> {
    const t = now();
    const prior = seen.get(key);
    if (prior && t - prior.lastMs <= windowMs) {
      prior.count++;
      prior.lastMs = t;
      seen.delete(key); // refresh LRU position
      seen.set(key, prior);
      try {
        await client.patch(Events, { namespace: prior.namespace, name: prior.name }, {
          type: "merge", body: { series: { count: prior.count, lastObservedTime: microTime(t) } },
        });
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        // The Event expired or was deleted: write a fresh one.
      }
    }
    const ref = reference(regarding, info.regardingKind);
    const namespace = regarding.metadata?.namespace || "default";
    const name = `${regarding.metadata?.name ?? "unknown"}.${(BigInt(t) * 1_000_000n + BigInt(sequence++ % 1_000_000)).toString(16)}`;
    const body = {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name, namespace },
      eventTime: microTime(t),
      reportingController: opts.reportingController,
      reportingInstance,
      action: (info.action ?? info.reason).slice(0, 128),
      reason: info.reason.slice(0, 128),
      note: info.note.length > 1024 ? `${info.note.slice(0, 1021)}...` : info.note,
      type: info.type,
      regarding: ref,
      ...(info.related ? { related: reference(info.related) } : {}),
    };
    await client.create(Events, body as never);
    seen.delete(key);
    seen.set(key, { namespace, name, count: 1, lastMs: t });
    while (seen.size > cacheSize) seen.delete(seen.keys().next().value!);
  }

  // Writes of one key are chained so that a burst of repeats makes one create and then patches.
  const chains = new Map<string, Promise<void>>();
  const recorder: EventRecorder = {
    event(regarding, info) {
      try {
        const m = regarding.metadata ?? {};
        const key = JSON.stringify([
          m.uid ?? "", regarding.kind ?? info.regardingKind?.kind ?? "", m.namespace ?? "", m.name ?? "",
          info.type, info.reason, info.action ?? info.reason, info.note,
        ]);
        const next = (chains.get(key) ?? Promise.resolve()).then(() => write(key, regarding, info)).catch((err: unknown) => {
          log.error({ err, regarding: reference(regarding, info.regardingKind), reason: info.reason }, "could not write event; dropped");
        });
        chains.set(key, next);
        void next.then(() => {
          if (chains.get(key) === next) chains.delete(key);
        });
        return next;
      } catch (err) {
        log.error({ err }, "could not record event; dropped");
        return Promise.resolve();
      }
    },
    normal: (regarding, reason, note, action) => recorder.event(regarding, { type: "Normal", reason, note, ...(action ? { action } : {}) }),
    warning: (regarding, reason, note, action) => recorder.event(regarding, { type: "Warning", reason, note, ...(action ? { action } : {}) }),
  };
  return recorder;
}
