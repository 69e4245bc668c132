import type { KubeObject } from "../meta/index.ts";

/**
 * Filters the events of a watch before they become requests (controller-runtime
 * `predicate.Funcs`). A missing function lets its events through. Predicates only filter; they
 * never change which key is enqueued.
 */
export interface Predicate<T extends KubeObject = KubeObject> {
  create?(obj: T, isInInitialList: boolean): boolean;
  update?(oldObj: T, newObj: T): boolean;
  delete?(obj: T, finalStateUnknown: boolean): boolean;
}

function metadataChanged<T extends KubeObject>(pick: (obj: KubeObject) => unknown): Predicate<T> {
  return { update: (o, n) => !shallowEqual(pick(o), pick(n)) };
}

function shallowEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return (a ?? undefined) === (b ?? undefined);
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => (a as Record<string, unknown>)[k] === (b as Record<string, unknown>)[k]);
}

/** Lets updates through only when `metadata.generation` changed (spec changes); create and delete pass. */
export function generationChanged<T extends KubeObject = KubeObject>(): Predicate<T> {
  return metadataChanged((o) => o.metadata?.generation);
}

/** Lets updates through only when `metadata.labels` changed; create and delete pass. */
export function labelsChanged<T extends KubeObject = KubeObject>(): Predicate<T> {
  return metadataChanged((o) => o.metadata?.labels ?? {});
}

/** Lets updates through only when `metadata.annotations` changed; create and delete pass. */
export function annotationsChanged<T extends KubeObject = KubeObject>(): Predicate<T> {
  return metadataChanged((o) => o.metadata?.annotations ?? {});
}

/** Lets updates through only when `metadata.resourceVersion` changed (drops resyncs); create and delete pass. */
export function resourceVersionChanged<T extends KubeObject = KubeObject>(): Predicate<T> {
  return metadataChanged((o) => o.metadata?.resourceVersion);
}

/** Applies `fn` to the object of every event (the new object of an update) (controller-runtime `NewPredicateFuncs`). */
export function filter<T extends KubeObject = KubeObject>(fn: (obj: T) => boolean): Predicate<T> {
  return { create: (o) => fn(o), update: (_o, n) => fn(n), delete: (o) => fn(o) };
}

type Kind = "create" | "update" | "delete";

function passes<T extends KubeObject>(p: Predicate<T>, kind: Kind, args: [T, T | boolean]): boolean {
  switch (kind) {
    case "create": return p.create ? p.create(args[0], args[1] as boolean) : true;
    case "update": return p.update ? p.update(args[0], args[1] as T) : true;
    case "delete": return p.delete ? p.delete(args[0], args[1] as boolean) : true;
  }
}

function combine<T extends KubeObject>(f: (kind: Kind, args: [T, T | boolean]) => boolean): Predicate<T> {
  return {
    create: (o, initial) => f("create", [o, initial]),
    update: (o, n) => f("update", [o, n]),
    delete: (o, unknown) => f("delete", [o, unknown]),
  };
}

/** All predicates must pass (true for none). */
export function and<T extends KubeObject>(...preds: Predicate<T>[]): Predicate<T> {
  return combine((kind, args) => preds.every((p) => passes(p, kind, args)));
}

/** At least one predicate must pass (false for none). */
export function or<T extends KubeObject>(...preds: Predicate<T>[]): Predicate<T> {
  return combine((kind, args) => preds.some((p) => passes(p, kind, args)));
}

/** The opposite of `pred` for every event kind (a missing function, which passes, becomes one that drops). */
export function not<T extends KubeObject>(pred: Predicate<T>): Predicate<T> {
  return combine((kind, args) => !passes(pred, kind, args));
}

/** @internal Whether an event passes all `preds`. */
export function allPass<T extends KubeObject>(preds: readonly Predicate<T>[], kind: Kind, a: T, b: T | boolean): boolean {
  return preds.every((p) => passes(p, kind, [a, b]));
}
