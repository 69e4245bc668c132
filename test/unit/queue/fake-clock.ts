import type { Clock } from "../../../framework/flowcontrol/index.ts";

/** A manual clock: time moves only through `advance`, which fires due timers in time order. */
export class FakeClock implements Clock {
  private t: number;
  private nextId = 1;
  /** @param startMs the clock's first reading, in ms since the epoch. */
  constructor(startMs = 1_000_000) {
    this.t = startMs;
  }
  readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, delayMs: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + Math.max(0, delayMs), fn });
    return id;
  }
  clearTimer(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!due || e[1].at < due[1].at)) due = e;
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = Math.max(this.t, due[1].at);
      due[1].fn();
    }
    this.t = end;
  }
}
