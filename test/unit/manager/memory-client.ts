import { ApiError, type Client, type ListOptions, type ObjectList, type Patch, type WatchEvent, type WatchOptions } from "../../../framework/client/index.ts";
import type { KubeObject, ObjectKey, ResourceType } from "../../../framework/meta/index.ts";

type Listener = (e: { type: "ADDED" | "MODIFIED" | "DELETED"; object: KubeObject }) => void;

/** An in-memory API for every type: optimistic concurrency on resourceVersion, merge patches, and watches from "now". */
export class MemoryClient implements Client {
  rv = 1;
  readonly objects = new Map<string, KubeObject>();
  readonly listeners = new Map<string, Set<Listener>>();
  /** When set, every call throws it (simulates an unreachable API server). */
  down: Error | undefined;

  private k(type: ResourceType, ns: string | undefined, name: string): string {
    return `${type.plural}.${type.group}/${ns ?? ""}/${name}`;
  }
  private emit(type: ResourceType, event: Parameters<Listener>[0]): void {
    for (const l of this.listeners.get(`${type.plural}.${type.group}`) ?? []) l(structuredClone(event));
  }
  private check(): void {
    if (this.down) throw this.down;
  }
  private err(code: number, reason: string, verb: string, type: ResourceType, key: ObjectKey): ApiError {
    return new ApiError(code, { code, reason, message: reason }, { verb, gvk: type, ...(key.namespace ? { namespace: key.namespace } : {}), name: key.name });
  }

  async get<T extends KubeObject>(type: ResourceType<T>, key: ObjectKey): Promise<T> {
    this.check();
    const o = this.objects.get(this.k(type, key.namespace, key.name));
    if (!o) throw this.err(404, "NotFound", "get", type, key);
    return structuredClone(o) as T;
  }
  async list<T extends KubeObject>(type: ResourceType<T>, opts?: ListOptions): Promise<ObjectList<T>> {
    this.check();
    const prefix = `${type.plural}.${type.group}/`;
    const items = [...this.objects].filter(([k, o]) => k.startsWith(prefix) && (!opts?.namespace || o.metadata?.namespace === opts.namespace)).map(([, o]) => structuredClone(o) as T);
    return { metadata: { resourceVersion: String(this.rv) }, items };
  }
  async create<T extends KubeObject>(type: ResourceType<T>, obj: T): Promise<T> {
    this.check();
    const m = obj.metadata ?? {};
    const key = this.k(type, m.namespace, m.name ?? "");
    if (this.objects.has(key)) throw this.err(409, "AlreadyExists", "create", type, { namespace: m.namespace, name: m.name ?? "" });
    const stored = { ...structuredClone(obj), metadata: { ...m, uid: `uid-${this.rv}`, resourceVersion: String(++this.rv), generation: 1 } };
    this.objects.set(key, stored);
    this.emit(type, { type: "ADDED", object: stored });
    return structuredClone(stored);
  }
  async update<T extends KubeObject>(type: ResourceType<T>, obj: T): Promise<T> {
    this.check();
    const m = obj.metadata ?? {};
    const key = this.k(type, m.namespace, m.name ?? "");
    const old = this.objects.get(key);
    const okey = { namespace: m.namespace, name: m.name ?? "" };
    if (!old) throw this.err(404, "NotFound", "update", type, okey);
    if (m.resourceVersion && m.resourceVersion !== old.metadata?.resourceVersion) throw this.err(409, "Conflict", "update", type, okey);
    const stored = { ...structuredClone(obj), metadata: { ...old.metadata, ...m, resourceVersion: String(++this.rv) } };
    this.objects.set(key, stored);
    this.emit(type, { type: "MODIFIED", object: stored });
    return structuredClone(stored);
  }
  async updateStatus<T extends KubeObject>(type: ResourceType<T>, obj: T): Promise<T> {
    return this.update(type, obj);
  }
  async patch<T extends KubeObject>(type: ResourceType<T>, key: ObjectKey, patch: Patch): Promise<T> {
    this.check();
    if (patch.type !== "merge") throw new Error("memory client: only merge patches");
    const old = this.objects.get(this.k(type, key.namespace, key.name));
    if (!old) throw this.err(404, "NotFound", "patch", type, key);
    const merged = mergePatch(structuredClone(old), patch.body) as T;
    return this.update(type, merged);
  }
  async delete<T extends KubeObject>(type: ResourceType<T>, key: ObjectKey): Promise<void> {
    this.check();
    const k = this.k(type, key.namespace, key.name);
    const old = this.objects.get(k);
    if (!old) throw this.err(404, "NotFound", "delete", type, key);
    this.objects.delete(k);
    this.rv++;
    this.emit(type, { type: "DELETED", object: old });
  }
  watch<T extends KubeObject>(type: ResourceType<T>, opts?: WatchOptions): AsyncIterable<WatchEvent<T>> {
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        self.check();
        const queue: Array<WatchEvent<T>> = [];
        let wake: (() => void) | undefined;
        const l: Listener = (e) => {
          if (opts?.namespace && e.object.metadata?.namespace !== opts.namespace) return;
          queue.push(e as WatchEvent<T>);
          wake?.();
        };
        const id = `${type.plural}.${type.group}`;
        if (!self.listeners.has(id)) self.listeners.set(id, new Set());
        self.listeners.get(id)!.add(l);
        const onAbort = () => wake?.();
        opts?.signal?.addEventListener("abort", onAbort);
        try {
          while (!opts?.signal?.aborted) {
            const e = queue.shift();
            if (e) yield e;
            else await new Promise<void>((r) => (wake = r));
          }
        } finally {
          self.listeners.get(id)!.delete(l);
          opts?.signal?.removeEventListener("abort", onAbort);
        }
      },
    };
  }
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === "object" && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}
