/**
 * Read-only views of shared objects. Objects in an informer's cache are shared by every reader
 * and every event handler, so the cache hands them out as `DeepReadonly<T>` (and frozen at run
 * time, see `framework/cache`); a reconciler that wants to change one copies it first with
 * `deepCopy`. The counterpart of kube-rs handing out `Arc<K>` and of client-go's rule "never
 * mutate an object from a lister".
 */

/** `T` with every property, array element, map and set entry read-only, recursively. Functions stay as they are. */
export type DeepReadonly<T> =
  T extends (...args: never[]) => unknown ? T
    : T extends ReadonlyMap<infer K, infer V> ? ReadonlyMap<DeepReadonly<K>, DeepReadonly<V>>
      : T extends ReadonlySet<infer E> ? ReadonlySet<DeepReadonly<E>>
        : T extends ReadonlyArray<infer E> ? ReadonlyArray<DeepReadonly<E>>
          : T extends object ? { readonly [P in keyof T]: DeepReadonly<T[P]> }
            : T;

/**
 * Freezes `value` and everything reachable from it (plain objects and arrays; JSON-shaped data
 * as decoded from the API server), and returns it typed read-only. Subtrees that are already
 * frozen are not walked again, so freezing an object that shares frozen parts is cheap.
 * Assigning to a frozen object then throws a `TypeError` in strict-mode code (every ES module).
 */
export function deepFreeze<T>(value: T): DeepReadonly<T> {
  freeze(value);
  return value as DeepReadonly<T>;
}

function freeze(value: unknown): void {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  if (Array.isArray(value)) {
    for (const item of value) freeze(item);
    return;
  }
  for (const key in value) freeze((value as Record<string, unknown>)[key]);
}

/** `T` with `readonly` removed, recursively: the type of a copy of a `DeepReadonly` object. */
export type DeepMutable<T> =
  T extends (...args: never[]) => unknown ? T
    : T extends ReadonlyMap<infer K, infer V> ? Map<DeepMutable<K>, DeepMutable<V>>
      : T extends ReadonlySet<infer E> ? Set<DeepMutable<E>>
        : T extends ReadonlyArray<infer E> ? Array<DeepMutable<E>>
          : T extends object ? { -readonly [P in keyof T]: DeepMutable<T[P]> }
            : T;

/**
 * A mutable deep copy of a (read-only) object: what a reconciler changes before it writes.
 * Uses `structuredClone`, so the copy shares nothing with the cache. A copy of a
 * `DeepReadonly<Pod>` is assignable to `Pod`.
 */
export function deepCopy<T>(value: T): DeepMutable<T> {
  return structuredClone(value) as DeepMutable<T>;
}
