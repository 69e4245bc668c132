import type { CacheReader, EventHandler, HandlerRegistration, IndexFunc, Informer } from "../../../framework/cache/types.ts";
import { keyOf, type KubeObject } from "../../../framework/meta/index.ts";

/** An in-memory informer: tests drive its events by hand. */
export class FakeInformer<T extends KubeObject> implements Informer<T> {
  readonly objects = new Map<string, T>();
  readonly handlers = new Set<EventHandler<T>>();
  #synced = false;
  #syncWaiters: Array<() => void> = [];

  readonly store: CacheReader<T> = {
    get: (key) => this.objects.get(key),
    list: (ns) => [...this.objects.values()].filter((o) => ns === undefined || o.metadata?.namespace === ns),
    byIndex: () => { throw new Error("no indexes in the fake"); },
    size: () => this.objects.size,
  };

  addEventHandler(handler: EventHandler<T>): HandlerRegistration {
    this.handlers.add(handler);
    for (const o of this.objects.values()) handler.onAdd?.(o, true);
    return { remove: () => this.handlers.delete(handler), hasSynced: () => this.#synced };
  }
  addIndex(_name: string, _fn: IndexFunc<T>): void {}
  hasSynced(): boolean {
    return this.#synced;
  }
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#syncWaiters.push(resolve);
      signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
  }
  markSynced(): void {
    this.#synced = true;
    for (const w of this.#syncWaiters.splice(0)) w();
  }
  add(obj: T, initial = false): void {
    this.objects.set(keyOf(obj), obj);
    for (const h of this.handlers) h.onAdd?.(obj, initial);
  }
  update(obj: T): void {
    const old = this.objects.get(keyOf(obj));
    if (!old) throw new Error(`fake informer: update of unknown ${keyOf(obj)}`);
    this.objects.set(keyOf(obj), obj);
    for (const h of this.handlers) h.onUpdate?.(old, obj);
  }
  delete(obj: T): void {
    this.objects.delete(keyOf(obj));
    for (const h of this.handlers) h.onDelete?.(obj, false);
  }
}

export function cm(name: string, extra: Partial<KubeObject["metadata"]> = {}, namespace = "default"): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace, resourceVersion: "1", ...extra } };
}

/** Resolves when `cond()` holds, polling every few ms; rejects after `timeoutMs` naming `what`. */
export async function eventually(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
