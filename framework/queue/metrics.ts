import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** What one queue reports; the collectors read it at scrape time. */
export interface QueueMetricsSource {
  readonly name: string;
  /** Seconds each in-flight item has been processed, for the unfinished/longest gauges. */
  processingAgesSeconds(): number[];
}

/** Recorder handed to one named queue. All methods are cheap and never throw. */
export interface QueueMetrics {
  /** A key became dirty (queued, or marked to come back after processing) at `priority`. */
  add(priority: number): void;
  /** An item of `priority` left the queue for a worker after waiting `queuedSeconds`. */
  get(queuedSeconds: number, priority: number): void;
  /** A dirty key's priority was raised from `oldPriority` to `newPriority`. */
  updatePriority(oldPriority: number, newPriority: number): void;
  /** A worker finished an item it held for `workSeconds`. */
  done(workSeconds: number): void;
  /** An item was added with a non-zero delay. */
  retry(): void;
  /** Stops reporting this queue's depth and in-flight gauges (after shutdown). */
  unregister(): void;
}

export const noQueueMetrics: QueueMetrics = { add() {}, get() {}, updatePriority() {}, done() {}, retry() {}, unregister() {} };

// client-go's and controller-runtime's buckets: 10ns .. 1000s, ten-fold steps.
const durationBuckets = Array.from({ length: 12 }, (_, i) => 1e-8 * 10 ** i);

type Labels = "name" | "controller";

interface RegistryCollectors {
  depth: Gauge<Labels | "priority">;
  adds: Counter<Labels>;
  queueDuration: Histogram<Labels>;
  workDuration: Histogram<Labels>;
  unfinished: Gauge<Labels>;
  longest: Gauge<Labels>;
  retries: Counter<Labels>;
  sources: Set<QueueMetricsSource>;
}

const collectorsByRegistry = new WeakMap<Registry, RegistryCollectors>();

/** More distinct priorities than this in one queue are reported under one placeholder label (controller-runtime's limit). */
const MAX_PRIORITY_LABELS = 25;
const PRIORITY_CARDINALITY_EXCEEDED = "exceeded_cardinality_limit";

function collectorsFor(registry: Registry): RegistryCollectors {
  const existing = collectorsByRegistry.get(registry);
  if (existing) return existing;
  const sources = new Set<QueueMetricsSource>();
  const registers = [registry];
  const labelNames: Labels[] = ["name", "controller"];
  const labelsOf = (s: QueueMetricsSource) => ({ name: s.name, controller: s.name });
  const c: RegistryCollectors = {
    sources,
    depth: new Gauge({ name: "workqueue_depth", help: "Current depth of workqueue by workqueue and priority", labelNames: ["name", "controller", "priority"], registers }),
    adds: new Counter({ name: "workqueue_adds_total", help: "Total number of adds handled by workqueue", labelNames, registers }),
    queueDuration: new Histogram({
      name: "workqueue_queue_duration_seconds", help: "How long in seconds an item stays in workqueue before being requested",
      labelNames, buckets: durationBuckets, registers,
    }),
    workDuration: new Histogram({
      name: "workqueue_work_duration_seconds", help: "How long in seconds processing an item from workqueue takes.",
      labelNames, buckets: durationBuckets, registers,
    }),
    unfinished: new Gauge({
      name: "workqueue_unfinished_work_seconds",
      help: "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.",
      labelNames, registers,
      collect() {
        for (const s of sources) this.set(labelsOf(s), s.processingAgesSeconds().reduce((a, b) => a + b, 0));
      },
    }),
    longest: new Gauge({
      name: "workqueue_longest_running_processor_seconds",
      help: "How many seconds has the longest running processor for workqueue been running.",
      labelNames, registers,
      collect() {
        for (const s of sources) this.set(labelsOf(s), Math.max(0, ...s.processingAgesSeconds()));
      },
    }),
    retries: new Counter({
      name: "workqueue_retries_total",
      help: "Total number of items added to the workqueue with a non-zero delay (rate-limited requeues, explicit RequeueAfter or AddAfter calls)",
      labelNames, registers,
    }),
  };
  collectorsByRegistry.set(registry, c);
  return c;
}

/**
 * The metrics of one named queue in `registry`, with controller-runtime v0.24's names, help and
 * label sets (`pkg/internal/metrics/workqueue.go`, `pkg/controller/priorityqueue/metrics.go`):
 * every series carries `name` and `controller` (both the queue's name), `workqueue_depth` also
 * `priority` (at most 25 distinct values per queue, then `exceeded_cardinality_limit`), and
 * `workqueue_retries_total` counts adds with a non-zero delay. Several queues may share a
 * registry; each metric is registered once per registry.
 */
export function queueMetrics(registry: Registry, source: QueueMetricsSource): QueueMetrics {
  const c = collectorsFor(registry);
  const labels = { name: source.name, controller: source.name };
  const priorities = new Set<string>();
  let exceeded = false;
  const priorityLabel = (priority: number): string => {
    if (exceeded) return PRIORITY_CARDINALITY_EXCEEDED;
    const label = String(priority);
    if (!priorities.has(label)) {
      if (priorities.size >= MAX_PRIORITY_LABELS) {
        exceeded = true;
        return PRIORITY_CARDINALITY_EXCEEDED;
      }
      priorities.add(label);
    }
    return label;
  };
  c.sources.add(source);
  // Make the series visible at zero before the first event, as client-go's provider does.
  c.depth.set({ ...labels, priority: priorityLabel(0) }, 0);
  c.adds.inc(labels, 0);
  c.retries.inc(labels, 0);
  return {
    add(priority) {
      c.adds.inc(labels);
      c.depth.inc({ ...labels, priority: priorityLabel(priority) });
    },
    get(queuedSeconds, priority) {
      c.depth.dec({ ...labels, priority: priorityLabel(priority) });
      c.queueDuration.observe(labels, queuedSeconds);
    },
    updatePriority(oldPriority, newPriority) {
      c.depth.dec({ ...labels, priority: priorityLabel(oldPriority) });
      c.depth.inc({ ...labels, priority: priorityLabel(newPriority) });
    },
    done(workSeconds) {
      c.workDuration.observe(labels, workSeconds);
    },
    retry() {
      c.retries.inc(labels);
    },
    unregister() {
      c.sources.delete(source);
      for (const p of priorities) c.depth.set({ ...labels, priority: p }, 0);
      if (exceeded) c.depth.set({ ...labels, priority: PRIORITY_CARDINALITY_EXCEEDED }, 0);
      c.unfinished.set(labels, 0);
      c.longest.set(labels, 0);
    },
  };
}
