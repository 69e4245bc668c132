import { TokenBucket } from "../flowcontrol/index.ts";
import { realClock, type Clock } from "../flowcontrol/index.ts";

/**
 * Decides how long a key waits before it is retried: mirrors client-go `workqueue.RateLimiter`.
 */
export interface RateLimiter<K = string> {
  /** Delay in milliseconds before `key` may be retried; records one more failure of `key`. */
  when(key: K): number;
  /** Stops tracking `key` (after success, or when giving up on it). */
  forget(key: K): void;
  /** How many times `key` has been rate-limited since it was last forgotten. */
  numRequeues(key: K): number;
}

/**
 * Per-key exponential backoff: `baseDelayMs * 2^failures`, capped at `maxDelayMs`.
 * Mirrors client-go `ItemExponentialFailureRateLimiter` (default 5 ms to 1000 s in controllers).
 */
export class ItemExponentialFailureRateLimiter<K = string> implements RateLimiter<K> {
  readonly #failures = new Map<K, number>();
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;

  constructor(baseDelayMs = 5, maxDelayMs = 1_000_000) {
    if (!(baseDelayMs >= 0) || !(maxDelayMs >= baseDelayMs)) {
      throw new Error(`exponential rate limiter: want 0 <= baseDelayMs <= maxDelayMs, got ${baseDelayMs} and ${maxDelayMs}`);
    }
    this.#baseDelayMs = baseDelayMs;
    this.#maxDelayMs = maxDelayMs;
  }

  when(key: K): number {
    const exp = this.#failures.get(key) ?? 0;
    this.#failures.set(key, exp + 1);
    return Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** exp);
  }

  forget(key: K): void {
    this.#failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.#failures.get(key) ?? 0;
  }
}

/**
 * An overall token bucket shared by all keys: `qps` tokens per second, at most `burst` saved.
 * Each `when` takes a token and returns how long until that token exists (0 while the bucket has
 * tokens). Mirrors client-go `BucketRateLimiter` over `golang.org/x/time/rate` `Reserve().Delay()`.
 * It does not track keys: `numRequeues` is always 0.
 */
export class BucketRateLimiter<K = string> implements RateLimiter<K> {
  readonly #bucket: TokenBucket;

  constructor(qps = 10, burst = 100, clock: Clock = realClock) {
    this.#bucket = new TokenBucket(qps, burst, () => clock.now());
  }

  when(_key: K): number {
    return this.#bucket.reserve();
  }

  forget(_key: K): void {}

  numRequeues(_key: K): number {
    return 0;
  }
}

/**
 * The worst case of several limiters: the longest delay, the highest requeue count; `forget`
 * reaches all of them. Mirrors client-go `MaxOfRateLimiter`.
 */
export class MaxOfRateLimiter<K = string> implements RateLimiter<K> {
  readonly #limiters: RateLimiter<K>[];

  constructor(...limiters: RateLimiter<K>[]) {
    if (limiters.length === 0) throw new Error("MaxOfRateLimiter needs at least one rate limiter");
    this.#limiters = limiters;
  }

  when(key: K): number {
    // Every limiter must see every failure, so no short-circuit.
    return this.#limiters.map((l) => l.when(key)).reduce((a, b) => Math.max(a, b), 0);
  }

  forget(key: K): void {
    for (const l of this.#limiters) l.forget(key);
  }

  numRequeues(key: K): number {
    return this.#limiters.map((l) => l.numRequeues(key)).reduce((a, b) => Math.max(a, b), 0);
  }
}

/**
 * client-go's `DefaultControllerRateLimiter` (controller-runtime's default only with
 * `UsePriorityQueue: false`): the max of a per-key exponential backoff from 5 ms to 1000 s and an
 * overall token bucket of 10 qps, burst 100. The default of `RateLimitingQueue`; a `Controller`
 * defaults to the per-key backoff alone, as controller-runtime v0.24's priority queue does.
 */
export function defaultControllerRateLimiter<K = string>(clock: Clock = realClock): RateLimiter<K> {
  return new MaxOfRateLimiter<K>(new ItemExponentialFailureRateLimiter<K>(5, 1_000_000), new BucketRateLimiter<K>(10, 100, clock));
}
