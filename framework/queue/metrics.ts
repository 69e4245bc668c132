import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** What one queue reports; the collectors read it at scrape time. */
export interface QueueMetricsSource {
  readonly name: string;
  /** Seconds each in-flight item has been processed, for the unfinished/longest gauges. */
  processingAgesSeconds(): number[];
}

/** Recorder handed to one named queue. All methods are cheap and never throw. */
export interface QueueMetrics {
  add(): void;
  /** An item left the queue for a worker after waiting `queuedSeconds`. */
  get(queuedSeconds: number): void;
  /** A worker finished an item it held for `workSeconds`. */
  done(workSeconds: number): void;
  retry(): void;
  /** Stops reporting this queue's in-flight gauges (after shutdown). */
  unregister(): void;
}

export const noQueueMetrics: QueueMetrics = { add() {}, get() {}, done() {}, retry() {}, unregister() {} };

// client-go's buckets: 10ns .. 1000s, ten-fold steps.
const durationBuckets = Array.from({ length: 12 }, (_, i) => 1e-8 * 10 ** i);

interface RegistryCollectors {
  depth: Gauge<"name">;
  adds: Counter<"name">;
  queueDuration: Histogram<"name">;
  workDuration: Histogram<"name">;
  unfinished: Gauge<"name">;
  longest: Gauge<"name">;
  retries: Counter<"name">;
  sources: Set<QueueMetricsSource>;
}

const collectorsByRegistry = new WeakMap<Registry, RegistryCollectors>();

function collectorsFor(registry: Registry): RegistryCollectors {
  const existing = collectorsByRegistry.get(registry);
  if (existing) return existing;
  const sources = new Set<QueueMetricsSource>();
  const registers = [registry];
  const c: RegistryCollectors = {
    sources,
    depth: new Gauge({ name: "workqueue_depth", help: "Current depth of workqueue", labelNames: ["name"], registers }),
    adds: new Counter({ name: "workqueue_adds_total", help: "Total number of adds handled by workqueue", labelNames: ["name"], registers }),
    queueDuration: new Histogram({
      name: "workqueue_queue_duration_seconds", help: "How long in seconds an item stays in workqueue before being requested.",
      labelNames: ["name"], buckets: durationBuckets, registers,
    }),
    workDuration: new Histogram({
      name: "workqueue_work_duration_seconds", help: "How long in seconds processing an item from workqueue takes.",
      labelNames: ["name"], buckets: durationBuckets, registers,
    }),
    unfinished: new Gauge({
      name: "workqueue_unfinished_work_seconds",
      help: "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads.",
      labelNames: ["name"], registers,
      collect() {
        for (const s of sources) this.set({ name: s.name }, s.processingAgesSeconds().reduce((a, b) => a + b, 0));
      },
    }),
    longest: new Gauge({
      name: "workqueue_longest_running_processor_seconds",
      help: "How many seconds has the longest running processor for workqueue been running.",
      labelNames: ["name"], registers,
      collect() {
        for (const s of sources) this.set({ name: s.name }, Math.max(0, ...s.processingAgesSeconds()));
      },
    }),
    retries: new Counter({ name: "workqueue_retries_total", help: "Total number of retries handled by workqueue", labelNames: ["name"], registers }),
  };
  collectorsByRegistry.set(registry, c);
  return c;
}

/**
 * The metrics of one named queue in `registry`, with client-go's names and the `name` label.
 * Several queues may share a registry; each metric is registered once per registry.
 */
export function queueMetrics(registry: Registry, source: QueueMetricsSource): QueueMetrics {
  const c = collectorsFor(registry);
  const labels = { name: source.name };
  c.sources.add(source);
  // Make the series visible at zero before the first event, as client-go's provider does.
  c.depth.set(labels, 0);
  c.adds.inc(labels, 0);
  c.retries.inc(labels, 0);
  return {
    add() {
      c.adds.inc(labels);
      c.depth.inc(labels);
    },
    get(queuedSeconds) {
      c.depth.dec(labels);
      c.queueDuration.observe(labels, queuedSeconds);
    },
    done(workSeconds) {
      c.workDuration.observe(labels, workSeconds);
    },
    retry() {
      c.retries.inc(labels);
    },
    unregister() {
      c.sources.delete(source);
      c.depth.set(labels, 0);
      c.unfinished.set(labels, 0);
      c.longest.set(labels, 0);
    },
  };
}
