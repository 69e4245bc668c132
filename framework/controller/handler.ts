import type { GroupVersionKind, KubeObject } from "../meta/index.ts";
import type { Request } from "./reconcile.ts";

/**
 * Turns the events of one watch into reconcile requests (controller-runtime `pkg/handler`).
 * `update` gets both objects; most handlers enqueue for both so that a change of owner or of
 * mapping reaches the old and the new target.
 */
export interface RequestMapper<T extends KubeObject = KubeObject> {
  create(obj: T): Request[];
  update(oldObj: T, newObj: T): Request[];
  delete(obj: T): Request[];
}

function requestOf(obj: KubeObject): Request[] {
  const name = obj.metadata?.name;
  if (!name) return [];
  const ns = obj.metadata?.namespace;
  return [ns ? { namespace: ns, name } : { name }];
}

/** Enqueues the object itself (controller-runtime `EnqueueRequestForObject`); an update enqueues the new object. */
export function enqueueForObject<T extends KubeObject>(): RequestMapper<T> {
  return { create: requestOf, update: (_o, n) => requestOf(n), delete: requestOf };
}

/** Options of `enqueueForOwner`. */
export interface OwnerOptions {
  /** Only the owner reference with `controller: true` (default true, as `Owns`). */
  onlyController?: boolean;
  /** Whether the owner type is namespaced (default true); cluster-scoped owners get no namespace. */
  ownerNamespaced?: boolean;
}

function groupOf(apiVersion: string | undefined): string {
  if (!apiVersion) return "";
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/**
 * Enqueues the owner of the object whose kind and group are `owner`'s, found in its owner
 * references (only the controller reference unless `onlyController: false`). The version is
 * ignored, as controller-runtime `EnqueueRequestForOwner` does. Updates enqueue the owners of
 * both the old and the new object.
 */
export function enqueueForOwner<T extends KubeObject>(owner: GroupVersionKind, opts: OwnerOptions = {}): RequestMapper<T> {
  const onlyController = opts.onlyController ?? true;
  const namespaced = opts.ownerNamespaced ?? true;
  const map = (obj: KubeObject): Request[] => {
    const refs = obj.metadata?.ownerReferences ?? [];
    const out: Request[] = [];
    for (const ref of refs) {
      if (onlyController && ref.controller !== true) continue;
      if (ref.kind !== owner.kind || groupOf(ref.apiVersion) !== owner.group || !ref.name) continue;
      const ns = obj.metadata?.namespace;
      out.push(namespaced && ns ? { namespace: ns, name: ref.name } : { name: ref.name });
    }
    return out;
  };
  return { create: map, update: (o, n) => dedup([...map(o), ...map(n)]), delete: map };
}

/**
 * Enqueues whatever `map` returns for the object (controller-runtime
 * `EnqueueRequestsFromMapFunc`); updates map both the old and the new object. `map` must be
 * cheap and read only from caches; a throw is caught by the controller and logged.
 */
export function enqueueMapped<T extends KubeObject>(map: (obj: T) => Request[]): RequestMapper<T> {
  return { create: map, update: (o, n) => dedup([...map(o), ...map(n)]), delete: map };
}

function dedup(reqs: Request[]): Request[] {
  const seen = new Set<string>();
  return reqs.filter((r) => {
    if (typeof r !== "object" || r === null) return true; // not a request: the controller logs and drops it
    const k = `${r.namespace ?? ""}/${r.name}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
