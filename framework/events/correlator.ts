/**
 * The pure, clock-driven part of the event recorder: the spam filter and the aggregator of
 * similar events. Mirrors client-go `tools/record/events_cache.go` (`EventSourceObjectSpamFilter`,
 * `EventAggregator`), adapted to events.k8s.io/v1 (note instead of message, regarding instead of
 * involvedObject). Not exported from the package: `newEventRecorder` is the public surface.
 */

/** Prefix of the note of an Event that stands for several similar ones (as client-go). */
export const COMBINED_NOTE_PREFIX = "(combined from similar events): ";

/** Options of the correlator; every field has client-go's default. */
export interface CorrelatorOptions {
  /** Distinct notes of similar events before they are combined. Default 10. */
  maxSimilarEvents: number;
  /** Window in which similar events count towards `maxSimilarEvents`. Default 600000 (10 min). */
  similarWindowMs: number;
  /** Spam filter: events one regarding object may emit in a burst. Default 25. */
  spamBurst: number;
  /** Spam filter: one more event allowed per this many ms. Default 300000 (5 min). */
  spamRefillIntervalMs: number;
  /** Objects (spam filter) and event groups (aggregator) remembered, least recently used out. Default 4096. */
  cacheSize: number;
}

export const defaultCorrelatorOptions: CorrelatorOptions = {
  maxSimilarEvents: 10,
  similarWindowMs: 600_000,
  spamBurst: 25,
  spamRefillIntervalMs: 300_000,
  cacheSize: 4096,
};

/** Map with least-recently-used eviction beyond `max` entries. */
export class LruMap<K, V> {
  readonly #map = new Map<K, V>();
  readonly #max: number;
  constructor(max: number) {
    this.#max = Math.max(1, max);
  }
  get(key: K): V | undefined {
    const v = this.#map.get(key);
    if (v !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, v);
    }
    return v;
  }
  /** Sets `key`; returns the values evicted to stay within the size. */
  set(key: K, value: V): V[] {
    this.#map.delete(key);
    this.#map.set(key, value);
    const evicted: V[] = [];
    while (this.#map.size > this.#max) {
      const [k, v] = this.#map.entries().next().value!;
      this.#map.delete(k);
      evicted.push(v);
    }
    return evicted;
  }
  delete(key: K): void {
    this.#map.delete(key);
  }
  values(): IterableIterator<V> {
    return this.#map.values();
  }
  get size(): number {
    return this.#map.size;
  }
}

/**
 * A token bucket per regarding object: `spamBurst` tokens, one more every `spamRefillIntervalMs`.
 * Mirrors client-go `EventSourceObjectSpamFilter` (keyed by source and involved object).
 */
export class SpamFilter {
  readonly #buckets: LruMap<string, { tokens: number; atMs: number }>;
  readonly #burst: number;
  readonly #refillMs: number;
  constructor(opts: Pick<CorrelatorOptions, "spamBurst" | "spamRefillIntervalMs" | "cacheSize">) {
    this.#buckets = new LruMap(opts.cacheSize);
    this.#burst = opts.spamBurst;
    this.#refillMs = opts.spamRefillIntervalMs;
  }
  /** Takes a token for `objectKey` at `nowMs`; false when the object is over its budget (drop the event). */
  allow(objectKey: string, nowMs: number): boolean {
    let b = this.#buckets.get(objectKey);
    if (!b) {
      b = { tokens: this.#burst, atMs: nowMs };
      this.#buckets.set(objectKey, b);
    } else if (nowMs > b.atMs) {
      b.tokens = Math.min(this.#burst, b.tokens + (nowMs - b.atMs) / this.#refillMs);
      b.atMs = nowMs;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

/** What the aggregator made of one event. */
export interface Aggregated {
  /** True when the event is to be recorded as (a repeat of) the combined Event of its group. */
  combined: boolean;
  /** The note to write: the event's own, or `COMBINED_NOTE_PREFIX` + it. */
  note: string;
}

/**
 * Counts the distinct notes of similar events (same group key: regarding object, type, reason,
 * action, reporting controller and instance) seen within `similarWindowMs` of the previous one;
 * from the `maxSimilarEvents`-th distinct note on, events of the group are combined. Mirrors
 * client-go `EventAggregator.EventAggregate` (the window restarts when the group was quiet for
 * longer than it; the set of notes does not grow beyond the maximum).
 */
export class Aggregator {
  readonly #groups: LruMap<string, { notes: Set<string>; lastMs: number }>;
  readonly #max: number;
  readonly #windowMs: number;
  constructor(opts: Pick<CorrelatorOptions, "maxSimilarEvents" | "similarWindowMs" | "cacheSize">) {
    this.#groups = new LruMap(opts.cacheSize);
    this.#max = Math.max(1, opts.maxSimilarEvents);
    this.#windowMs = opts.similarWindowMs;
  }
  observe(groupKey: string, note: string, nowMs: number): Aggregated {
    let g = this.#groups.get(groupKey);
    if (!g || nowMs - g.lastMs > this.#windowMs) {
      g = { notes: new Set(), lastMs: nowMs };
      this.#groups.set(groupKey, g);
    }
    g.lastMs = nowMs;
    g.notes.add(note);
    if (g.notes.size < this.#max) return { combined: false, note };
    // Keep the set at the maximum: drop one remembered note (client-go pops any).
    g.notes.delete(g.notes.values().next().value!);
    return { combined: true, note: COMBINED_NOTE_PREFIX + note };
  }
}
