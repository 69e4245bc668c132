import { ApiError, type Client, type Patch } from "../../../framework/client/index.ts";
import { Store } from "../../../framework/cache/index.ts";
import { keyOf, type KubeObject, type ObjectKey, type Pod, type ResourceType } from "../../../framework/meta/index.ts";

/**
 * An in-memory API server for reconciler tests: writes go to stores that double as the
 * informer caches (so the cache is always current unless a test holds writes back).
 */
export class FakeApi {
  readonly pods = new Store<Pod>();
  readonly replicaSets = new Store<KubeObject>();
  readonly calls: Array<{ verb: string; kind: string; name?: string; body?: unknown }> = [];
  /** Return an error to fail a create of the n-th pod (1-based). */
  failCreate: ((n: number) => unknown) | undefined;
  failDelete: ((name: string) => unknown) | undefined;
  #creates = 0;
  #uid = 0;

  storeFor(type: ResourceType): Store<KubeObject> {
    return (type.kind === "Pod" ? this.pods : this.replicaSets) as Store<KubeObject>;
  }

  get client(): Client {
    const api = this;
    return {
      async get<T extends KubeObject>(type: ResourceType<T>, key: ObjectKey): Promise<T> {
        api.calls.push({ verb: "get", kind: type.kind, name: key.name });
        const obj = api.storeFor(type).get(keyOf(key));
        if (!obj) throw new ApiError(404, { reason: "NotFound" }, { verb: "get", gvk: type, ...key });
        return structuredClone(obj) as T;
      },
      async list() { throw new Error("the reconciler must not list from the API server"); },
      async create<T extends KubeObject>(type: ResourceType<T>, obj: T): Promise<T> {
        api.calls.push({ verb: "create", kind: type.kind, body: obj });
        const n = ++api.#creates;
        const err = api.failCreate?.(n);
        if (err) throw err;
        const created = structuredClone(obj) as T;
        const meta = created.metadata!;
        meta.name ??= `${meta.generateName}${n}`;
        meta.uid = `uid-created-${++api.#uid}`;
        meta.creationTimestamp = new Date().toISOString();
        api.storeFor(type).upsert(created);
        return created;
      },
      async update() { throw new Error("not used"); },
      async updateStatus<T extends KubeObject>(type: ResourceType<T>, obj: T): Promise<T> {
        api.calls.push({ verb: "updateStatus", kind: type.kind, name: obj.metadata?.name, body: (obj as { status?: unknown }).status });
        const stored = api.storeFor(type).get(keyOf(obj)) as (T & { status?: unknown }) | undefined;
        if (!stored) throw new ApiError(404, { reason: "NotFound" }, { verb: "update" });
        const next = { ...structuredClone(stored), status: structuredClone((obj as { status?: unknown }).status) };
        api.storeFor(type).upsert(next);
        return next;
      },
      async patch<T extends KubeObject>(type: ResourceType<T>, key: ObjectKey, patch: Patch): Promise<T> {
        api.calls.push({ verb: "patch", kind: type.kind, name: key.name, body: patch });
        const stored = api.storeFor(type).get(keyOf(key));
        if (!stored) throw new ApiError(404, { reason: "NotFound" }, { verb: "patch" });
        const next = structuredClone(stored);
        const body = (patch as { body: { metadata: { ownerReferences: Array<Record<string, unknown>> } } }).body;
        let refs = next.metadata!.ownerReferences ?? [];
        for (const ref of body.metadata.ownerReferences) {
          refs = refs.filter((r) => r.uid !== ref.uid);
          if (ref.$patch !== "delete") refs.push(ref as never);
        }
        next.metadata!.ownerReferences = refs;
        api.storeFor(type).upsert(next);
        return next as T;
      },
      async delete<T extends KubeObject>(type: ResourceType<T>, key: ObjectKey): Promise<void> {
        api.calls.push({ verb: "delete", kind: type.kind, name: key.name });
        const err = api.failDelete?.(key.name);
        if (err) throw err;
        if (!api.storeFor(type).delete(keyOf(key))) throw new ApiError(404, { reason: "NotFound" }, { verb: "delete" });
      },
      watch() { throw new Error("not used"); },
    } as Client;
  }

  count(verb: string, kind = "Pod"): number {
    return this.calls.filter((c) => c.verb === verb && c.kind === kind).length;
  }
}
