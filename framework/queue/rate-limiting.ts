import { DelayingQueue } from "./delaying.ts";
import type { AddOptions, QueueOptions } from "./queue.ts";
import { defaultControllerRateLimiter, type RateLimiter } from "./rate-limiters.ts";

/** Options of a `RateLimitingQueue`. */
export interface RateLimitingQueueOptions<K> extends QueueOptions {
  /** Default: `defaultControllerRateLimiter()` (max of 5 ms..1000 s per key and 10 qps/100 burst). */
  rateLimiter?: RateLimiter<K>;
}

/**
 * A delaying work queue whose retries wait as a rate limiter says: mirrors client-go
 * `RateLimitingInterface`. Call `forget` when a key succeeded (or you gave up on it), or its
 * backoff keeps growing; `forget` only resets the limiter, `done` is still required.
 */
export class RateLimitingQueue<K = string> extends DelayingQueue<K> {
  readonly #rateLimiter: RateLimiter<K>;

  constructor(opts: RateLimitingQueueOptions<K> = {}) {
    super(opts);
    this.#rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter<K>(opts.clock);
  }

  /** Adds `key` after the delay the rate limiter gives it (and counts one more failure). */
  addRateLimited(key: K, opts: AddOptions = {}): void {
    this.addAfter(key, this.#rateLimiter.when(key), opts);
  }

  /** Stops tracking `key` in the rate limiter: its next failure starts from the base delay. */
  forget(key: K): void {
    this.#rateLimiter.forget(key);
  }

  /** Failures of `key` since it was last forgotten. */
  numRequeues(key: K): number {
    return this.#rateLimiter.numRequeues(key);
  }
}
