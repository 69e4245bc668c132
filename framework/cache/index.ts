/**
 * The informer cache: reflectors (list + watch with resourceVersions, bookmarks, 410 relists,
 * backoff, stall detection, optional WatchList) feeding indexed stores, shared informers with
 * old/new event handlers and resync, and `InformerCache`, which shares one informer per
 * GVK + namespace + selectors and is the cache-backed `Reader` (`get`, `list` by namespace,
 * label selector, field index or named index; frozen `DeepReadonly` objects) reconcilers read
 * through, as controller-runtime's informer cache is a `client.Reader`.
 */
export { InformerCache } from "./informer-cache.ts";
export type { InformerCacheOptions, InformerScope } from "./informer-cache.ts";
export { SharedInformer, stripManagedFields } from "./informer.ts";
export type { SharedInformerOptions, Transform } from "./informer.ts";
export { CacheApplyError, Reflector, isTooLargeResourceVersionError, listerWatcherFor } from "./reflector.ts";
export type { ListerWatcher, ListWatchScope, ReflectorOptions, ReflectorSink } from "./reflector.ts";
export { CONTROLLER_UID_INDEX, IndexFuncError, NAMESPACE_INDEX, Store, controllerUidIndexFunc, namespaceIndexFunc } from "./store.ts";
export { Backoff } from "./backoff.ts";
export type { BackoffOptions } from "./backoff.ts";
export type { CacheReader, EventHandler, HandlerRegistration, IndexFunc, Informer } from "./types.ts";
export {
  ALL_NAMESPACES, FIELD_INDEX_PREFIX, fieldIndexFunc, fieldIndexName, getFromStore, listFromStore, namespacedIndexValue, parseFieldSelector, toSelector,
} from "./reader.ts";
export type { FieldIndexer, FieldRequirement, ListFilter, ReadOptions, Reader } from "./reader.ts";
export { LABEL_INDEX, labelIndexFunc, listByLabelSet } from "./label-index.ts";
