import { setTimeout as delay } from "node:timers/promises";

/** Resolves after `ms` milliseconds, or at once when `signal` aborts; never rejects (for loops that check `signal` themselves). */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  await delay(ms, undefined, signal ? { signal } : {}).catch(() => undefined);
}

/**
 * Resolves after `ms` milliseconds.
 * @throws the abort reason of `signal` when it aborts first (also when it already has).
 */
export async function sleepOrThrow(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, signal ? { signal } : {});
  } catch (err) {
    throw signal?.aborted ? signal.reason : err;
  }
}
