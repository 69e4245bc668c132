/** Options of `Backoff`. Times in milliseconds. */
export interface BackoffOptions {
  /** First delay (default 800). */
  initialMs?: number;
  /** Largest delay before jitter (default 30 000). */
  maxMs?: number;
  /** Growth per consecutive failure (default 2). */
  factor?: number;
  /** Extra random delay as a fraction of the delay: the delay is `d * (1 + jitter * random)` (default 1.0, client-go's). */
  jitter?: number;
  /** Every this many milliseconds (counted from the last reset) the delay starts again at `initialMs` (default 120 000). */
  resetAfterMs?: number;
  /** Monotonic clock in milliseconds, for tests (default `performance.now`). */
  now?: () => number;
  /** Random source in [0, 1), for tests (default `Math.random`). */
  random?: () => number;
}

/**
 * Exponential backoff with jitter and a periodic reset. Mirrors the reflector backoff of
 * client-go v0.36 (`tools/cache/reflector.go`: `wait.Backoff{Duration: 800ms, Cap: 30s,
 * Factor: 2, Jitter: 1.0}.DelayWithReset(clock, 2min)`): delays 800 ms, 1.6 s, ... capped at
 * 30 s, each stretched by up to +100 % of jitter (`wait.Jitter`, added on top of the capped
 * delay, so up to 60 s); the sequence starts again at 800 ms when more than 2 min passed since
 * its last reset (apimachinery `backoffManager.Step`), failing or not.
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
  #lastResetAt: number;

  constructor(opts: BackoffOptions = {}) {
    this.#initialMs = opts.initialMs ?? 800;
    this.#maxMs = opts.maxMs ?? 30_000;
    this.#factor = opts.factor ?? 2;
    this.#jitter = opts.jitter ?? 1.0;
    this.#resetAfterMs = opts.resetAfterMs ?? 120_000;
    this.#now = opts.now ?? (() => performance.now());
    this.#random = opts.random ?? Math.random;
    this.#lastResetAt = this.#now();
  }

  /** Records a failure and returns how long to wait before the next attempt, in milliseconds. */
  nextDelayMs(): number {
    const now = this.#now();
    if (now - this.#lastResetAt > this.#resetAfterMs) {
      this.#currentMs = undefined;
      this.#lastResetAt = now;
    }
    this.#currentMs = this.#currentMs === undefined ? this.#initialMs : Math.min(this.#maxMs, this.#currentMs * this.#factor);
    return Math.round(this.#currentMs * (1 + this.#jitter * this.#random()));
  }

  /** Forgets past failures at once (and restarts the reset period). */
  reset(): void {
    this.#currentMs = undefined;
    this.#lastResetAt = this.#now();
  }
}

