import type { KubeObject } from "../meta/index.ts";
import type { CacheReader, IndexFunc } from "./types.ts";

/** Name of the index of objects by label: `<namespace>/<key>=<value>` for each of their labels. */
export const LABEL_INDEX = "labels";

/** Index function of `LABEL_INDEX`: one value per label, qualified by the object's namespace. */
export const labelIndexFunc: IndexFunc<KubeObject> = (obj) => {
  const ns = obj.metadata?.namespace ?? "";
  return Object.entries(obj.metadata?.labels ?? {}).map(([k, v]) => `${ns}/${k}=${v}`);
};

/**
 * The objects of `namespace` whose labels include every pair of `set` (an equality-based
 * selector such as a Service's `spec.selector`; `{}` selects every object of the namespace),
 * served from `LABEL_INDEX`: the smallest bucket of the set's pairs, filtered by the others.
 * Without that index on `store`, the namespace is scanned.
 * Mirrors what `labels.SelectorFromSet(set)` + a namespaced lister `List` return.
 */
export function listByLabelSet<T extends KubeObject>(store: CacheReader<T>, namespace: string, set: Readonly<Record<string, string>>): T[] {
  const pairs = Object.entries(set);
  const matches = (obj: T): boolean => pairs.every(([k, v]) => obj.metadata?.labels?.[k] === v);
  if (pairs.length === 0) return store.list(namespace);
  let smallest: T[] | undefined;
  try {
    for (const [k, v] of pairs) {
      const bucket = store.byIndex(LABEL_INDEX, `${namespace}/${k}=${v}`);
      if (!smallest || bucket.length < smallest.length) smallest = bucket;
      if (smallest.length === 0) return [];
    }
  } catch {
    return store.list(namespace).filter(matches);
  }
  return (smallest ?? []).filter(matches);
}
