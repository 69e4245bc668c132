/**
 * The time source of the queue layers. Tests pass a fake; production uses the real timers.
 * Mirrors client-go's injectable `k8s.io/utils/clock`.
 */
export interface Clock {
  /** Milliseconds since the epoch (or any fixed origin); must not go backwards in a fake. */
  now(): number;
  /** Calls `fn` once after `delayMs`; returns a handle for `clearTimer`. */
  setTimer(fn: () => void, delayMs: number): unknown;
  /** Cancels a timer returned by `setTimer`; a no-op for a timer that already fired. */
  clearTimer(handle: unknown): void;
}

/** The real clock: `performance.now()` and `setTimeout`. */
export const realClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimer: (fn, delayMs) => setTimeout(fn, Math.max(0, delayMs)),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
