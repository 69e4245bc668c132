/**
 * Pods held at Permit (`Wait`) until every waiting plugin allows them, one rejects them, or a
 * plugin's timeout passes. Mirrors kube-scheduler v1.36's `waitingPodsMap`
 * (`pkg/scheduler/framework/runtime/waiting_pods_map.go`): one timer per waiting plugin, the
 * timeout message `rejected due to timeout after waiting <duration> at plugin <name>`, and the
 * longest wait capped at 15 minutes (`maxTimeout`).
 */
import type { DeepReadonly, Pod } from "../meta/index.ts";
import type { Clock } from "../flowcontrol/index.ts";
import type { Status, WaitingPods } from "./framework.ts";
import { goDuration } from "./fit-error.ts";

/** Upstream's `maxTimeout` of a Permit wait, in ms. */
export const MAX_PERMIT_WAIT_MS = 15 * 60 * 1000;

interface Waiting {
  pod: DeepReadonly<Pod>;
  pending: Set<string>;
  timers: unknown[];
  settle: (s: Status) => void;
  result: Promise<Status>;
}

/** See the module comment. */
export class WaitingPodsMap implements WaitingPods {
  readonly #pods = new Map<string, Waiting>();
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /**
   * Holds `pod` for the plugins in `waitMs` (plugin name -> timeout in ms). The returned promise
   * resolves with Success once every plugin allowed it, or with the rejection.
   */
  add(uid: string, pod: DeepReadonly<Pod>, waitMs: ReadonlyMap<string, number>): Promise<Status> {
    let settle!: (s: Status) => void;
    const result = new Promise<Status>((resolve) => (settle = resolve));
    const w: Waiting = { pod, pending: new Set(waitMs.keys()), timers: [], settle, result };
    this.#pods.set(uid, w);
    for (const [plugin, ms] of waitMs) {
      const timeout = Math.min(Math.max(0, ms), MAX_PERMIT_WAIT_MS);
      w.timers.push(this.#clock.setTimer(() => this.reject(uid, plugin, `rejected due to timeout after waiting ${goDuration(timeout)} at plugin ${plugin}`), timeout));
    }
    return result;
  }

  allow(podUid: string, plugin: string): void {
    const w = this.#pods.get(podUid);
    if (!w) return;
    w.pending.delete(plugin);
    if (w.pending.size === 0) this.#settle(podUid, w, { code: "Success", reasons: [] });
  }

  reject(podUid: string, plugin: string, message: string): void {
    const w = this.#pods.get(podUid);
    if (w) this.#settle(podUid, w, { code: "Unschedulable", reasons: [message], plugin });
  }

  uids(): readonly string[] {
    return [...this.#pods.keys()];
  }

  get(podUid: string): DeepReadonly<Pod> | undefined {
    return this.#pods.get(podUid)?.pod;
  }

  /** Rejects every waiting pod (scheduler stop). */
  rejectAll(message: string): void {
    for (const uid of [...this.#pods.keys()]) this.reject(uid, "", message);
  }

  #settle(uid: string, w: Waiting, s: Status): void {
    for (const t of w.timers) this.#clock.clearTimer(t);
    this.#pods.delete(uid);
    w.settle(s);
  }
}
