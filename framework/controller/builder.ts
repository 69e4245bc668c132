import type { EventRecorder } from "../events/index.ts";
import type { Registry } from "prom-client";
import type { Reader } from "../cache/reader.ts";
import type { Informer } from "../cache/types.ts";
import type { Logger } from "../log/index.ts";
import type { KubeObject, ResourceType } from "../meta/index.ts";
import { gvkString } from "../meta/index.ts";
import { permission, type Permission, type Verb } from "../rbac/index.ts";
import { Controller, type ControllerOptions } from "./controller.ts";
import { enqueueForObject, enqueueForOwner, enqueueMapped } from "./handler.ts";
import type { Predicate } from "./predicate.ts";
import type { ReconcileFunc, Reconciler, Request } from "./reconcile.ts";

/** Which objects of a type an informer holds: one namespace and/or selectors (all, when empty). */
export interface InformerScope {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/**
 * What the builder needs from a manager: the shared informers and the cache-backed reader over
 * them (`ctx.reader`), the metrics registry, a logger, the graceful shutdown timeout, and a place
 * to run the controller. `Manager` provides it (its `InformerCache` is both).
 */
export interface ControllerHost {
  readonly cache: Reader & { informerFor<O extends KubeObject>(type: ResourceType<O>, opts?: InformerScope): Informer<O> };
  readonly metrics?: Registry;
  readonly log?: Logger;
  readonly gracefulShutdownTimeoutMs?: number;
  add(runnable: { start(signal: AbortSignal): Promise<void>; needLeaderElection?: boolean }): void;
  /** An event recorder reporting as `component` (the Manager's); the controller reports reconciles refused by RBAC through it. */
  eventRecorder?(component: string): Pick<EventRecorder, "event">;
  /** Records what the process needs from the API beyond its informers (the Manager's, for its RBAC rules). */
  permit?(...permissions: readonly Permission[]): void;
}

/** Options of one watched type. */
export interface WatchOptions<O extends KubeObject> {
  /** Filters for this watch only (all must pass), after the global `withEventFilter` ones. */
  predicates?: Predicate<O>[];
  /** Scope of the informer (namespace, selectors); informers are shared per type and scope. */
  informer?: InformerScope;
}

/** Options of `owns`. */
export interface OwnsOptions<O extends KubeObject> extends WatchOptions<O> {
  /** Follow only the owner reference with `controller: true` (default true). */
  onlyController?: boolean;
}

interface PendingWatch {
  attach(controller: Pick<Controller, "watch">, global: Predicate<KubeObject>[]): void;
}

const namesByHost = new WeakMap<object, Set<string>>();

/**
 * Builds a controller that reads like a sentence (controller-runtime `pkg/builder`):
 *
 * ```ts
 * controllerFor(mgr, ReplicaSets, { predicates: [generationChanged()] })
 *   .named("replicaset")
 *   .owns(Pods)
 *   .watches(Services, (svc) => requestsFor(svc))
 *   .withOptions({ maxConcurrentReconciles: 5 })
 *   .complete(reconciler);
 * ```
 *
 * A reconciler that writes its own object's status wakes itself: the write is an update event
 * of the `for` watch, which enqueues the object again, so without a filter it reconciles as fast
 * as the API server answers its writes. `generationChanged()` on `for` (the third argument of
 * `controllerFor`) lets an update through only when `metadata.generation` changed, which the API
 * server bumps on spec changes (with the status subresource on) and when it marks the object for
 * deletion; controller-runtime users write
 * `For(obj, builder.WithPredicates(predicate.GenerationChangedPredicate{}))` for the same reason.
 * `withEventFilter` applies to every watch: given `generationChanged()` it would also drop an
 * owned Pod's status change. The other cure is a reconciler whose second pass writes nothing.
 *
 * The type parameter flows from `controllerFor(mgr, type)` to `complete`, so a reconciler of
 * another type does not compile.
 */
export class Builder<T extends KubeObject> {
  readonly #host: ControllerHost;
  readonly #forType: ResourceType<T>;
  readonly #forOptions: WatchOptions<T>;
  #name: string;
  readonly #watches: PendingWatch[] = [];
  readonly #globalPredicates: Predicate<KubeObject>[] = [];
  #options: ControllerOptions = {};

  constructor(host: ControllerHost, forType: ResourceType<T>, forOptions: WatchOptions<T> = {}) {
    this.#host = host;
    this.#forType = forType;
    this.#forOptions = forOptions;
    this.#name = forType.kind.toLowerCase();
  }

  /** Names the controller (default: the lower-case kind). Must be unique within the manager. */
  named(name: string): this {
    this.#name = name;
    return this;
  }

  /**
   * Watches objects of `type` owned by the primary type, and enqueues their owner: the owner
   * reference of the primary kind (controller references only, by default).
   */
  owns<O extends KubeObject>(type: ResourceType<O>, opts: OwnsOptions<O> = {}): this {
    const forType = this.#forType;
    this.#watches.push(this.#pending(type, opts, `${gvkString(type)} (owned)`,
      enqueueForOwner<O>(forType, { onlyController: opts.onlyController ?? true, ownerNamespaced: forType.namespaced })));
    return this;
  }

  /** Watches objects of `type` and enqueues the requests `map` returns for each (read caches only in `map`). */
  watches<O extends KubeObject>(type: ResourceType<O>, map: (obj: O) => Request[], opts: WatchOptions<O> = {}): this {
    this.#watches.push(this.#pending(type, opts, `${gvkString(type)} (mapped)`, enqueueMapped<O>(map)));
    return this;
  }

  /**
   * Declares what the reconciler does with `type` beyond reading the cache (kubebuilder's
   * `+kubebuilder:rbac` marker, in code): `.needs(Pods, ["create", "delete"])`,
   * `.needs(ReplicaSets, ["update"], "status")`. The watches add `list` and `watch` themselves.
   * The manager's `policyRules()` collects both; the chart's ClusterRole is generated from them.
   */
  needs(type: ResourceType, verbs: readonly Verb[], subresource?: string): this {
    this.#host.permit?.(permission(type, verbs, subresource));
    return this;
  }

  /** Filters applied to the events of every watch of this controller (all must pass). */
  withEventFilter(...predicates: Predicate<KubeObject>[]): this {
    this.#globalPredicates.push(...predicates);
    return this;
  }

  /** Controller options (`maxConcurrentReconciles`, `rateLimiter`, ...); later calls override earlier keys. */
  withOptions(options: ControllerOptions): this {
    this.#options = { ...this.#options, ...options };
    return this;
  }

  /**
   * Creates the controller, its informers and watches, and adds it to the manager.
   * @throws Error when another controller of this manager has the same name.
   */
  complete(reconciler: Reconciler<T> | ReconcileFunc<T>): Controller<T> {
    let names = namesByHost.get(this.#host);
    if (!names) namesByHost.set(this.#host, (names = new Set()));
    if (names.has(this.#name)) {
      throw new Error(`controller name ${JSON.stringify(this.#name)} is already used in this manager; give this one another name with .named(...)`);
    }
    const primaryInformer = this.#host.cache.informerFor(this.#forType, this.#forOptions.informer);
    const controller = new Controller<T>({
      gracefulShutdownTimeoutMs: this.#host.gracefulShutdownTimeoutMs ?? 30_000,
      ...this.#options,
      name: this.#name,
      reconciler,
      primary: primaryInformer.store,
      reader: this.#host.cache,
      ...(this.#host.metrics ? { metrics: this.#host.metrics } : {}),
      ...(this.#host.log ? { log: this.#host.log } : {}),
      ...(this.#host.eventRecorder ? { events: this.#host.eventRecorder(`${this.#name}-controller.kubeloop.dev`) } : {}),
    });
    controller.watch<T>({
      informer: primaryInformer,
      mapper: enqueueForObject<T>(),
      predicates: [...this.#globalPredicates, ...(this.#forOptions.predicates ?? [])],
      description: `${gvkString(this.#forType)} (for)`,
    });
    for (const w of this.#watches) w.attach(controller, this.#globalPredicates);
    names.add(this.#name);
    this.#host.add(controller);
    return controller;
  }

  #pending<O extends KubeObject>(
    type: ResourceType<O>, opts: WatchOptions<O>, description: string, mapper: ReturnType<typeof enqueueMapped<O>>,
  ): PendingWatch {
    const host = this.#host;
    return {
      attach(controller, global) {
        controller.watch<O>({
          informer: host.cache.informerFor(type, opts.informer),
          mapper,
          predicates: [...global, ...(opts.predicates ?? [])],
          description,
        });
      },
    };
  }
}

/** Starts building a controller for `type`; see `Builder`. */
export function controllerFor<T extends KubeObject>(host: ControllerHost, type: ResourceType<T>, opts: WatchOptions<T> = {}): Builder<T> {
  return new Builder(host, type, opts);
}
