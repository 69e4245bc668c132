import type { IObjectMeta } from "@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta";
import type { IOwnerReference } from "@kubernetes-models/apimachinery/apis/meta/v1/OwnerReference";

/** Kubernetes `ObjectMeta` as it travels on the wire (timestamps are RFC 3339 strings). */
export type ObjectMeta = IObjectMeta;
/** Kubernetes `OwnerReference` as it travels on the wire. */
export type OwnerReference = IOwnerReference;

/**
 * Any Kubernetes object: the shape every resource shares. Typed resources (Pod, a custom
 * resource from `framework/api`) narrow it; the framework itself needs only these fields.
 */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

/** Namespace and name of one object. `namespace` is absent for cluster-scoped objects. */
export interface ObjectKey {
  namespace?: string;
  name: string;
}

/**
 * The cache key of an object: `namespace/name`, or `name` when cluster-scoped.
 * Mirrors client-go's `cache.MetaNamespaceKeyFunc`.
 * @throws Error when the object has no `metadata.name`.
 */
export function keyOf(obj: KubeObject | ObjectKey): string {
  const key = "metadata" in obj || !("name" in obj) ? keyFromMeta((obj as KubeObject).metadata) : obj;
  return key.namespace ? `${key.namespace}/${key.name}` : key.name;
}

function keyFromMeta(meta: ObjectMeta | undefined): ObjectKey {
  if (!meta?.name) throw new Error("object has no metadata.name, so it has no cache key");
  return meta.namespace ? { namespace: meta.namespace, name: meta.name } : { name: meta.name };
}

/** The `ObjectKey` of an object. @throws Error when the object has no `metadata.name`. */
export function objectKeyOf(obj: KubeObject): ObjectKey {
  return keyFromMeta(obj.metadata);
}

/**
 * Parses a cache key (`namespace/name` or `name`) back into an `ObjectKey`.
 * @throws Error when the key has more than one `/` or an empty part.
 */
export function parseKey(key: string): ObjectKey {
  const parts = key.split("/");
  if (parts.length === 1 && parts[0]) return { name: parts[0] };
  if (parts.length === 2 && parts[0] && parts[1]) return { namespace: parts[0], name: parts[1] };
  throw new Error(`invalid object key ${JSON.stringify(key)}: want "namespace/name" or "name"`);
}

/** The owner reference with `controller: true`, if any (client-go `metav1.GetControllerOf`). */
export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  const refs = obj.metadata?.ownerReferences;
  if (refs === undefined) return undefined;
  // A plain loop: controllers call this for every cached pod on every sync.
  for (const ref of refs) if (ref.controller === true) return ref;
  return undefined;
}

/** True when `metadata.deletionTimestamp` is set: the object is being deleted. */
export function isBeingDeleted(obj: KubeObject): boolean {
  return Boolean(obj.metadata?.deletionTimestamp);
}

/**
 * The wire form of `metav1.MicroTime` (RFC 3339 with microseconds, e.g.
 * `2026-11-21T17:00:00.123000Z`) for a time in milliseconds since the epoch.
 */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
