/**
 * The time source of the queue layers, the leader elector and the rate limiters. Tests pass a
 * fake; production uses the real timers. Mirrors client-go's injectable `k8s.io/utils/clock`.
 * `now()` is monotonic: use it for every delay, deadline and expiry, never wall time
 * (`Date.now`), which jumps when the system clock is set.
 */
export interface Clock {
  /** Milliseconds from a fixed origin; never goes backwards (a fake must not either). */
  now(): number;
  /** Calls `fn` once after `delayMs`; returns a handle for `clearTimer`. */
  setTimer(fn: () => void, delayMs: number): unknown;
  /** Cancels a timer returned by `setTimer`; a no-op for a timer that already fired. */
  clearTimer(handle: unknown): void;
}

/** The real clock: monotonic `performance.timeOrigin + performance.now()` and `setTimeout`. */
export const realClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimer: (fn, delayMs) => setTimeout(fn, Math.max(0, delayMs)),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Resolves after `ms` milliseconds of `clock`, or at once when `signal` aborts; never rejects
 * (for loops that check `signal` themselves).
 */
export function sleepOn(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const onAbort = () => {
      clock.clearTimer(timer);
      resolve();
    };
    const timer = clock.setTimer(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * A signal that aborts after `ms` milliseconds of `clock` (`AbortSignal.timeout` on an injectable
 * clock), with a `TimeoutError` naming `what`. Call `clear()` once it is no longer needed.
 */
export function timeoutSignal(clock: Clock, ms: number, what = "operation"): { signal: AbortSignal; clear(): void } {
  const ac = new AbortController();
  const timer = clock.setTimer(() => ac.abort(new DOMException(`${what} timed out after ${Math.round(ms)} ms`, "TimeoutError")), ms);
  return { signal: ac.signal, clear: () => clock.clearTimer(timer) };
}
