/**
 * A token bucket: it starts full with `burst` tokens and gains `qps` tokens per second, never
 * holding more than `burst`. `reserve()` takes one token now, and returns how many milliseconds
 * the caller must wait before using it (0 while tokens are left; tokens may go negative, so
 * callers queue up in order). Mirrors `golang.org/x/time/rate` `Limiter.Reserve().Delay()`, on
 * which client-go builds both its REST client limiter (`flowcontrol.NewTokenBucketRateLimiter`)
 * and the work queue's `BucketRateLimiter`.
 */
export class TokenBucket {
  readonly qps: number;
  readonly burst: number;
  readonly #now: () => number;
  #tokens: number;
  #lastMs: number;

  /**
   * @param qps tokens added per second (> 0)
   * @param burst most tokens held (>= 1), and the tokens at the start
   * @param now clock in milliseconds (default `performance.now`)
   * @throws Error when `qps` or `burst` is out of range
   */
  constructor(qps: number, burst: number, now: () => number = () => performance.now()) {
    if (!(qps > 0) || !(burst >= 1)) throw new Error(`token bucket: want qps > 0 and burst >= 1, got qps ${qps} and burst ${burst}`);
    this.qps = qps;
    this.burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#lastMs = now();
  }

  /** Takes one token; resolves to the wait in milliseconds before it may be used. */
  reserve(): number {
    const now = this.#now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#lastMs) / 1000) * this.qps);
    this.#lastMs = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens / this.qps) * 1000;
  }
}
