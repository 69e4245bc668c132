import { MinHeap } from "./heap.ts";
import { WorkQueue, type AddOptions, type QueueOptions } from "./queue.ts";

interface Waiting<K> {
  key: K;
  readyAtMs: number;
  priority: number;
  index: number;
}

/**
 * A work queue that can add a key later: mirrors client-go `DelayingInterface`.
 *
 * All waiting keys live in one min-heap ordered by ready time, with one timer armed for the
 * earliest; there is no timer per add. A key already waiting keeps the earlier of its two ready
 * times (client-go semantics). Every `addAfter` with a positive delay counts in
 * `workqueue_retries_total` (controller-runtime v0.24's priority queue; client-go counts every call).
 */
export class DelayingQueue<K = string> extends WorkQueue<K> {
  readonly #waiting = new MinHeap<Waiting<K>>((a, b) => a.readyAtMs < b.readyAtMs);
  readonly #waitingByKey = new Map<K, Waiting<K>>();
  #timer: unknown = undefined;
  #timerAtMs = Infinity;
  constructor(opts: QueueOptions = {}) {
    super(opts);
  }

  /**
   * Adds `key` once `delayMs` milliseconds have passed; at once (and not counted as a retry)
   * when `delayMs <= 0`. Ignored after shutdown.
   */
  addAfter(key: K, delayMs: number, opts: AddOptions = {}): void {
    if (this.isShuttingDown()) return;
    if (!(delayMs > 0)) {
      this.add(key, opts);
      return;
    }
    this.metrics.retry();
    const readyAtMs = this.clock.now() + delayMs;
    const priority = opts.priority ?? 0;
    const existing = this.#waitingByKey.get(key);
    if (existing) {
      if (priority > existing.priority) existing.priority = priority;
      if (readyAtMs < existing.readyAtMs) {
        existing.readyAtMs = readyAtMs;
        this.#waiting.fix(existing.index);
        this.#arm();
      }
      return;
    }
    const entry = { key, readyAtMs, priority, index: -1 };
    this.#waiting.push(entry);
    this.#waitingByKey.set(key, entry);
    this.#arm();
  }

  /** Number of keys waiting for their delay to pass. */
  waitingCount(): number {
    return this.#waiting.size;
  }

  protected override onShutDown(): void {
    if (this.#timer !== undefined) this.clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#timerAtMs = Infinity;
    this.#waiting.clear();
    this.#waitingByKey.clear();
  }

  /** Arms the single timer for the earliest ready time, if it is not armed for it already. */
  #arm(): void {
    const head = this.#waiting.peek();
    if (!head) return;
    if (this.#timer !== undefined && this.#timerAtMs <= head.readyAtMs) return;
    if (this.#timer !== undefined) this.clock.clearTimer(this.#timer);
    this.#timerAtMs = head.readyAtMs;
    this.#timer = this.clock.setTimer(() => this.#fire(), head.readyAtMs - this.clock.now());
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAtMs = Infinity;
    const now = this.clock.now();
    for (let head = this.#waiting.peek(); head && head.readyAtMs <= now; head = this.#waiting.peek()) {
      this.#waiting.pop();
      this.#waitingByKey.delete(head.key);
      this.add(head.key, { priority: head.priority });
    }
    this.#arm();
  }
}

