/**
 * The informer cache: reflectors (list + watch with resourceVersions, bookmarks, 410 relists,
 * backoff, stall detection, optional WatchList) feeding indexed stores, shared informers with
 * old/new event handlers and resync, and `InformerCache`, which shares one informer per
 * GVK + namespace + selectors.
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
