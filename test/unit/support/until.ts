import { sleep } from "../../../framework/flowcontrol/index.ts";

/**
 * Polls `cond` every `intervalMs` (default 5) until it holds.
 * @throws Error naming `what` after `timeoutMs` (default 5000).
 */
export async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000, intervalMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(intervalMs);
  }
}
