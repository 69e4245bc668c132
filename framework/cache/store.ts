import { controllerOf, keyOf, type KubeObject } from "../meta/index.ts";
import type { CacheReader, IndexFunc } from "./types.ts";

/** Name of the built-in index by `metadata.namespace` (client-go `cache.NamespaceIndex`). Cluster-scoped objects sit under `""`. */
export const NAMESPACE_INDEX = "namespace";
/** Name of the built-in index by the uid of the owner reference with `controller: true`; objects without a controller are not in it. */
export const CONTROLLER_UID_INDEX = "controllerUID";

/** Index function of `NAMESPACE_INDEX` (client-go `MetaNamespaceIndexFunc`). */
export function namespaceIndexFunc(obj: KubeObject): string[] {
  return [obj.metadata?.namespace ?? ""];
}

/** Index function of `CONTROLLER_UID_INDEX`. */
export function controllerUidIndexFunc(obj: KubeObject): string[] {
  const uid = controllerOf(obj)?.uid;
  return uid ? [uid] : [];
}

/** Thrown by `Store` when an index function throws or returns something other than an array of strings. */
export class IndexFuncError extends Error {
  /** Name of the index whose function failed. */
  readonly indexName: string;
  /** Cache key of the object it failed on. */
  readonly key: string;

  constructor(indexName: string, key: string, cause: unknown) {
    super(`index function ${JSON.stringify(indexName)} failed on ${key}: ${cause instanceof Error ? cause.message : String(cause)}; the store keeps its previous state for this object (fix the index function)`, { cause });
    this.name = "IndexFuncError";
    this.indexName = indexName;
    this.key = key;
  }
}

interface IndexState<T extends KubeObject> {
  fn: IndexFunc<T>;
  /** indexed value -> keys */
  byValue: Map<string, Set<string>>;
  /** key -> the values it was indexed under (so removal never re-runs the function) */
  valuesOf: Map<string, string[]>;
}

/**
 * Objects by cache key (`namespace/name` or `name`) with secondary indices kept consistent on
 * every add, update, delete and replace. Mirrors client-go's `threadSafeMap` + `storeIndex`.
 * Every mutation is atomic: all index functions run first, and if one throws (or returns
 * something other than an array of strings) the mutation throws `IndexFuncError` and changes
 * nothing, neither the item nor any index (client-go panics instead). Every store starts with
 * `NAMESPACE_INDEX` and `CONTROLLER_UID_INDEX`. Objects handed out are the stored ones: treat
 * them as read-only.
 */
export class Store<T extends KubeObject> implements CacheReader<T> {
  readonly #items = new Map<string, T>();
  readonly #indices = new Map<string, IndexState<T>>();

  constructor(indexers: Record<string, IndexFunc<T>> = {}) {
    this.addIndex(NAMESPACE_INDEX, namespaceIndexFunc);
    this.addIndex(CONTROLLER_UID_INDEX, controllerUidIndexFunc);
    for (const [name, fn] of Object.entries(indexers)) this.addIndex(name, fn);
  }

  /**
   * Adds an index and indexes the objects already stored.
   * @throws Error when the name is taken; IndexFuncError when `fn` fails on a stored object (the index is then not added).
   */
  addIndex(name: string, fn: IndexFunc<T>): void {
    if (this.#indices.has(name)) throw new Error(`index ${JSON.stringify(name)} already exists in this store: pick another name`);
    const state: IndexState<T> = { fn, byValue: new Map(), valuesOf: new Map() };
    for (const [key, obj] of this.#items) {
      const values = indexValuesOf(name, fn, key, obj);
      state.valuesOf.set(key, values);
      addToIndex(state.byValue, values, key);
    }
    this.#indices.set(name, state);
  }

  /** Names of the indices. */
  indexNames(): string[] {
    return [...this.#indices.keys()];
  }

  /**
   * Stores `obj` under its key; returns the object it replaced, if any.
   * @throws Error when the object has no name; IndexFuncError when an index function fails (nothing changed).
   */
  upsert(obj: T): T | undefined {
    const key = keyOf(obj);
    // First every index function (any may throw), then the mutation (cannot throw).
    const computed: string[][] = [];
    for (const [name, state] of this.#indices) computed.push(indexValuesOf(name, state.fn, key, obj));
    const old = this.#items.get(key);
    this.#items.set(key, obj);
    let i = 0;
    for (const state of this.#indices.values()) reindex(state, key, computed[i++]!);
    return old;
  }

  /** Removes the object with this key; returns it, if it was there. Never runs index functions. */
  delete(key: string): T | undefined {
    const old = this.#items.get(key);
    if (old === undefined) return undefined;
    this.#items.delete(key);
    for (const state of this.#indices.values()) reindex(state, key, undefined);
    return old;
  }

  /**
   * Replaces the whole content (after a LIST) and rebuilds every index.
   * @throws Error when an object has no name; IndexFuncError when an index function fails on any object (nothing changed).
   */
  replace(objs: Iterable<T>): void {
    const items = new Map<string, T>();
    for (const obj of objs) items.set(keyOf(obj), obj);
    const rebuilt = new Map<string, IndexState<T>>();
    for (const [name, state] of this.#indices) {
      const next: IndexState<T> = { fn: state.fn, byValue: new Map(), valuesOf: new Map() };
      for (const [key, obj] of items) {
        const values = indexValuesOf(name, state.fn, key, obj);
        next.valuesOf.set(key, values);
        addToIndex(next.byValue, values, key);
      }
      rebuilt.set(name, next);
    }
    this.#items.clear();
    for (const [key, obj] of items) this.#items.set(key, obj);
    for (const [name, state] of rebuilt) this.#indices.set(name, state);
  }

  get(key: string): T | undefined {
    return this.#items.get(key);
  }

  list(namespace?: string): T[] {
    if (namespace === undefined) return [...this.#items.values()];
    return this.byIndex(NAMESPACE_INDEX, namespace);
  }

  /** Cache keys of all objects. */
  keys(): string[] {
    return [...this.#items.keys()];
  }

  byIndex(indexName: string, value: string): T[] {
    const keys = this.#index(indexName).byValue.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const key of keys) {
      const obj = this.#items.get(key);
      if (obj !== undefined) out.push(obj);
    }
    return out;
  }

  /** Cache keys of the objects whose index `indexName` holds `value`. @throws Error for an unknown index name. */
  keysByIndex(indexName: string, value: string): string[] {
    return [...(this.#index(indexName).byValue.get(value) ?? [])];
  }

  /** The values present in one index. @throws Error for an unknown index name. */
  indexValues(indexName: string): string[] {
    return [...this.#index(indexName).byValue.keys()];
  }

  size(): number {
    return this.#items.size;
  }

  #index(indexName: string): IndexState<T> {
    const index = this.#indices.get(indexName);
    if (!index) throw new Error(`no index named ${JSON.stringify(indexName)}: add it with addIndex first (known: ${this.indexNames().join(", ")})`);
    return index;
  }
}

/** Runs one index function, checking its result. @throws IndexFuncError */
function indexValuesOf<T extends KubeObject>(name: string, fn: IndexFunc<T>, key: string, obj: T): string[] {
  let values: unknown;
  try {
    values = fn(obj);
  } catch (err) {
    throw new IndexFuncError(name, key, err);
  }
  if (!Array.isArray(values)) throw new IndexFuncError(name, key, new TypeError(`want an array of strings, got ${JSON.stringify(values)}`));
  for (let i = 0; i < values.length; i++) {
    if (typeof values[i] !== "string") throw new IndexFuncError(name, key, new TypeError(`want an array of strings, got ${JSON.stringify(values)}`));
  }
  return values as string[];
}

/** Moves `key` in one index from its recorded values to `newValues` (none: removed). Cannot throw. */
function reindex<T extends KubeObject>(state: IndexState<T>, key: string, newValues: string[] | undefined): void {
  const oldValues = state.valuesOf.get(key) ?? [];
  // Fast path: the common update that leaves the indexed values alone.
  if (newValues !== undefined && oldValues.length === 1 && newValues.length === 1 && oldValues[0] === newValues[0]) return;
  if (newValues === undefined) state.valuesOf.delete(key);
  else state.valuesOf.set(key, newValues);
  const keep = new Set(newValues ?? []);
  for (const value of oldValues) {
    if (keep.has(value)) continue;
    const keys = state.byValue.get(value);
    if (!keys) continue;
    keys.delete(key);
    if (keys.size === 0) state.byValue.delete(value);
  }
  if (newValues) addToIndex(state.byValue, newValues, key);
}

function addToIndex(index: Map<string, Set<string>>, values: string[], key: string): void {
  for (const value of values) {
    let keys = index.get(value);
    if (!keys) {
      keys = new Set();
      index.set(value, keys);
    }
    keys.add(key);
  }
}
