import { gvkString, type KubeObject, type ResourceType } from "../meta/index.ts";
import type { Client } from "../client/index.ts";
import { rootLogger, type Logger } from "../log/index.ts";
import { SharedInformer } from "./informer.ts";
import { listerWatcherFor, type ReflectorOptions } from "./reflector.ts";
import type { Informer } from "./types.ts";

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
}

/** Scope of one informer. */
export interface InformerScope {
  /** Watch one namespace; ignored for cluster-scoped types. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/**
 * Shared informers keyed by GVK + namespace + selectors: asking twice for the same scope returns
 * the same informer, so every controller reads one cache and the API server sees one watch.
 * Mirrors controller-runtime's `pkg/cache` informer cache (`GetInformer`, `Start`,
 * `WaitForCacheSync`, `DefaultNamespaces`).
 */
export class InformerCache {
  readonly #client: Client;
  readonly #opts: InformerCacheOptions;
  readonly #log: Logger;
  readonly #informers = new Map<string, SharedInformer<KubeObject>>();
  #signal: AbortSignal | undefined;

  constructor(client: Client, opts: InformerCacheOptions = {}) {
    this.#client = client;
    this.#opts = opts;
    this.#log = (opts.logger ?? rootLogger).child({ component: "cache" });
  }

  /**
   * The shared informer of `type` in this scope, created on first request. Informers requested
   * after `start` start at once.
   */
  informerFor<T extends KubeObject>(type: ResourceType<T>, opts: InformerScope = {}): Informer<T> {
    return this.sharedInformerFor(type, opts);
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
      ...(this.#opts.resyncPeriodMs !== undefined ? { resyncPeriodMs: this.#opts.resyncPeriodMs } : {}),
      ...(this.#opts.transform ? { transform: this.#opts.transform } : {}),
      ...(this.#opts.reflector ? { reflector: this.#opts.reflector } : {}),
    });
    this.#informers.set(key, informer as unknown as SharedInformer<KubeObject>);
    if (this.#signal) informer.run(this.#signal);
    return informer;
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

  /** True when every informer requested so far has synced. */
  hasSynced(): boolean {
    for (const informer of this.#informers.values()) if (!informer.hasSynced()) return false;
    return true;
  }
}
