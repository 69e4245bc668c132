import { hostname } from "node:os";
import { Counter, type Registry } from "prom-client";
import { isNotFound, type Client } from "../client/index.ts";
import { rootLogger, type Logger } from "../log/index.ts";
import { Events, microTime, type GroupVersionKind, type KubeObject } from "../meta/index.ts";
import { realClock, type Clock } from "../flowcontrol/index.ts";
import { Aggregator, defaultCorrelatorOptions, LruMap, SpamFilter } from "./correlator.ts";

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
 * Writes events.k8s.io/v1 Events about objects, cheaply, as client-go's recorders do. Mirrors
 * client-go `tools/record` EventCorrelator and `tools/events` series, in this order:
 *
 * 1. Spam filter (`EventSourceObjectSpamFilter`): a token bucket per regarding object, `spamBurst`
 *    (25) events in a burst, one more per `spamRefillIntervalMs` (300000); over it, events are
 *    dropped (debug log, `kubeloop_events_dropped_total{reason="spam"}`).
 * 2. Aggregation (`EventAggregator`): events that differ only by note (same regarding object,
 *    type, reason, action, reporting controller) are combined once `maxSimilarEvents` (10)
 *    distinct notes were seen within `similarWindowMs` (600000): they become one Event whose
 *    note is `(combined from similar events): <note>` and whose `series.count` grows. (In
 *    events.k8s.io/v1 `note` and `related` are immutable, so the combined Event keeps the note of
 *    the occurrence that started it and has no `related`.)
 * 3. Series (`eventLogger` / `tools/events`): a repeat of an Event (same key, within
 *    `seriesWindowMs` of its last occurrence) only counts: the second occurrence is written at
 *    once (as client-go), later ones are buffered and written as one merge PATCH of
 *    `series: { count, lastObservedTime }` at most once per `seriesFlushIntervalMs` per Event,
 *    and on `flush()`. A series whose Event vanished (404) is written as a new Event.
 *
 * Writing is asynchronous through a bounded queue (`queueSize` creates, one writer): `event()`
 * returns at once; when the queue is full the event is dropped (log,
 * `kubeloop_events_dropped_total{reason="queue_full"}`). Never throws and never rejects:
 * failures are logged (events are best-effort).
 */
export interface EventRecorder {
  /**
   * Records one occurrence. The promise (which callers may ignore) resolves once the write that
   * carries this occurrence was attempted (the create, or an immediate series PATCH), once the
   * occurrence is buffered for a throttled series PATCH (written within `seriesFlushIntervalMs`,
   * or by `flush()`), or at once when it was dropped. So awaiting it never holds a reconcile for
   * the flush interval.
   */
  event(regarding: KubeObject, info: EventInfo): Promise<void>;
  /** `event` with type `Normal`. */
  normal(regarding: KubeObject, reason: string, note: string, action?: string): Promise<void>;
  /** `event` with type `Warning`. */
  warning(regarding: KubeObject, reason: string, note: string, action?: string): Promise<void>;
  /**
   * Writes every buffered series count now and resolves once the queue is empty (call it on
   * shutdown, or in tests before reading Events). Never rejects.
   */
  flush(): Promise<void>;
}

/** Options of `newEventRecorder`. Numbers default to client-go's. */
export interface EventRecorderOptions {
  /** `reportingController`, e.g. `kubeloop.dev/replicaset-controller`. */
  reportingController: string;
  /** `reportingInstance`; default `<reportingController>-<hostname>`. */
  reportingInstance?: string;
  /** Window after an Event's last occurrence in which a repeat joins its series. Default 600000 (10 min). */
  seriesWindowMs?: number;
  /**
   * Least interval between two series PATCHes of one Event, in ms. Default 30000: a busy Event
   * costs at most two writes a minute, and `kubectl get events` lags by at most 30 s (client-go
   * `tools/events` only heartbeats series every 30 min, which hides counts for too long; Events
   * live 1 h on the server).
   */
  seriesFlushIntervalMs?: number;
  /** Distinct notes of similar events before they are combined. Default 10. */
  maxSimilarEvents?: number;
  /** Window of `maxSimilarEvents`, in ms. Default 600000 (10 min). */
  similarWindowMs?: number;
  /** Events one regarding object may emit in a burst. Default 25. */
  spamBurst?: number;
  /** One more event allowed per regarding object per this many ms. Default 300000 (5 min). */
  spamRefillIntervalMs?: number;
  /** Creates waiting to be written; beyond it, events are dropped. Default 1000 (as client-go's broadcaster). */
  queueSize?: number;
  /** Distinct events (and objects, groups) remembered. Default 4096 (as client-go). */
  cacheSize?: number;
  /** Registry for `kubeloop_events_dropped_total{reason}`; none: no metric. */
  registry?: Registry;
  log?: Logger;
  /** Timers (and time, unless `now` is given); tests pass a fake. Default: the real clock. */
  clock?: Clock;
  /** Time source in ms since the epoch (for `eventTime` too); default `clock.now`. */
  now?: () => number;
}

/** One Event on the server (or about to be), with its buffered series count. */
interface SeriesEntry {
  namespace: string;
  /** Name of the Event once created (changes when re-created after a 404). */
  name?: string;
  /** The create body, without `series`. */
  body: Record<string, unknown>;
  /** Occurrences so far (cumulative). */
  count: number;
  /** Count last written (or given up on after an error). */
  writtenCount: number;
  lastObservedMs: number;
  /** When the last series write happened; undefined: none yet (the next one is immediate). */
  lastSeriesWriteMs?: number;
  /** A create or series job is queued or running. */
  busy: boolean;
  timer?: unknown;
  /** Resolvers of occurrences not yet carried by a write. */
  waiters: Array<() => void>;
  /** The create failed or was dropped: the entry is out of the cache. */
  dead: boolean;
}

type Job = { kind: "create" | "series"; entry: SeriesEntry };


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

function droppedCounter(registry: Registry): Counter<"reason"> {
  const name = "kubeloop_events_dropped_total";
  return (registry.getSingleMetric(name) as Counter<"reason"> | undefined)
    ?? new Counter({ name, help: "Events the recorders dropped, by reason (spam: over the per-object budget; queue_full)", labelNames: ["reason"], registers: [registry] });
}

let sequence = 0;

/** Creates an `EventRecorder` writing through `client` (see `EventRecorder` for the semantics). */
export function newEventRecorder(client: Client, opts: EventRecorderOptions): EventRecorder {
  const log = (opts.log ?? rootLogger).child({ component: "event-recorder", reportingController: opts.reportingController });
  const clock = opts.clock ?? realClock;
  const now = opts.now ?? (() => Math.floor(clock.now()));
  const seriesWindowMs = opts.seriesWindowMs ?? 600_000;
  const flushIntervalMs = opts.seriesFlushIntervalMs ?? 30_000;
  const queueSize = opts.queueSize ?? 1000;
  const cacheSize = opts.cacheSize ?? defaultCorrelatorOptions.cacheSize;
  const reportingInstance = (opts.reportingInstance ?? `${opts.reportingController}-${hostname()}`).slice(0, 128);
  const spam = new SpamFilter({
    spamBurst: opts.spamBurst ?? defaultCorrelatorOptions.spamBurst,
    spamRefillIntervalMs: opts.spamRefillIntervalMs ?? defaultCorrelatorOptions.spamRefillIntervalMs,
    cacheSize,
  });
  const aggregator = new Aggregator({
    maxSimilarEvents: opts.maxSimilarEvents ?? defaultCorrelatorOptions.maxSimilarEvents,
    similarWindowMs: opts.similarWindowMs ?? defaultCorrelatorOptions.similarWindowMs,
    cacheSize,
  });
  const dropped = opts.registry ? droppedCounter(opts.registry) : undefined;
  const entries = new LruMap<string, SeriesEntry>(cacheSize);

  const queue: Job[] = [];
  let pendingCreates = 0;
  let running = false;
  let flushing = 0;
  let warnedFull = false;
  let idleWaiters: Array<() => void> = [];

  const settle = (waiters: Array<() => void>) => {
    for (const w of waiters) w();
  };

  function enqueue(job: Job): boolean {
    if (job.kind === "create") {
      if (pendingCreates >= queueSize) return false;
      pendingCreates++;
    }
    job.entry.busy = true;
    queue.push(job);
    if (!running) {
      // Start on the next microtask: repeats recorded in the same tick fold into the create.
      running = true;
      queueMicrotask(() => void pump());
    }
    return true;
  }

  async function pump(): Promise<void> {
    try {
      for (let job = queue.shift(); job; job = queue.shift()) {
        if (job.kind === "create") pendingCreates--;
        if (pendingCreates < queueSize / 2) warnedFull = false;
        try {
          await (job.kind === "create" ? writeCreate(job.entry) : writeSeries(job.entry));
        } catch (err) {
          log.error({ err }, "event recorder: unexpected failure; continuing");
        }
        job.entry.busy = false;
        afterWrite(job.entry);
      }
    } finally {
      running = false;
      const w = idleWaiters;
      idleWaiters = [];
      settle(w);
    }
  }

  /** After a write of `entry`: schedule the next series write if occurrences are unwritten. */
  function afterWrite(entry: SeriesEntry): void {
    if (entry.dead) {
      settle(entry.waiters.splice(0));
      return;
    }
    if (entry.count > entry.writtenCount) scheduleSeries(entry);
    else settle(entry.waiters.splice(0));
  }

  function scheduleSeries(entry: SeriesEntry): void {
    if (entry.timer !== undefined) {
      // A throttled write is already due: these occurrences ride on it.
      settle(entry.waiters.splice(0));
      return;
    }
    if (entry.busy || entry.name === undefined || entry.dead) return;
    const dueMs = flushing > 0 || entry.lastSeriesWriteMs === undefined ? now() : entry.lastSeriesWriteMs + flushIntervalMs;
    const delayMs = dueMs - now();
    if (delayMs <= 0) {
      enqueue({ kind: "series", entry });
      return;
    }
    const handle = clock.setTimer(() => {
      entry.timer = undefined;
      scheduleSeries(entry);
    }, delayMs);
    (handle as { unref?: () => void } | undefined)?.unref?.();
    entry.timer = handle;
    // Buffered until the timer: the occurrences are recorded, their callers need not wait.
    settle(entry.waiters.splice(0));
  }

  function newName(regardingName: string, t: number): string {
    return `${regardingName}.${(BigInt(Math.floor(t)) * 1_000_000n + BigInt(sequence++ % 1_000_000)).toString(16)}`;
  }

  async function writeCreate(entry: SeriesEntry): Promise<void> {
    const carried = entry.waiters.splice(0);
    const count = entry.count;
    const t = now();
    try {
      const regardingName = String((entry.body.regarding as { name?: string }).name ?? "unknown");
      const name = newName(regardingName, t);
      const body = {
        ...entry.body,
        metadata: { name, namespace: entry.namespace },
        ...(count >= 2 ? { series: { count, lastObservedTime: microTime(entry.lastObservedMs) } } : {}),
      };
      await client.create(Events, body as never);
      entry.name = body.metadata.name;
      entry.writtenCount = count;
      if (count >= 2) entry.lastSeriesWriteMs = t;
    } catch (err) {
      log.error({ err, regarding: entry.body.regarding, reason: entry.body.reason }, "could not write event; dropped");
      entry.writtenCount = count;
      if (entry.name === undefined) kill(entry);
    } finally {
      settle(carried);
    }
  }

  async function writeSeries(entry: SeriesEntry): Promise<void> {
    const carried = entry.waiters.splice(0);
    const count = entry.count;
    if (entry.name === undefined || count <= entry.writtenCount) {
      settle(carried);
      return;
    }
    const t = now();
    try {
      await client.patch(Events, { namespace: entry.namespace, name: entry.name }, {
        type: "merge", body: { series: { count, lastObservedTime: microTime(entry.lastObservedMs) } },
      });
      entry.lastSeriesWriteMs = t;
    } catch (err) {
      if (isNotFound(err)) {
        // The Event expired or was deleted: write the series as a fresh Event.
        entry.waiters.unshift(...carried);
        carried.length = 0;
        await writeCreate(entry);
        return;
      }
      // Counts are cumulative: the next write carries these occurrences too.
      log.error({ err, event: { namespace: entry.namespace, name: entry.name }, count }, "could not update the series of an event; will retry with the next occurrence");
      entry.lastSeriesWriteMs = t;
    } finally {
      entry.writtenCount = Math.max(entry.writtenCount, count);
      settle(carried);
    }
  }

  function kill(entry: SeriesEntry): void {
    entry.dead = true;
    if (entry.timer !== undefined) clock.clearTimer(entry.timer);
    entry.timer = undefined;
  }

  function drop(reason: "spam" | "queue_full", fields: object): void {
    dropped?.inc({ reason });
    if (reason === "queue_full" && !warnedFull) {
      warnedFull = true;
      log.warn({ ...fields, queueSize }, "event queue full; dropping events until it drains");
    } else {
      log.debug({ ...fields, dropReason: reason }, "event dropped");
    }
  }

  function record(regarding: KubeObject, info: EventInfo): Promise<void> {
    const t = now();
    const ref = reference(regarding, info.regardingKind);
    const m = regarding.metadata ?? {};
    const action = (info.action ?? info.reason).slice(0, 128);
    const reason = info.reason.slice(0, 128);
    const note = info.note.length > 1024 ? `${info.note.slice(0, 1021)}...` : info.note;
    const objectKey = JSON.stringify([m.uid ?? "", ref.apiVersion ?? "", ref.kind ?? "", m.namespace ?? "", m.name ?? ""]);
    if (!spam.allow(objectKey, t)) {
      drop("spam", { regarding: ref, reason });
      return Promise.resolve();
    }
    const groupKey = JSON.stringify([objectKey, info.type, reason, action]);
    const aggregated = aggregator.observe(groupKey, note, t);
    const key = aggregated.combined ? groupKey : JSON.stringify([groupKey, note]);

    return new Promise<void>((resolve) => {
      const prior = entries.get(key);
      if (prior && !prior.dead && t - prior.lastObservedMs <= seriesWindowMs) {
        prior.count++;
        prior.lastObservedMs = t;
        prior.waiters.push(resolve);
        scheduleSeries(prior);
        return;
      }
      const entry: SeriesEntry = {
        namespace: m.namespace || "default",
        body: {
          apiVersion: "events.k8s.io/v1",
          kind: "Event",
          eventTime: microTime(t),
          reportingController: opts.reportingController,
          reportingInstance,
          action,
          reason,
          note: aggregated.note.length > 1024 ? `${aggregated.note.slice(0, 1021)}...` : aggregated.note,
          type: info.type,
          regarding: ref,
          ...(info.related && !aggregated.combined ? { related: reference(info.related) } : {}),
        },
        count: 1,
        writtenCount: 0,
        lastObservedMs: t,
        busy: false,
        waiters: [resolve],
        dead: false,
      };
      if (!enqueue({ kind: "create", entry })) {
        drop("queue_full", { regarding: ref, reason });
        resolve();
        return;
      }
      for (const evicted of entries.set(key, entry)) {
        // Forgotten: write its buffered count now; a later repeat starts a new Event.
        if (!evicted.busy && evicted.count > evicted.writtenCount && evicted.name !== undefined) {
          if (evicted.timer !== undefined) clock.clearTimer(evicted.timer);
          evicted.timer = undefined;
          enqueue({ kind: "series", entry: evicted });
        }
      }
    });
  }

  const recorder: EventRecorder = {
    event(regarding, info) {
      try {
        return record(regarding, info);
      } catch (err) {
        log.error({ err }, "could not record event; dropped");
        return Promise.resolve();
      }
    },
    normal: (regarding, reason, note, action) => recorder.event(regarding, { type: "Normal", reason, note, ...(action ? { action } : {}) }),
    warning: (regarding, reason, note, action) => recorder.event(regarding, { type: "Warning", reason, note, ...(action ? { action } : {}) }),
    async flush() {
      flushing++;
      try {
        // Bounded: occurrences keep arriving while flushing.
        for (let round = 0; round < 5; round++) {
          for (const entry of entries.values()) {
            if (entry.timer !== undefined) {
              clock.clearTimer(entry.timer);
              entry.timer = undefined;
            }
            if (entry.count > entry.writtenCount) scheduleSeries(entry);
          }
          if (running) await new Promise<void>((r) => idleWaiters.push(r));
          let dirty = false;
          for (const entry of entries.values()) if (!entry.dead && entry.count > entry.writtenCount) dirty = true;
          if (!dirty && !running) return;
        }
      } catch (err) {
        log.error({ err }, "could not flush events");
      } finally {
        flushing--;
      }
    },
  };
  return recorder;
}
