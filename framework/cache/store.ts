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

/**
 * Objects by cache key (`namespace/name` or `name`) with secondary indices kept consistent on
 * every add, update, delete and replace. Mirrors client-go's `threadSafeMap` + `storeIndex`
 * (JavaScript's single thread makes every operation atomic). Every store starts with
 * `NAMESPACE_INDEX` and `CONTROLLER_UID_INDEX`. Objects handed out are the stored ones:
 * treat them as read-only.
 */
export class Store<T extends KubeObject> implements CacheReader<T> {
  readonly #items = new Map<string, T>();
  readonly #indexers = new Map<string, IndexFunc<T>>();
  /** index name -> indexed value -> keys */
  readonly #indices = new Map<string, Map<string, Set<string>>>();

  constructor(indexers: Record<string, IndexFunc<T>> = {}) {
    this.addIndex(NAMESPACE_INDEX, namespaceIndexFunc);
    this.addIndex(CONTROLLER_UID_INDEX, controllerUidIndexFunc);
    for (const [name, fn] of Object.entries(indexers)) this.addIndex(name, fn);
  }

  /** Adds an index and indexes the objects already stored. @throws Error when the name is taken. */
  addIndex(name: string, fn: IndexFunc<T>): void {
    if (this.#indexers.has(name)) throw new Error(`index ${JSON.stringify(name)} already exists in this store: pick another name`);
    this.#indexers.set(name, fn);
    const index = new Map<string, Set<string>>();
    this.#indices.set(name, index);
    for (const [key, obj] of this.#items) addToIndex(index, fn(obj), key);
  }

  /** Names of the indices. */
  indexNames(): string[] {
    return [...this.#indexers.keys()];
  }

  /** Stores `obj` under its key; returns the object it replaced, if any. @throws Error when the object has no name. */
  upsert(obj: T): T | undefined {
    const key = keyOf(obj);
    const old = this.#items.get(key);
    this.#items.set(key, obj);
    this.#reindex(key, old, obj);
    return old;
  }

  /** Removes the object with this key; returns it, if it was there. */
  delete(key: string): T | undefined {
    const old = this.#items.get(key);
    if (old === undefined) return undefined;
    this.#items.delete(key);
    this.#reindex(key, old, undefined);
    return old;
  }

  /** Replaces the whole content (after a LIST) and rebuilds every index. */
  replace(objs: Iterable<T>): void {
    this.#items.clear();
    for (const obj of objs) this.#items.set(keyOf(obj), obj);
    for (const [name, fn] of this.#indexers) {
      const index = new Map<string, Set<string>>();
      for (const [key, obj] of this.#items) addToIndex(index, fn(obj), key);
      this.#indices.set(name, index);
    }
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
    const index = this.#indices.get(indexName);
    if (!index) throw new Error(`no index named ${JSON.stringify(indexName)}: add it with addIndex first (known: ${this.indexNames().join(", ")})`);
    const keys = index.get(value);
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
    const index = this.#indices.get(indexName);
    if (!index) throw new Error(`no index named ${JSON.stringify(indexName)}: add it with addIndex first`);
    return [...(index.get(value) ?? [])];
  }

  /** The values present in one index. @throws Error for an unknown index name. */
  indexValues(indexName: string): string[] {
    const index = this.#indices.get(indexName);
    if (!index) throw new Error(`no index named ${JSON.stringify(indexName)}: add it with addIndex first`);
    return [...index.keys()];
  }

  size(): number {
    return this.#items.size;
  }

  #reindex(key: string, oldObj: T | undefined, newObj: T | undefined): void {
    for (const [name, fn] of this.#indexers) {
      const index = this.#indices.get(name);
      if (!index) continue;
      const oldValues = oldObj === undefined ? [] : fn(oldObj);
      const newValues = newObj === undefined ? [] : fn(newObj);
      // Fast path: the common update that leaves the indexed values alone.
      if (oldValues.length === 1 && newValues.length === 1 && oldValues[0] === newValues[0]) continue;
      const keep = new Set(newValues);
      for (const value of oldValues) {
        if (keep.has(value)) continue;
        const keys = index.get(value);
        if (!keys) continue;
        keys.delete(key);
        if (keys.size === 0) index.delete(value);
      }
      addToIndex(index, newValues, key);
    }
  }
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
