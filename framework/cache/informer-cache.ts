import { compareResourceVersions, deepFreeze, gvkString, type DeepReadonly, type KubeObject, type ObjectKey, type ResourceType } from "../meta/index.ts";
import type { Client } from "../client/index.ts";
import { rootLogger, type Logger } from "../log/index.ts";
import { SharedInformer, stripManagedFields } from "./informer.ts";
import { fieldIndexFunc, fieldIndexName, getFromStore, listFromStore, type FieldIndexer, type ListFilter, type ReadOptions, type Reader } from "./reader.ts";
import { listerWatcherFor, type ReflectorOptions } from "./reflector.ts";
import type { IndexFunc, Informer } from "./types.ts";

/** Options of `InformerCache`. */
export interface InformerCacheOptions {
  /** Resync period of every informer in milliseconds; 0 (default) turns resync off. */
  resyncPeriodMs?: number;
  /** Transform applied to every object before it is stored (default `stripManagedFields`). */
  transform?: <T extends KubeObject>(obj: T) => T;
  /** Namespaced types requested without a namespace are watched in this namespace only (default: all namespaces). */
  defaultNamespace?: string;
  logger?: Logger;
  /** Reflector tuning shared by all informers (page size, backoff, watch timeouts, WatchList). */
  reflector?: Omit<ReflectorOptions, "name" | "logger">;
  /**
   * Deep-freeze every object after the transform, before it is stored (default true): cached
   * objects are shared, and a reconciler or handler that assigns to one then throws a TypeError
   * instead of silently corrupting the cache. False skips the cost (measured in the README).
   */
  freezeObjects?: boolean;
  /**
   * `get`/`list` of a type that has no informer yet throw instead of starting one (default false:
   * one is started and waited for, as controller-runtime's `ReaderFailOnMissingInformer: false`).
   */
  readerFailOnMissingInformer?: boolean;
}

/** Scope of one informer. */
export interface InformerScope {
  /** Watch one namespace; ignored for cluster-scoped types. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

interface Entry {
  namespace: string;
  restricted: boolean;
  informer: SharedInformer<KubeObject>;
}

/**
 * Shared informers keyed by GVK + namespace + selectors: asking twice for the same scope returns
 * the same informer, so every controller reads one cache and the API server sees one watch.
 * Mirrors controller-runtime's `pkg/cache` informer cache (`GetInformer`, `Start`,
 * `WaitForCacheSync`, `DefaultNamespaces`).
 *
 * It is also the cache-backed `Reader` reconcilers read through (`mgr.cache.get(Pods, key)`,
 * `mgr.cache.list(Pods, { namespace, labelSelector, fieldSelector })`) and the `FieldIndexer`
 * that registers field indexes, as controller-runtime's `informerCache` is both. Objects are
 * frozen when stored (`freezeObjects`) and typed `DeepReadonly`.
 */
export class InformerCache implements Reader, FieldIndexer {
  readonly #client: Client;
  readonly #opts: InformerCacheOptions;
  readonly #log: Logger;
  readonly #transform: <T extends KubeObject>(obj: T) => T;
  readonly #informers = new Map<string, SharedInformer<KubeObject>>();
  /** GVK -> the informers of that type with their scope, in creation order. */
  readonly #byType = new Map<string, Entry[]>();
  /** GVK -> field -> index function, applied to every informer of the type, present and future. */
  readonly #fieldIndexes = new Map<string, Map<string, IndexFunc<KubeObject>>>();
  /** GVK -> its type, for every informer created. */
  readonly #types = new Map<string, ResourceType>();
  #signal: AbortSignal | undefined;

  constructor(client: Client, opts: InformerCacheOptions = {}) {
    this.#client = client;
    this.#opts = opts;
    this.#log = (opts.logger ?? rootLogger).child({ component: "cache" });
    const transform = opts.transform ?? stripManagedFields;
    this.#transform = opts.freezeObjects === false ? transform : <T extends KubeObject>(obj: T): T => deepFreeze(transform(obj)) as T;
  }

  /**
   * The shared informer of `type` in this scope, created on first request. Informers requested
   * after `start` start at once.
   */
  informerFor<T extends KubeObject>(type: ResourceType<T>, opts: InformerScope = {}): Informer<T> {
    return this.sharedInformerFor(type, opts);
  }

  /** The types that have informers (each is listed and watched: RBAC `list` and `watch`). */
  informedTypes(): ResourceType[] {
    return [...this.#types.values()];
  }

  /** Like `informerFor`, typed as the concrete `SharedInformer` (for its resourceVersion and list counters). */
  sharedInformerFor<T extends KubeObject>(type: ResourceType<T>, opts: InformerScope = {}): SharedInformer<T> {
    const namespace = type.namespaced ? (opts.namespace ?? this.#opts.defaultNamespace ?? "") : "";
    const labelSelector = opts.labelSelector ?? "";
    const fieldSelector = opts.fieldSelector ?? "";
    const key = JSON.stringify([type.group, type.version, type.kind, namespace, labelSelector, fieldSelector]);
    const existing = this.#informers.get(key);
    if (existing) return existing as unknown as SharedInformer<T>;
    const name = [
      gvkString(type),
      namespace ? `in ${namespace}` : type.namespaced ? "in all namespaces" : "",
      labelSelector ? `labels ${labelSelector}` : "",
      fieldSelector ? `fields ${fieldSelector}` : "",
    ].filter(Boolean).join(" ");
    const lw = listerWatcherFor(this.#client, type, {
      ...(namespace ? { namespace } : {}), ...(labelSelector ? { labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}),
    });
    const informer = new SharedInformer<T>(lw, {
      name,
      logger: this.#log,
      transform: this.#transform,
      ...(this.#opts.resyncPeriodMs !== undefined ? { resyncPeriodMs: this.#opts.resyncPeriodMs } : {}),
      ...(this.#opts.reflector ? { reflector: this.#opts.reflector } : {}),
    });
    const shared = informer as unknown as SharedInformer<KubeObject>;
    for (const [field, fn] of this.#fieldIndexes.get(typeKey(type)) ?? []) shared.addIndex(fieldIndexName(field), fn);
    this.#informers.set(key, shared);
    const entries = this.#byType.get(typeKey(type)) ?? [];
    entries.push({ namespace, restricted: Boolean(labelSelector || fieldSelector), informer: shared });
    this.#byType.set(typeKey(type), entries);
    this.#types.set(typeKey(type), type as ResourceType);
    if (this.#signal) informer.run(this.#signal);
    return informer;
  }

  indexField<T extends KubeObject>(type: ResourceType<T>, field: string, extract: (obj: DeepReadonly<T>) => string[]): void {
    const tk = typeKey(type);
    const fields = this.#fieldIndexes.get(tk) ?? new Map<string, IndexFunc<KubeObject>>();
    if (fields.has(field)) throw new Error(`indexField ${gvkString(type)}: field ${JSON.stringify(field)} is already indexed`);
    const fn = fieldIndexFunc(extract) as IndexFunc<KubeObject>;
    fields.set(field, fn);
    this.#fieldIndexes.set(tk, fields);
    for (const entry of this.#byType.get(tk) ?? []) entry.informer.addIndex(fieldIndexName(field), fn);
  }

  /**
   * The cached object (see `Reader.get`). Served by an informer of the type whose scope covers
   * the namespace, preferring one without selectors and, among several (an all-namespaces one
   * and a namespaced one), the one that has seen the newest resourceVersion: a reconcile
   * triggered by an event of either then reads that event's object, never an older one (the
   * other informer may not have received it yet). A type without one gets an informer started
   * on demand (unless `readerFailOnMissingInformer`) and the call waits for it to sync.
   * @throws Error when the cache has not been started, the namespace is outside the cached
   *   namespaces, several selector-restricted informers could serve it, or `signal` aborts.
   */
  async get<T extends KubeObject>(type: ResourceType<T>, key: ObjectKey, opts: ReadOptions = {}): Promise<DeepReadonly<T> | undefined> {
    const informer = await this.#informerForRead(type, type.namespaced ? key.namespace : undefined, "get", opts.signal);
    return getFromStore(informer.store, type, key);
  }

  /** The cached objects that pass `filter` (see `Reader.list`, and `get` for the informer chosen and its errors). */
  async list<T extends KubeObject>(type: ResourceType<T>, filter: ListFilter & ReadOptions = {}): Promise<Array<DeepReadonly<T>>> {
    const informer = await this.#informerForRead(type, type.namespaced ? filter.namespace : undefined, "list", filter.signal);
    return listFromStore(informer.store, type, filter);
  }

  async #informerForRead<T extends KubeObject>(type: ResourceType<T>, namespace: string | undefined, verb: string, signal?: AbortSignal): Promise<SharedInformer<T>> {
    if (!this.#signal) throw new Error(`${verb} ${gvkString(type)} from the cache: the cache has not been started (read after mgr.start, in a reconciler)`);
    let informer = this.#pick(type, namespace, verb);
    if (!informer) {
      if (this.#opts.readerFailOnMissingInformer) {
        throw new Error(`${verb} ${gvkString(type)} from the cache: no informer of ${type.kind} is running and readerFailOnMissingInformer is set; watch the type (controllerFor(...).owns/watches) or call cache.informerFor(${type.kind}Type) before starting`);
      }
      this.sharedInformerFor(type, {});
      informer = this.#pick(type, namespace, verb);
      if (!informer) {
        throw new Error(`${verb} ${gvkString(type)} from the cache: namespace ${JSON.stringify(namespace ?? "(all namespaces)")} is not cached; the cache watches only ${JSON.stringify(this.#opts.defaultNamespace)} (defaultNamespace)`);
      }
    }
    if (!informer.hasSynced()) await informer.waitForSync(signal);
    return informer as unknown as SharedInformer<T>;
  }

  #pick(type: ResourceType, namespace: string | undefined, verb: string): SharedInformer<KubeObject> | undefined {
    const entries = this.#byType.get(typeKey(type)) ?? [];
    // An all-namespaces informer covers every namespace; a namespaced one covers its own, and
    // stands for "all namespaces" when the cache is confined to that default namespace.
    const covering = entries.filter((e) =>
      e.namespace === "" || (namespace !== undefined ? e.namespace === namespace : e.namespace === this.#opts.defaultNamespace));
    const unrestricted = covering.filter((e) => !e.restricted);
    if (unrestricted.length > 0) return freshest(unrestricted.map((e) => e.informer));
    if (covering.length === 1) return covering[0]!.informer;
    if (covering.length > 1) {
      throw new Error(`${verb} ${gvkString(type)} from the cache: ${covering.length} informers with different selectors (${covering.map((e) => e.informer.name).join("; ")}) could serve it; read from the one you mean: cache.informerFor(type, scope).store`);
    }
    return undefined;
  }

  /** Starts every informer (and those requested later) until `signal` aborts. A second call does nothing. */
  start(signal: AbortSignal): void {
    if (this.#signal) return;
    this.#signal = signal;
    for (const informer of this.#informers.values()) informer.run(signal);
  }

  /**
   * Resolves when every informer requested so far has its initial list in its store.
   * @throws Error when `signal` aborts first, or the cache stops before syncing.
   */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all([...this.#informers.values()].map((informer) => informer.waitForSync(signal)));
  }

  /** True once `start` was called. */
  get started(): boolean {
    return this.#signal !== undefined;
  }

  /** True when every informer requested so far has synced. */
  hasSynced(): boolean {
    for (const informer of this.#informers.values()) if (!informer.hasSynced()) return false;
    return true;
  }
}

function typeKey(type: ResourceType): string {
  return `${type.group}/${type.version}/${type.kind}`;
}

/**
 * The informer that has applied the newest resourceVersion (synced ones first); the first one
 * when resourceVersions do not compare. Informers of one resource see the same event sequence,
 * so the freshest holds every event any of the others has delivered.
 */
export function freshest<I extends Pick<SharedInformer<KubeObject>, "hasSynced" | "lastSyncResourceVersion">>(informers: readonly I[]): I {
  let best = informers[0]!;
  for (const candidate of informers.slice(1)) {
    if (candidate.hasSynced() !== best.hasSynced()) {
      if (candidate.hasSynced()) best = candidate;
      continue;
    }
    const order = compareResourceVersions(candidate.lastSyncResourceVersion, best.lastSyncResourceVersion);
    if (order !== undefined && order > 0) best = candidate;
  }
  return best;
}
