import { readyTransitionTime, type PodLike, type ServiceLike } from "./pods.ts";

/** Annotation with the time of the change that triggered the last write (RFC 3339, UTC). */
export const LAST_CHANGE_TRIGGER_TIME_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time";

interface ServiceState {
  podTimesMs: Map<string, number>;
  serviceTimeMs: number;
}

/**
 * Per Service, the trigger times seen at the last sync, to tell which change triggered this one.
 * Mirrors `TriggerTimeTracker` of `k8s.io/endpointslice/util` v0.36: the first sync of a Service
 * after start reports its creation time; later ones the earliest Ready-condition transition (or
 * Service creation) that advanced since the previous sync, or nothing. In-memory state: two
 * controllers, or one before and after a restart, report different times.
 */
export class TriggerTimeTracker {
  readonly #states = new Map<string, ServiceState>();

  /** The trigger time of this sync in ms since the epoch, or undefined (the annotation is then removed). */
  compute(service: ServiceLike, pods: readonly PodLike[]): number | undefined {
    const key = `${service.metadata?.namespace ?? ""}/${service.metadata?.name ?? ""}`;
    const prev = this.#states.get(key);
    let min: number | undefined;
    const podTimesMs = new Map<string, number>();
    for (const pod of pods) {
      const t = readyTransitionTime(pod);
      if (!t) continue;
      const ms = Date.parse(t);
      if (Number.isNaN(ms)) continue;
      podTimesMs.set(pod.metadata?.name ?? "", ms);
      if (ms > (prev?.podTimesMs.get(pod.metadata?.name ?? "") ?? -Infinity)) min = min === undefined ? ms : Math.min(min, ms);
    }
    const created = Date.parse(String(service.metadata?.creationTimestamp ?? ""));
    const serviceTimeMs = Number.isNaN(created) ? 0 : created;
    if (serviceTimeMs > (prev?.serviceTimeMs ?? -Infinity)) min = min === undefined ? serviceTimeMs : Math.min(min, serviceTimeMs);
    this.#states.set(key, { podTimesMs, serviceTimeMs });
    if (!prev) return Number.isNaN(created) ? undefined : created;
    return min;
  }

  /** Forgets a deleted Service. */
  delete(namespace: string, name: string): void {
    this.#states.delete(`${namespace}/${name}`);
  }
}

/** `ms` as Go's `time.RFC3339Nano` in UTC (no trailing zeros in the fraction). */
export function rfc3339Nano(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0+Z$/, "Z").replace(/\.Z$/, "Z");
}
