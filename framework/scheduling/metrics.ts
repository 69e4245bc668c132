/**
 * kube-scheduler's metrics, with its names, labels and buckets (`pkg/scheduler/metrics/metrics.go`
 * in Kubernetes v1.36), on a prom-client registry:
 * - `scheduler_schedule_attempts_total{result,profile}`: result `scheduled`, `unschedulable`, `error`;
 * - `scheduler_scheduling_attempt_duration_seconds{result,profile}`: one scheduling attempt
 *   (the scheduling cycle, not the bind); buckets 0.001 * 2^k, k < 15;
 * - `scheduler_pod_scheduling_sli_duration_seconds{attempts}`: from the pod's first entry in the
 *   queue to its successful bind; buckets 0.01 * 2^k, k < 20;
 * - `scheduler_pending_pods{queue}`: `active`, `backoff`, `unschedulable`, `gated`;
 * - `scheduler_framework_extension_point_duration_seconds{extension_point,status,profile}`:
 *   buckets 0.0001 * 2^k, k < 12.
 * Two schedulers on one registry share the metrics (found by name).
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** The scheduler's metric handles. */
export interface SchedulerMetrics {
  readonly attempts: Counter<"result" | "profile">;
  readonly attemptDuration: Histogram<"result" | "profile">;
  readonly sliDuration: Histogram<"attempts">;
  readonly pendingPods: Gauge<"queue">;
  readonly extensionPointDuration: Histogram<"extension_point" | "status" | "profile">;
}

function exponential(start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start * factor ** i);
}

/** Registers (or finds) the metrics on `registry`; without one they live on a private registry. */
export function schedulerMetrics(registry?: Registry): SchedulerMetrics {
  const regs = registry ? [registry] : [];
  const find = <T>(name: string): T | undefined => registry?.getSingleMetric(name) as T | undefined;
  return {
    attempts: find("scheduler_schedule_attempts_total") ?? new Counter({
      name: "scheduler_schedule_attempts_total", help: "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem.",
      labelNames: ["result", "profile"], registers: regs,
    }),
    attemptDuration: find("scheduler_scheduling_attempt_duration_seconds") ?? new Histogram({
      name: "scheduler_scheduling_attempt_duration_seconds", help: "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
      labelNames: ["result", "profile"], buckets: exponential(0.001, 2, 15), registers: regs,
    }),
    sliDuration: find("scheduler_pod_scheduling_sli_duration_seconds") ?? new Histogram({
      name: "scheduler_pod_scheduling_sli_duration_seconds", help: "E2e latency for a pod being scheduled, from the time the pod enters the scheduling queue and might involve multiple scheduling attempts.",
      labelNames: ["attempts"], buckets: exponential(0.01, 2, 20), registers: regs,
    }),
    pendingPods: find("scheduler_pending_pods") ?? new Gauge({
      name: "scheduler_pending_pods", help: "Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means number of pods in unschedulablePods that the scheduler attempted to schedule and failed; 'gated' is the number of unschedulable pods that the scheduler never attempted to schedule because they are gated.",
      labelNames: ["queue"], registers: regs,
    }),
    extensionPointDuration: find("scheduler_framework_extension_point_duration_seconds") ?? new Histogram({
      name: "scheduler_framework_extension_point_duration_seconds", help: "Latency for running all plugins of a specific extension point.",
      labelNames: ["extension_point", "status", "profile"], buckets: exponential(0.0001, 2, 12), registers: regs,
    }),
  };
}
