import { isNotFound, type Client } from "../client/index.ts";
import { isBeingDeleted, objectKeyOf, gvkString, type KubeObject, type ResourceType } from "../meta/index.ts";
import type { Result } from "./reconcile.ts";

/** True when `obj` lists `finalizer` in `metadata.finalizers`. */
export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return obj.metadata?.finalizers?.includes(finalizer) ?? false;
}

function lockedFinalizersPatch(obj: KubeObject, finalizers: string[]) {
  // Merge patch with the resourceVersion as an optimistic lock (controller-runtime
  // `MergeFromWithOptimisticLock`): a stale object fails with 409 Conflict instead of
  // overwriting someone else's finalizers.
  const rv = obj.metadata?.resourceVersion;
  return { type: "merge" as const, body: { metadata: { finalizers: finalizers.length ? finalizers : null, ...(rv ? { resourceVersion: rv } : {}) } } };
}

/**
 * Adds `finalizer` to the object (a merge patch locked on its resourceVersion) and returns the
 * object the API server returned; returns `obj` unchanged when it already has it.
 * @throws ApiError (409 Conflict when `obj` is stale: requeue and retry).
 */
export async function ensureFinalizer<T extends KubeObject>(
  client: Client, type: ResourceType<T>, obj: T, finalizer: string, opts: { signal?: AbortSignal } = {},
): Promise<T> {
  if (hasFinalizer(obj, finalizer)) return obj;
  const finalizers = [...(obj.metadata?.finalizers ?? []), finalizer];
  return client.patch(type, objectKeyOf(obj), lockedFinalizersPatch(obj, finalizers), opts.signal ? { signal: opts.signal } : {});
}

/**
 * Removes `finalizer` from the object (a merge patch locked on its resourceVersion) and returns
 * the object the API server returned; returns `obj` unchanged when it does not have it.
 * @throws ApiError (409 Conflict when `obj` is stale; 404 is not an error: returns `obj`).
 */
export async function removeFinalizer<T extends KubeObject>(
  client: Client, type: ResourceType<T>, obj: T, finalizer: string, opts: { signal?: AbortSignal } = {},
): Promise<T> {
  if (!hasFinalizer(obj, finalizer)) return obj;
  const finalizers = (obj.metadata?.finalizers ?? []).filter((f) => f !== finalizer);
  try {
    return await client.patch(type, objectKeyOf(obj), lockedFinalizersPatch(obj, finalizers), opts.signal ? { signal: opts.signal } : {});
  } catch (err) {
    if (isNotFound(err)) return obj;
    throw err;
  }
}

/** The two halves of a reconciler guarded by a finalizer. */
export interface FinalizerHandlers<T extends KubeObject> {
  /** The object is live (and carries the finalizer): make the world match it. */
  apply(obj: T): Promise<Result>;
  /** The object is being deleted: release what it holds outside the cluster. The finalizer is removed once this resolves. */
  cleanup(obj: T): Promise<Result>;
}

/**
 * Runs a reconcile under a finalizer, as kube-rs `runtime::finalizer` does:
 * - live object without the finalizer: adds it, then runs `apply` on the patched object;
 * - live object with it: runs `apply`;
 * - object being deleted with it: runs `cleanup`, then removes the finalizer (a throw from
 *   `cleanup` keeps it, so cleanup is retried);
 * - object being deleted without it: nothing to do.
 * @throws whatever `apply` or `cleanup` throw, and ApiError from the patches (409 on a stale object).
 */
export async function finalizer<T extends KubeObject>(
  client: Client, type: ResourceType<T>, obj: T, name: string, handlers: FinalizerHandlers<T>, opts: { signal?: AbortSignal } = {},
): Promise<Result> {
  if (!name.includes("/")) {
    throw new Error(`finalizer ${JSON.stringify(name)} for ${gvkString(type)}: use a domain-qualified name such as "example.com/cleanup"`);
  }
  if (isBeingDeleted(obj)) {
    if (!hasFinalizer(obj, name)) return;
    const result = await handlers.cleanup(obj);
    await removeFinalizer(client, type, obj, name, opts);
    return result;
  }
  const current = await ensureFinalizer(client, type, obj, name, opts);
  return handlers.apply(current);
}
