import { Store, type EventHandler, type HandlerRegistration, type Informer } from "../../../framework/cache/index.ts";
import type { EventInfo, EventRecorder } from "../../../framework/events/index.ts";
import { keyOf, type KubeObject, type Node, type Pod } from "../../../framework/meta/index.ts";
import type { SchedulerClient } from "../../../framework/scheduling/index.ts";

/** An informer fed by hand: `set`/`remove` update the store and call the handlers synchronously. */
export class FakeInformer<T extends KubeObject> implements Informer<T> {
  readonly store = new Store<T>();
  readonly #handlers = new Set<EventHandler<T>>();

  addEventHandler(handler: EventHandler<T>): HandlerRegistration {
    this.#handlers.add(handler);
    for (const o of this.store.list()) handler.onAdd?.(o, true);
    return { remove: () => this.#handlers.delete(handler), hasSynced: () => true };
  }
  addIndex(): void {}
  hasSynced(): boolean {
    return true;
  }
  async waitForSync(): Promise<void> {}

  set(obj: T): void {
    const old = this.store.upsert(obj);
    for (const h of this.#handlers) {
      if (old) h.onUpdate?.(old, obj);
      else h.onAdd?.(obj, false);
    }
  }
  remove(obj: T): void {
    const old = this.store.delete(keyOf(obj));
    if (old) for (const h of this.#handlers) h.onDelete?.(old, false);
  }
}

/** A client that binds by updating the pod informer (as the API server + watch would), records status patches, and can fail binds. */
export class FakeSchedulerClient implements SchedulerClient {
  readonly binds: Array<{ pod: string; node: string }> = [];
  readonly conditions = new Map<string, { reason: string; message: string }>();
  failBind: ((pod: string) => Error | undefined) | undefined;
  readonly #pods: FakeInformer<Pod>;

  constructor(pods: FakeInformer<Pod>) {
    this.#pods = pods;
  }

  async bind(key: { namespace: string; name: string }, nodeName: string): Promise<void> {
    const k = `${key.namespace}/${key.name}`;
    const err = this.failBind?.(k);
    if (err) throw err;
    this.binds.push({ pod: k, node: nodeName });
    const pod = this.#pods.store.get(k);
    if (pod) queueMicrotask(() => this.#pods.set({ ...pod, spec: { ...pod.spec!, nodeName } }));
  }

  async patch(_t: unknown, key: { namespace?: string; name: string }, patch: unknown): Promise<never> {
    const body = (patch as { body: { status: { conditions: Array<{ reason: string; message: string }> } } }).body;
    const c = body.status.conditions[0]!;
    this.conditions.set(`${key.namespace}/${key.name}`, { reason: c.reason, message: c.message });
    return undefined as never;
  }
}

/** Records events. */
export class FakeRecorder implements EventRecorder {
  readonly events: Array<{ object: string } & EventInfo> = [];
  async event(regarding: KubeObject, info: EventInfo): Promise<void> {
    this.events.push({ object: keyOf(regarding), ...info });
  }
  async normal(regarding: KubeObject, reason: string, note: string, action?: string): Promise<void> {
    return this.event(regarding, { type: "Normal", reason, note, ...(action ? { action } : {}) });
  }
  async warning(regarding: KubeObject, reason: string, note: string, action?: string): Promise<void> {
    return this.event(regarding, { type: "Warning", reason, note, ...(action ? { action } : {}) });
  }
  async flush(): Promise<void> {}
}

export function node(name: string, labels: Record<string, string> = {}): Node {
  return { apiVersion: "v1", kind: "Node", metadata: { name, uid: `node-${name}`, labels }, status: { allocatable: { cpu: "4", memory: "8Gi", pods: "110" } } };
}

export function pod(name: string, opts: { schedulerName?: string; labels?: Record<string, string>; priority?: number } = {}): Pod {
  return {
    apiVersion: "v1", kind: "Pod",
    metadata: { name, namespace: "ns", uid: `uid-${name}`, labels: opts.labels ?? {} },
    spec: { schedulerName: opts.schedulerName ?? "test-scheduler", priority: opts.priority ?? 0, containers: [{ name: "c", image: "x" }] },
  };
}
