import type { KubeObject } from "../meta/index.ts";

/** A function that maps an object to the values it is indexed under (client-go `IndexFunc`). */
export type IndexFunc<T extends KubeObject> = (obj: T) => string[];

/** Read-only view of a store of objects kept current by an informer (client-go `Indexer`, controller-runtime `cache.Reader`). */
export interface CacheReader<T extends KubeObject> {
  /** The object with this cache key (`namespace/name` or `name`), or undefined. */
  get(key: string): T | undefined;
  /** All objects, or those in one namespace. */
  list(namespace?: string): T[];
  /** Objects whose index `indexName` holds `value`. @throws Error for an unknown index name. */
  byIndex(indexName: string, value: string): T[];
  /** Number of objects. */
  size(): number;
}

/**
 * Handlers of informer events. `onUpdate` gets the old and the new object; `onDelete` may get the
 * last known state of an object whose delete the watch missed (client-go's
 * `DeletedFinalStateUnknown`): `finalStateUnknown` is then true.
 */
export interface EventHandler<T extends KubeObject> {
  onAdd?(obj: T, isInInitialList: boolean): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T, finalStateUnknown: boolean): void;
}

/** Handle of a registered handler; `remove()` unregisters it. */
export interface HandlerRegistration {
  remove(): void;
  /** True once the handler has seen every object of the initial list. */
  hasSynced(): boolean;
}

/** A shared informer of one resource type and selector (client-go `SharedIndexInformer`). */
export interface Informer<T extends KubeObject> {
  readonly store: CacheReader<T>;
  addEventHandler(handler: EventHandler<T>): HandlerRegistration;
  /** Adds an index; allowed before and after start. */
  addIndex(name: string, fn: IndexFunc<T>): void;
  hasSynced(): boolean;
  /** Resolves when the initial list is in the store; rejects when `signal` aborts first. */
  waitForSync(signal?: AbortSignal): Promise<void>;
}
