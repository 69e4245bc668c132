import type { KubeObject } from "./object.ts";

/** Group, version and kind of a resource. The core group is the empty string. */
export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/**
 * Everything the client and the cache need to reach one resource type over REST, carrying the
 * object's TypeScript type `T` so that `client.get(Pods, ...)` returns a Pod.
 * Build one with `resourceType` (built-in types are in `framework/meta/builtin.ts`; custom
 * resources come from `framework/api`).
 */
export interface ResourceType<T extends KubeObject = KubeObject> extends GroupVersionKind {
  /** Lower-case plural used in the URL path, e.g. `replicasets`. */
  plural: string;
  /** True for namespaced resources, false for cluster-scoped ones. */
  namespaced: boolean;
  /** `group/version`, or `version` for the core group: the object's `apiVersion`. */
  apiVersion: string;
  /** Phantom field that carries `T`; never set at run time. */
  readonly __object?: T;
}

/** Describes a resource type. `apiVersion` is derived from group and version. */
export function resourceType<T extends KubeObject>(
  gvk: GroupVersionKind & { plural: string; namespaced: boolean },
): ResourceType<T> {
  return { ...gvk, apiVersion: gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version };
}

/** `kind.version.group`, or `kind.version` for the core group: a readable name for logs and errors. */
export function gvkString(gvk: GroupVersionKind): string {
  return gvk.group ? `${gvk.kind}.${gvk.version}.${gvk.group}` : `${gvk.kind}.${gvk.version}`;
}

/** The object type a `ResourceType` carries. */
export type ObjectOf<R> = R extends ResourceType<infer T> ? T : never;

/**
 * The plural resource name of a kind as the API server's RESTMapper guesses it (apimachinery
 * `meta.UnsafeGuessKindToResource`): lowercased, then `es` after a final `s`, `ies` for a final
 * `y`, else `s` (`Widget` -> `widgets`, `NetworkPolicy` -> `networkpolicies`). Irregular plurals
 * (`Endpoints`) need discovery.
 */
export function guessResourceName(kind: string): string {
  const singular = kind.toLowerCase();
  if (singular.endsWith("s")) return `${singular}es`;
  if (singular.endsWith("y")) return `${singular.slice(0, -1)}ies`;
  return `${singular}s`;
}
