/**
 * Controllers: the reconcile contract, the builder (for / owns / watches), event handlers that
 * map events to requests, predicates, the controller loop with its workers and metrics, and
 * finalizer helpers (Events are in `framework/events`). Mirrors controller-runtime's
 * `pkg/reconcile`, `pkg/builder`, `pkg/handler`, `pkg/predicate`, `pkg/controller`, and kube-rs's
 * `runtime::finalizer`.
 */
export {
  TerminalError, isTerminalError, requeue, requeueAfter,
  type ReconcileContext, type ReconcileFunc, type Reconciler, type Request, type Result,
} from "./reconcile.ts";
export { Controller, keyOfRequest, type ControllerConfig, type ControllerOptions, type WatchSource } from "./controller.ts";
export { Builder, controllerFor, type ControllerHost, type InformerScope, type OwnsOptions, type WatchOptions } from "./builder.ts";
export { enqueueForObject, enqueueForOwner, enqueueMapped, type OwnerOptions, type RequestMapper } from "./handler.ts";
export * as predicates from "./predicates.ts";
export type { Predicate } from "./predicate.ts";
export { ensureFinalizer, finalizer, hasFinalizer, removeFinalizer, type FinalizerHandlers } from "./finalizer.ts";
