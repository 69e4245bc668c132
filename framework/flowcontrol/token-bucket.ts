import type { Clock } from "./clock.ts";

/** One token taken from a `TokenBucket`: when it may be used, and how to give it back. */
export interface Reservation {
  /** Milliseconds the holder must wait before using the token (0: at once). */
  readonly delayMs: number;
  /**
   * Gives the token back because it will not be used (x/time/rate `Reservation.Cancel`): only
   * the part no later reservation was scheduled against is restored, and nothing once the
   * reservation's time has come. Idempotent.
   */
  cancel(): void;
}

/**
 * A token bucket: it starts full with `burst` tokens and gains `qps` tokens per second, never
 * holding more than `burst`. `reserve()` takes one token now, and returns how many milliseconds
 * the caller must wait before using it (0 while tokens are left; tokens may go negative, so
 * callers queue up in order). Mirrors `golang.org/x/time/rate` `Limiter` (`Reserve().Delay()`,
 * `Reservation.Cancel`, `Wait`), on which client-go builds both its REST client limiter
 * (`flowcontrol.NewTokenBucketRateLimiter`) and the work queue's `BucketRateLimiter`.
 * All times come from a monotonic clock (`performance.now` unless one is injected).
 */
export class TokenBucket {
  readonly qps: number;
  readonly burst: number;
  readonly #now: () => number;
  readonly #clock: Clock | undefined;
  #tokens: number;
  #lastMs: number;
  /** When the latest reservation may act (x/time/rate `lastEvent`). */
  #lastEventMs: number;

  /**
   * @param qps tokens added per second (> 0)
   * @param burst most tokens held (>= 1), and the tokens at the start
   * @param clock monotonic time in milliseconds, as a function or a `Clock` (whose timers `wait`
   *   then uses); default `performance.now` and real timers
   * @throws Error when `qps` or `burst` is out of range
   */
  constructor(qps: number, burst: number, clock: (() => number) | Clock = () => performance.now()) {
    if (!(qps > 0) || !(burst >= 1)) throw new Error(`token bucket: want qps > 0 and burst >= 1, got qps ${qps} and burst ${burst}`);
    this.qps = qps;
    this.burst = burst;
    if (typeof clock === "function") {
      this.#now = clock;
    } else {
      this.#clock = clock;
      this.#now = () => clock.now();
    }
    this.#tokens = burst;
    this.#lastMs = this.#now();
    this.#lastEventMs = this.#lastMs;
  }

  /** Takes one token; returns the wait in milliseconds before it may be used. */
  reserve(): number {
    return this.reservation().delayMs;
  }

  /** Takes one token and returns the reservation, which can be cancelled (x/time/rate `Reserve`). */
  reservation(): Reservation {
    const now = this.#now();
    this.#tokens = this.#advance(now) - 1;
    this.#lastMs = now;
    // Float dust (refills are fractional) must not turn into a wait of 1e-14 ms.
    const delayMs = this.#tokens >= -1e-9 ? 0 : (-this.#tokens / this.qps) * 1000;
    const timeToActMs = now + delayMs;
    this.#lastEventMs = timeToActMs;
    let cancelled = false;
    return {
      delayMs,
      cancel: () => {
        if (cancelled) return;
        cancelled = true;
        this.#cancel(timeToActMs);
      },
    };
  }

  /**
   * Waits until one token may be used (x/time/rate `Limiter.Wait`).
   * @throws the abort reason of `signal` when it aborts first (also when it already has); the
   *   token is then given back (`Reservation.cancel`), so an abandoned request does not delay
   *   the next ones.
   */
  async wait(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const r = this.reservation();
    if (r.delayMs <= 0) return;
    const clock = this.#clock;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        if (clock) clock.clearTimer(timer);
        else clearTimeout(timer as ReturnType<typeof setTimeout>);
        r.cancel();
        reject(signal!.reason);
      };
      const done = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const timer: unknown = clock ? clock.setTimer(done, r.delayMs) : setTimeout(done, r.delayMs);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Tokens at `now`: refilled at `qps` since the last update, at most `burst`. */
  #advance(now: number): number {
    return Math.min(this.burst, this.#tokens + (Math.max(0, now - this.#lastMs) / 1000) * this.qps);
  }

  /** x/time/rate `Reservation.CancelAt`. */
  #cancel(timeToActMs: number): void {
    const now = this.#now();
    if (timeToActMs < now) return;
    // Tokens reserved after this one were scheduled counting it: those are not restored.
    const restore = 1 - ((this.#lastEventMs - timeToActMs) / 1000) * this.qps;
    if (restore <= 1e-9) return;
    this.#tokens = Math.min(this.burst, this.#advance(now) + restore);
    this.#lastMs = now;
    if (timeToActMs === this.#lastEventMs) {
      const previousEventMs = timeToActMs - 1000 / this.qps;
      if (previousEventMs >= now) this.#lastEventMs = previousEventMs;
    }
  }
}
