import { inspect } from "node:util";
import { sleepOrThrow as sleep } from "../flowcontrol/index.ts";

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this many milliseconds (measured from the call). */
  timeoutMs: number;
  /** Pause between probes in milliseconds; default 250. */
  intervalMs?: number;
  /** What is awaited, for the timeout error: "pod default/web-0 to be Running". */
  description: string;
  /** Aborting stops the wait and rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Thrown by {@link waitFor} when the condition did not hold in time. */
export class WaitTimeoutError extends Error {
  readonly description: string;
  readonly timeoutMs: number;
  /** What the last probe returned (`undefined` or `false`), if it returned. */
  readonly lastValue: unknown;
  /** What the last probe threw, if it threw. */
  readonly lastError: unknown;
  constructor(description: string, timeoutMs: number, lastValue: unknown, lastError: unknown) {
    const last =
      lastError !== undefined
        ? `last probe failed: ${lastError instanceof Error ? lastError.message : inspect(lastError)}`
        : `last probe returned ${inspect(lastValue, { depth: 4, breakLength: Infinity })}`;
    super(`timed out after ${timeoutMs}ms waiting for ${description}; ${last}`);
    this.name = "WaitTimeoutError";
    this.description = description;
    this.timeoutMs = timeoutMs;
    this.lastValue = lastValue;
    this.lastError = lastError;
  }
}


const timedOut = Symbol("timedOut");

/**
 * Calls `probe` until it returns something other than `undefined` or `false`, and resolves
 * with that value (the counterpart of apimachinery's `wait.PollUntilContextTimeout` with an
 * immediate first probe).
 *
 * A probe that throws is retried; its error is kept for the timeout message. A probe that
 * hangs past the deadline does not hold the wait: the deadline wins.
 *
 * @throws WaitTimeoutError after `timeoutMs`, naming `description` and the last value or error.
 * @throws the signal's reason when `signal` aborts.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false>,
  opts: WaitForOptions,
): Promise<T> {
  const intervalMs = opts.intervalMs ?? 250;
  const deadline = Date.now() + opts.timeoutMs;
  let lastValue: unknown;
  let lastError: unknown;
  for (;;) {
    opts.signal?.throwIfAborted();
    const remaining = deadline - Date.now();
    let deadlineTimer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        probe(),
        new Promise<typeof timedOut>((resolve) => {
          deadlineTimer = setTimeout(() => resolve(timedOut), Math.max(0, remaining));
        }),
      ]);
      if (result === timedOut) throw new WaitTimeoutError(opts.description, opts.timeoutMs, lastValue, lastError);
      if (result !== undefined && result !== false) return result;
      lastValue = result;
      lastError = undefined;
    } catch (err) {
      if (err instanceof WaitTimeoutError) throw err;
      lastError = err;
    } finally {
      clearTimeout(deadlineTimer);
    }
    opts.signal?.throwIfAborted();
    const left = deadline - Date.now();
    if (left <= 0) throw new WaitTimeoutError(opts.description, opts.timeoutMs, lastValue, lastError);
    await sleep(Math.min(intervalMs, left), opts.signal);
  }
}
