/** Options of `Backoff`. Times in milliseconds. */
export interface BackoffOptions {
  /** First delay (default 800). */
  initialMs?: number;
  /** Largest delay before jitter (default 30 000). */
  maxMs?: number;
  /** Growth per consecutive failure (default 2). */
  factor?: number;
  /** Extra random delay as a fraction of the delay, 0..1 (default 0.25). */
  jitter?: number;
  /** After this long without a failure the delay starts again at `initialMs` (default 120 000). */
  resetAfterMs?: number;
  /** Monotonic clock in ms, for tests (default `performance.now`). */
  now?: () => number;
  /** Random source in [0, 1), for tests (default `Math.random`). */
  random?: () => number;
}

/**
 * Exponential backoff with jitter that forgets past failures after a healthy period. Mirrors
 * client-go's reflector backoff manager (800 ms doubling to 30 s, reset after 2 min without
 * failure); the jitter is added on top of the capped delay.
 */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #factor: number;
  readonly #jitter: number;
  readonly #resetAfterMs: number;
  readonly #now: () => number;
  readonly #random: () => number;
  #currentMs: number | undefined;
  #lastFailureAt: number | undefined;

  constructor(opts: BackoffOptions = {}) {
    this.#initialMs = opts.initialMs ?? 800;
    this.#maxMs = opts.maxMs ?? 30_000;
    this.#factor = opts.factor ?? 2;
    this.#jitter = opts.jitter ?? 0.25;
    this.#resetAfterMs = opts.resetAfterMs ?? 120_000;
    this.#now = opts.now ?? (() => performance.now());
    this.#random = opts.random ?? Math.random;
  }

  /** Records a failure and returns how long to wait before the next attempt, in milliseconds. */
  nextDelayMs(): number {
    const now = this.#now();
    if (this.#currentMs === undefined || this.#lastFailureAt === undefined || now - this.#lastFailureAt >= this.#resetAfterMs) {
      this.#currentMs = this.#initialMs;
    } else {
      this.#currentMs = Math.min(this.#maxMs, this.#currentMs * this.#factor);
    }
    this.#lastFailureAt = now;
    return Math.round(this.#currentMs * (1 + this.#jitter * this.#random()));
  }

  /** Forgets past failures at once. */
  reset(): void {
    this.#currentMs = undefined;
    this.#lastFailureAt = undefined;
  }
}

