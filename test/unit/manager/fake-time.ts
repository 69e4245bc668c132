import { FakeClock } from "../queue/fake-clock.ts";

export { FakeClock };

/** Lets pending promise callbacks and I/O callbacks run (no time passes on any clock). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Moves `clock` forward by `ms` in steps of `stepMs`, letting the code under test run between
 * steps, so that async loops driven by the fake clock make progress as they would in real time.
 * Stops early (and returns true) once `until` holds.
 */
export async function elapse(clock: FakeClock, ms: number, opts: { stepMs?: number; until?: () => boolean } = {}): Promise<boolean> {
  const step = opts.stepMs ?? 10;
  await settle();
  for (let done = 0; done < ms; done += step) {
    if (opts.until?.()) return true;
    clock.advance(Math.min(step, ms - done));
    await settle();
    await settle();
  }
  return opts.until?.() ?? false;
}
