import { ApiError } from "../client/errors.ts";
import type { DeleteOptions, ListOptions, ObjectList, Patch, Status, WatchEvent, WatchOptions, WriteOptions } from "../client/types.ts";
import {
  deepFreeze, gvkString, keyOf, parseSelector,
  type DeepReadonly, type KubeObject, type ObjectKey, type ResourceType, type Selector,
} from "../meta/index.ts";
import { Store } from "../cache/store.ts";
import type { CacheReader } from "../cache/types.ts";
import {
  fieldIndexFunc, fieldIndexName, getFromStore, listFromStore, parseFieldSelector,
  type FieldIndexer, type ListFilter, type ReadOptions, type Reader,
} from "../cache/reader.ts";
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, PatchError, type JsonPatchOp } from "./patch.ts";

/** Options of `InMemoryApi`. */
export interface InMemoryApiOptions {
  /** The time, in milliseconds since the epoch, for `creationTimestamp` and `deletionTimestamp` (default `Date.now`). */
  now?: () => number;
  /** Whether `status` of a type is a subresource (default: every type, as for CRDs with `subresources.status` and the built-ins). */
  hasStatusSubresource?: (type: ResourceType) => boolean;
  /** False: WatchList requests (`sendInitialEvents`) are refused with 400, as by a server without the feature (default true). */
  servesWatchList?: boolean;
  /** Field labels served by list and watch field selectors besides `metadata.name`/`metadata.namespace`, by kind (default: the Pod ones of the real API server). */
  fieldLabels?: Readonly<Record<string, readonly string[]>>;
}

/** The objects of one type held by the in-memory API: a live, read-only view that tests can also seed. */
export interface ObjectTracker<T extends KubeObject> extends CacheReader<T> {
  /**
   * Stores `obj` as is (create or replace, status included, no preconditions), filling in
   * apiVersion/kind, uid, creationTimestamp and a new resourceVersion; watches see it. Returns the
   * stored (frozen) object. Mirrors client-go's `ObjectTracker.Add`. @throws Error without a name.
   */
  add(obj: T): DeepReadonly<T>;
  /** Removes the object with this key (`ns/name` or `name`) as a delete would; false when absent. */
  remove(key: string): boolean;
}

const DEFAULT_FIELD_LABELS: Readonly<Record<string, readonly string[]>> = {
  Pod: ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"],
  Node: ["spec.unschedulable"],
  Namespace: ["status.phase"],
  Secret: ["type"],
};

type EventType = "ADDED" | "MODIFIED" | "DELETED";
interface Change { rv: number; type: EventType; object: KubeObject; previous: KubeObject | undefined }

interface TypeState {
  type: ResourceType;
  store: Store<KubeObject>;
  history: Change[];
  watches: Set<ActiveWatch>;
}

interface ActiveWatch {
  deliver(change: Change): void;
  bookmark(rv: number): void;
  end(): void;
  fail(err: Error): void;
}

const NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/**
 * An API server in memory for unit tests, for every resource type at once: one global
 * resourceVersion counter, optimistic concurrency (409 Conflict on a stale resourceVersion),
 * 404/409/422 `ApiError`s with the real server's reasons and messages, `generateName`, uid,
 * creationTimestamp and generation, the status subresource, finalizers with deletionTimestamp,
 * merge/JSON/strategic patches, label and field selectors, paged LIST, and watches from a
 * resourceVersion with history, bookmarks, 410 Gone after `compact`, WatchList and selector
 * transitions (an object that stops matching is a DELETED event). Mirrors the storage semantics
 * of kube-apiserver's generic registry that controllers depend on; reach it through a
 * `FakeClient` (the counterpart of controller-runtime's `client/fake` over client-go's
 * `ObjectTracker`).
 *
 * Not modelled: admission, validation, defaulting, the garbage collector (ownerReferences keep
 * nothing alive and delete nothing), graceful pod deletion, server-side apply, `scale`.
 */
export class InMemoryApi {
  readonly #types = new Map<string, TypeState>();
  readonly #now: () => number;
  readonly #hasStatus: (type: ResourceType) => boolean;
  readonly #fieldLabels: Readonly<Record<string, readonly string[]>>;
  readonly #readerIndexes = new Map<string, Map<string, (obj: KubeObject) => string[]>>();
  #rv = 1;
  #compactedRv = 0;
  #seq = 0;
  /** False: WatchList requests are refused with 400 (see the option). */
  servesWatchList: boolean;

  constructor(opts: InMemoryApiOptions = {}) {
    this.#now = opts.now ?? Date.now;
    this.#hasStatus = opts.hasStatusSubresource ?? (() => true);
    this.#fieldLabels = opts.fieldLabels ?? DEFAULT_FIELD_LABELS;
    this.servesWatchList = opts.servesWatchList ?? true;
  }

  /** The current resourceVersion (of the last write), as a number. */
  get resourceVersion(): number {
    return this.#rv;
  }

  /**
   * Moves the resourceVersion forward without a write to any type watched here, as writes to
   * other resources move the real server's counter. @throws RangeError when moving backwards.
   */
  set resourceVersion(rv: number) {
    if (!Number.isInteger(rv) || rv < this.#rv) throw new RangeError(`InMemoryApi: resourceVersion can only move forward (now ${this.#rv}, asked ${rv})`);
    this.#rv = rv;
  }

  /** The number of watches open on every type. */
  get openWatches(): number {
    let n = 0;
    for (const state of this.#types.values()) n += state.watches.size;
    return n;
  }

  /** The objects of `type`: a live read-only view (frozen objects) that tests also seed through. */
  objects<T extends KubeObject>(type: ResourceType<T>): ObjectTracker<T> {
    const state = this.#state(type);
    const store = state.store as unknown as Store<T>;
    return {
      get: (key) => store.get(key),
      list: (ns) => store.list(ns),
      byIndex: (name, value) => store.byIndex(name, value),
      size: () => store.size(),
      add: (obj) => this.#seed(state, obj) as DeepReadonly<T>,
      remove: (key) => {
        const old = state.store.get(key);
        if (!old) return false;
        this.#commit(state, "DELETED", structuredClone(old), old);
        return true;
      },
    };
  }

  /**
   * A `Reader` (and `FieldIndexer`) over the stored objects, always current: hand it to a
   * reconciler under test in place of the manager's cache. Field indexes registered on it apply
   * to every type's store of this API.
   */
  reader(): Reader & FieldIndexer {
    return {
      get: async <T extends KubeObject>(type: ResourceType<T>, key: ObjectKey, _opts?: ReadOptions) =>
        getFromStore(this.#state(type).store as unknown as Store<T>, type, key),
      list: async <T extends KubeObject>(type: ResourceType<T>, filter?: ListFilter & ReadOptions) =>
        listFromStore(this.#state(type).store as unknown as Store<T>, type, filter),
      indexField: <T extends KubeObject>(type: ResourceType<T>, field: string, extract: (obj: DeepReadonly<T>) => string[]) => {
        const fn = fieldIndexFunc(extract) as (obj: KubeObject) => string[];
        const tk = typeId(type);
        const fields = this.#readerIndexes.get(tk) ?? new Map<string, (obj: KubeObject) => string[]>();
        fields.set(field, fn);
        this.#readerIndexes.set(tk, fields);
        this.#state(type).store.addIndex(fieldIndexName(field), fn);
      },
    };
  }

  /**
   * Forgets the event history up to `resourceVersion` (default: now): a watch from an older
   * resourceVersion gets an ERROR event with 410 Expired, as after etcd compaction. A value above
   * the current resourceVersion makes every watch from a resourceVersion too old.
   */
  compact(resourceVersion = this.#rv): void {
    this.#compactedRv = resourceVersion;
    for (const state of this.#types.values()) state.history = state.history.filter((c) => c.rv > resourceVersion);
  }

  /** Sends a BOOKMARK at the current resourceVersion to every watch that allows bookmarks. */
  bookmark(): void {
    for (const state of this.#types.values()) for (const w of state.watches) w.bookmark(this.#rv);
  }

  /** Ends every open watch normally, as a server-side watch timeout does. */
  endWatches(): void {
    for (const state of this.#types.values()) for (const w of [...state.watches]) w.end();
  }

  /** Breaks every open watch with a connection error carrying `message`. */
  breakWatches(message = "ECONNRESET"): void {
    for (const state of this.#types.values()) for (const w of [...state.watches]) w.fail(new Error(message));
  }

  // ---- the REST verbs (synchronous; FakeClient wraps them) ----

  /** GET. @throws ApiError 404 NotFound. */
  get<T extends KubeObject>(type: ResourceType<T>, key: ObjectKey): T {
    checkKey("get", type, key);
    const obj = this.#state(type).store.get(keyOf(scoped(type, key)));
    if (!obj) throw notFound("get", type, key);
    return structuredClone(obj) as T;
  }

  /** LIST, sorted by namespace/name, paged with `limit`/`continue`. @throws ApiError 400 for a bad selector or an unsupported field label. */
  list<T extends KubeObject>(type: ResourceType<T>, opts: ListOptions = {}): ObjectList<T> {
    const state = this.#state(type);
    const match = this.#matcher(type, opts, "list");
    const all = (type.namespaced && opts.namespace ? state.store.list(opts.namespace) : state.store.list())
      .filter(match)
      .sort((a, b) => compareKeys(keyOf(a), keyOf(b)));
    let start = 0;
    if (opts.continue) {
      const after = Buffer.from(opts.continue, "base64url").toString();
      start = all.findIndex((o) => compareKeys(keyOf(o), after) > 0);
      if (start < 0) start = all.length;
    }
    const limit = opts.limit && opts.limit > 0 ? opts.limit : all.length;
    const page = all.slice(start, start + limit);
    const more = start + limit < all.length;
    return {
      apiVersion: type.apiVersion, kind: `${type.kind}List`,
      metadata: {
        resourceVersion: String(this.#rv),
        ...(more ? { continue: Buffer.from(keyOf(page.at(-1)!)).toString("base64url"), remainingItemCount: all.length - start - limit } : {}),
      },
      items: page.map((o) => structuredClone(o) as T),
    };
  }

  /**
   * POST. `generateName` gets 5 characters from the API server's alphabet; status is dropped when
   * it is a subresource. @throws ApiError 409 AlreadyExists, 500 when resourceVersion is set (as etcd3's store), 422 without a name.
   */
  create<T extends KubeObject>(type: ResourceType<T>, obj: T, opts: WriteOptions = {}): T {
    const state = this.#state(type);
    const meta = { ...obj.metadata };
    if (type.namespaced && !meta.namespace) throw new Error(`create ${gvkString(type)} ${meta.name ?? meta.generateName ?? ""}: ${type.kind} is namespaced, so metadata.namespace must be set`);
    if (!meta.name && meta.generateName) meta.name = meta.generateName + this.#randomSuffix();
    if (!meta.name) throw invalid("create", type, { name: "" }, "metadata.name: Required value: name or generateName is required");
    // etcd3's store refuses it with a plain error, which the API server answers as 500 InternalError.
    if (meta.resourceVersion) throw apiError(500, "InternalError", "resourceVersion should not be set on objects to be created", "create", type, scoped(type, meta as ObjectKey));
    const key = scoped(type, { name: meta.name, ...(meta.namespace ? { namespace: meta.namespace } : {}) });
    if (state.store.get(keyOf(key))) throw apiError(409, "AlreadyExists", `${resourceName(type)} "${meta.name}" already exists`, "create", type, key);
    const next = { ...structuredClone(obj), metadata: meta } as T & { status?: unknown };
    if (!type.namespaced) delete next.metadata!.namespace;
    if (this.#hasStatus(type)) delete next.status;
    const stored = this.#prepareNew(type, next);
    if (opts.dryRun) return structuredClone(stored) as T;
    return structuredClone(this.#commit(state, "ADDED", stored, undefined)) as T;
  }

  /**
   * PUT of the object (`subresource` undefined) or of its status. A resourceVersion makes it
   * conditional; an update that changes nothing writes nothing (same resourceVersion, no event).
   * @throws ApiError 404 NotFound, 409 Conflict on a stale resourceVersion or another uid.
   */
  update<T extends KubeObject>(type: ResourceType<T>, obj: T, opts: WriteOptions & { subresource?: string } = {}): T {
    const name = obj.metadata?.name;
    if (!name) throw new Error(`update ${gvkString(type)}: the object has no metadata.name`);
    const key = scoped(type, { name, ...(obj.metadata?.namespace ? { namespace: obj.metadata.namespace } : {}) });
    checkKey("update", type, key);
    const state = this.#state(type);
    const old = state.store.get(keyOf(key));
    if (!old) throw notFound("update", type, key, opts.subresource);
    return this.#write(state, old, structuredClone(obj), opts.subresource, opts.dryRun ?? false) as T;
  }

  /**
   * PATCH (merge, JSON, strategic) of the object or its status. A resourceVersion in the patched
   * result makes it conditional. @throws ApiError 404, 409, 422 (a patch that does not apply),
   * Error for server-side apply and other subresources (not modelled).
   */
  patch<T extends KubeObject>(type: ResourceType<T>, key: ObjectKey, patch: Patch, opts: WriteOptions & { subresource?: string } = {}): T {
    checkKey("patch", type, key);
    if (opts.subresource && opts.subresource !== "status") throw new Error(`InMemoryApi: patch of subresource ${opts.subresource} is not modelled`);
    const state = this.#state(type);
    const old = state.store.get(keyOf(scoped(type, key)));
    if (!old) throw notFound(`patch (${patch.type})`, type, key, opts.subresource);
    let patched: unknown;
    try {
      switch (patch.type) {
        case "merge": patched = applyMergePatch(old, patch.body); break;
        case "strategic": patched = applyStrategicMergePatch(old, patch.body); break;
        case "json": patched = applyJsonPatch(old, patch.ops as JsonPatchOp[]); break;
        default: throw new Error("InMemoryApi: server-side apply is not modelled; use a merge patch in unit tests");
      }
    } catch (err) {
      if (err instanceof PatchError) throw invalid(`patch (${patch.type})`, type, key, err.message);
      throw err;
    }
    return this.#write(state, old, patched as KubeObject, opts.subresource, opts.dryRun ?? false) as T;
  }

  /**
   * DELETE. With finalizers the object only gets `deletionTimestamp` (a MODIFIED event) and goes
   * when an update empties them. @throws ApiError 404 NotFound, 409 Conflict when a precondition fails.
   */
  delete<T extends KubeObject>(type: ResourceType<T>, key: ObjectKey, opts: DeleteOptions = {}): void {
    checkKey("delete", type, key);
    const state = this.#state(type);
    const old = state.store.get(keyOf(scoped(type, key)));
    if (!old) throw notFound("delete", type, key);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== old.metadata?.uid) {
      throw apiError(409, "Conflict", `Operation cannot be fulfilled on ${resourceName(type)} "${key.name}": Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata?.uid ?? ""}`, "delete", type, key);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== old.metadata?.resourceVersion) {
      throw apiError(409, "Conflict", `Operation cannot be fulfilled on ${resourceName(type)} "${key.name}": Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata?.resourceVersion ?? ""}`, "delete", type, key);
    }
    if ((old.metadata?.finalizers?.length ?? 0) > 0) {
      if (old.metadata?.deletionTimestamp) return;
      const next = structuredClone(old);
      next.metadata = { ...next.metadata, deletionTimestamp: rfc3339(this.#now()), deletionGracePeriodSeconds: 0 };
      this.#commit(state, "MODIFIED", next, old);
      return;
    }
    this.#commit(state, "DELETED", structuredClone(old), old);
  }

  /**
   * WATCH: from `resourceVersion` (history replayed; 410 as an ERROR event when compacted away),
   * or, without one, the current objects as ADDED events first; WatchList with
   * `sendInitialEvents`. Ends on `signal`, after `timeoutSeconds`, or through `endWatches`.
   * @throws ApiError 400 for a bad selector, or WatchList when `servesWatchList` is false (on iteration).
   */
  watch<T extends KubeObject>(type: ResourceType<T>, opts: WatchOptions = {}): AsyncIterable<WatchEvent<T>> {
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        yield* self.#watch(type, opts) as AsyncGenerator<WatchEvent<T>>;
      },
    };
  }

  async *#watch(type: ResourceType, opts: WatchOptions): AsyncGenerator<WatchEvent<KubeObject>> {
    const state = this.#state(type);
    if (opts.sendInitialEvents && !this.servesWatchList) {
      throw apiError(400, "BadRequest", "sendInitialEvents is not supported by this server", "watch", type, opts.namespace ? { namespace: opts.namespace, name: "" } : { name: "" });
    }
    const match = this.#matcher(type, opts, "watch");
    const inScope = (o: KubeObject | undefined): boolean => o !== undefined && match(o);
    const bookmarks = opts.allowWatchBookmarks ?? true;
    const queue: Array<WatchEvent<KubeObject>> = [];
    const toEvent = (c: Change): WatchEvent<KubeObject> | undefined => {
      const now = inScope(c.object);
      const before = inScope(c.previous);
      if (c.type === "ADDED") return now ? { type: "ADDED", object: structuredClone(c.object) } : undefined;
      if (c.type === "DELETED") return before || now ? { type: "DELETED", object: structuredClone(c.object) } : undefined;
      if (now && before) return { type: "MODIFIED", object: structuredClone(c.object) };
      if (now) return { type: "ADDED", object: structuredClone(c.object) };
      if (before) return { type: "DELETED", object: structuredClone(c.object) };
      return undefined;
    };
    const rv = opts.resourceVersion;
    if (opts.sendInitialEvents || !rv || rv === "0") {
      for (const obj of [...state.store.list()].sort((a, b) => compareKeys(keyOf(a), keyOf(b)))) {
        if (inScope(obj)) queue.push({ type: "ADDED", object: structuredClone(obj) });
      }
      if (opts.sendInitialEvents) {
        queue.push({ type: "BOOKMARK", object: { apiVersion: type.apiVersion, kind: type.kind, metadata: { resourceVersion: String(this.#rv), annotations: { "k8s.io/initial-events-end": "true" } } } });
      }
    } else {
      const from = Number(rv);
      if (!Number.isFinite(from) || from < this.#compactedRv) {
        yield { type: "ERROR", object: { apiVersion: "v1", kind: "Status", status: "Failure", code: 410, reason: "Expired", message: `too old resource version: ${rv} (${this.#compactedRv})` } };
        return;
      }
      for (const c of state.history) {
        if (c.rv <= from) continue;
        const e = toEvent(c);
        if (e) queue.push(e);
      }
    }
    let ended = false;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    const poke = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const watch: ActiveWatch = {
      deliver: (c) => {
        if (ended || failure) return;
        const e = toEvent(c);
        if (e) {
          queue.push(e);
          poke();
        }
      },
      bookmark: (at) => {
        if (ended || failure || !bookmarks) return;
        queue.push({ type: "BOOKMARK", object: { apiVersion: type.apiVersion, kind: type.kind, metadata: { resourceVersion: String(at) } } });
        poke();
      },
      end: () => {
        ended = true;
        poke();
      },
      fail: (err) => {
        failure = err;
        queue.length = 0;
        poke();
      },
    };
    const onAbort = (): void => watch.end();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const timer = opts.timeoutSeconds && opts.timeoutSeconds > 0 ? setTimeout(() => watch.end(), opts.timeoutSeconds * 1000) : undefined;
    timer?.unref?.();
    state.watches.add(watch);
    try {
      for (;;) {
        while (queue.length > 0 && !failure && !opts.signal?.aborted) yield queue.shift()!;
        if (failure) throw failure;
        if (ended || opts.signal?.aborted) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      state.watches.delete(watch);
      opts.signal?.removeEventListener("abort", onAbort);
      if (timer) clearTimeout(timer);
    }
  }

  // ---- internals ----

  #state(type: ResourceType): TypeState {
    const id = typeId(type);
    let state = this.#types.get(id);
    if (!state) {
      state = { type, store: new Store<KubeObject>(), history: [], watches: new Set() };
      for (const [field, fn] of this.#readerIndexes.get(id) ?? []) state.store.addIndex(fieldIndexName(field), fn);
      this.#types.set(id, state);
    }
    return state;
  }

  #randomSuffix(): string {
    // Deterministic per API: the n-th generated name, spread over the alphabet like rand.String(5).
    let n = (++this.#seq * 2_654_435_761) % 27 ** 5;
    let out = "";
    for (let i = 0; i < 5; i++) {
      out += NAME_ALPHABET[n % 27];
      n = Math.floor(n / 27);
    }
    return out;
  }

  #uid(): string {
    const hex = (++this.#seq).toString(16).padStart(12, "0");
    return `00000000-0000-4000-8000-${hex}`;
  }

  #prepareNew(type: ResourceType, obj: KubeObject): KubeObject {
    const meta = { ...obj.metadata };
    meta.uid ??= this.#uid();
    meta.creationTimestamp ??= rfc3339(this.#now());
    meta.generation ??= 1;
    delete meta.resourceVersion;
    return { ...obj, apiVersion: type.apiVersion, kind: type.kind, metadata: meta };
  }

  #seed(state: TypeState, obj: KubeObject): KubeObject {
    if (!obj.metadata?.name) throw new Error(`InMemoryApi: add ${gvkString(state.type)}: the object has no metadata.name`);
    const copy = structuredClone(obj);
    if (!state.type.namespaced && copy.metadata) delete copy.metadata.namespace;
    const old = state.store.get(keyOf(copy));
    const next = this.#prepareNew(state.type, copy);
    return this.#commit(state, old ? "MODIFIED" : "ADDED", next, old);
  }

  #write(state: TypeState, old: KubeObject, incoming: KubeObject, subresource: string | undefined, dryRun: boolean): KubeObject {
    const type = state.type;
    const key = scoped(type, { name: old.metadata!.name!, ...(old.metadata?.namespace ? { namespace: old.metadata.namespace } : {}) });
    const verb = "update";
    const inMeta = incoming.metadata ?? {};
    if (inMeta.resourceVersion && inMeta.resourceVersion !== old.metadata?.resourceVersion) {
      throw apiError(409, "Conflict", `Operation cannot be fulfilled on ${resourceName(type)} "${key.name}": the object has been modified; please apply your changes to the latest version and try again`, verb, type, key, subresource);
    }
    if (inMeta.uid && inMeta.uid !== old.metadata?.uid) {
      throw apiError(409, "Conflict", `Operation cannot be fulfilled on ${resourceName(type)} "${key.name}": Precondition failed: UID in precondition: ${inMeta.uid}, UID in object meta: ${old.metadata?.uid ?? ""}`, verb, type, key, subresource);
    }
    let next: KubeObject & { status?: unknown };
    if (subresource === "status") {
      if (!this.#hasStatus(type)) throw notFound(verb, type, key, subresource);
      next = { ...structuredClone(old), status: structuredClone((incoming as { status?: unknown }).status) };
      if (next.status === undefined) delete next.status;
    } else if (subresource) {
      throw new Error(`InMemoryApi: subresource ${subresource} is not modelled`);
    } else {
      next = { ...incoming } as KubeObject & { status?: unknown };
      if (this.#hasStatus(type)) {
        const status = (old as { status?: unknown }).status;
        if (status === undefined) delete next.status;
        else next.status = structuredClone(status);
      }
      const oldMeta = old.metadata ?? {};
      next.metadata = {
        ...inMeta,
        name: oldMeta.name!,
        ...(oldMeta.namespace ? { namespace: oldMeta.namespace } : {}),
        ...(oldMeta.uid ? { uid: oldMeta.uid } : {}),
        ...(oldMeta.creationTimestamp ? { creationTimestamp: oldMeta.creationTimestamp } : {}),
        ...(oldMeta.generation !== undefined ? { generation: oldMeta.generation } : {}),
      };
      if (oldMeta.deletionTimestamp) next.metadata.deletionTimestamp = oldMeta.deletionTimestamp;
      else delete next.metadata.deletionTimestamp;
      if (specChanged(old, next)) next.metadata.generation = (oldMeta.generation ?? 0) + 1;
    }
    next.apiVersion = type.apiVersion;
    next.kind = type.kind;
    next.metadata = { ...next.metadata, resourceVersion: old.metadata?.resourceVersion ?? "" };
    delete next.metadata.managedFields;
    if (sameContent(old, next)) return structuredClone(old);
    if (dryRun) return next;
    if (next.metadata.deletionTimestamp && (next.metadata.finalizers?.length ?? 0) === 0) {
      return structuredClone(this.#commit(state, "DELETED", next, old));
    }
    return structuredClone(this.#commit(state, "MODIFIED", next, old));
  }

  #commit(state: TypeState, type: EventType, obj: KubeObject, previous: KubeObject | undefined): KubeObject {
    this.#rv++;
    obj.metadata = { ...obj.metadata, resourceVersion: String(this.#rv) };
    const stored = deepFreeze(obj) as KubeObject;
    if (type === "DELETED") state.store.delete(keyOf(stored));
    else state.store.upsert(stored);
    const change: Change = { rv: this.#rv, type, object: stored, previous };
    state.history.push(change);
    for (const w of state.watches) w.deliver(change);
    return stored;
  }

  #matcher(type: ResourceType, opts: ListOptions, verb: string): (obj: KubeObject) => boolean {
    const ctx = opts.namespace ? { namespace: opts.namespace, name: "" } : { name: "" };
    let labels: Selector | undefined;
    if (opts.labelSelector) {
      try {
        labels = parseSelector(opts.labelSelector);
      } catch (err) {
        throw apiError(400, "BadRequest", `unable to parse requirement: ${(err as Error).message}`, verb, type, ctx);
      }
    }
    let fields: ReturnType<typeof parseFieldSelector> = [];
    if (opts.fieldSelector) {
      try {
        fields = parseFieldSelector(opts.fieldSelector);
      } catch (err) {
        throw apiError(400, "BadRequest", (err as Error).message, verb, type, ctx);
      }
      const served = new Set(["metadata.name", "metadata.namespace", ...(this.#fieldLabels[type.kind] ?? [])]);
      for (const f of fields) {
        if (!served.has(f.field)) throw apiError(400, "BadRequest", `field label not supported: ${f.field}`, verb, type, ctx);
      }
    }
    const namespace = type.namespaced ? opts.namespace : undefined;
    return (obj) => {
      if (namespace && obj.metadata?.namespace !== namespace) return false;
      if (labels && !labels.matches(obj.metadata?.labels)) return false;
      for (const f of fields) {
        const actual = fieldValue(obj, f.field);
        if ((actual === f.value) !== (f.operator === "=")) return false;
      }
      return true;
    };
  }
}

function fieldValue(obj: KubeObject, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split(".")) cur = typeof cur === "object" && cur !== null ? (cur as Record<string, unknown>)[part] : undefined;
  return cur === undefined || cur === null ? "" : String(cur);
}

function specChanged(old: KubeObject, next: KubeObject): boolean {
  const strip = (o: KubeObject): string => {
    const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o as KubeObject & { status?: unknown };
    return JSON.stringify(rest);
  };
  return strip(old) !== strip(next);
}

function sameContent(a: KubeObject, b: KubeObject): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, value: unknown) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) sorted[k] = (value as Record<string, unknown>)[k];
    return sorted;
  });
}

function typeId(type: ResourceType): string {
  return `${type.group}/${type.version}/${type.plural}`;
}

function scoped(type: ResourceType, key: ObjectKey): ObjectKey {
  return type.namespaced && key.namespace ? { namespace: key.namespace, name: key.name } : { name: key.name };
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function checkKey(verb: string, type: ResourceType, key: ObjectKey): void {
  if (!key.name) throw new Error(`${verb} ${gvkString(type)}: the object key has no name`);
  if (type.namespaced && !key.namespace) throw new Error(`${verb} ${gvkString(type)} ${key.name}: ${type.kind} is namespaced, so the key needs a namespace`);
}

/** `pods`, `replicasets.apps`: how the API server names a resource in messages. */
function resourceName(type: ResourceType): string {
  return type.group ? `${type.plural}.${type.group}` : type.plural;
}

function apiError(code: number, reason: string, message: string, verb: string, type: ResourceType, key: ObjectKey, subresource?: string): ApiError {
  const status: Status = {
    apiVersion: "v1", kind: "Status", status: "Failure", code, reason, message,
    details: { ...(key.name ? { name: key.name } : {}), group: type.group, kind: type.plural },
  };
  return new ApiError(code, status, {
    verb, gvk: { group: type.group, version: type.version, kind: type.kind },
    ...(key.namespace ? { namespace: key.namespace } : {}), ...(key.name ? { name: key.name } : {}), ...(subresource ? { subresource } : {}),
  });
}

function notFound(verb: string, type: ResourceType, key: ObjectKey, subresource?: string): ApiError {
  return apiError(404, "NotFound", `${resourceName(type)} "${key.name}" not found`, verb, type, key, subresource);
}

function invalid(verb: string, type: ResourceType, key: ObjectKey, message: string): ApiError {
  return apiError(422, "Invalid", `${type.kind} "${key.name}" is invalid: ${message}`, verb, type, key);
}
