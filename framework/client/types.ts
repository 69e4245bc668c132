import type { KubeObject, ObjectKey, ResourceType } from "../meta/index.ts";

/** Options every request accepts. */
export interface RequestOptions {
  /** Aborts the request (and, for a watch, ends the stream). */
  signal?: AbortSignal;
}

/** Query options of a LIST or WATCH. */
export interface ListOptions extends RequestOptions {
  /** Limit to one namespace; omit for all namespaces (or a cluster-scoped type). */
  namespace?: string;
  /** Label selector in the API's string syntax, e.g. `app=web,tier!=db`. */
  labelSelector?: string;
  /** Field selector in the API's string syntax, e.g. `spec.nodeName=n1`. */
  fieldSelector?: string;
  /** Page size of a LIST (`limit`). */
  limit?: number;
  /** Continue token of the previous page. */
  continue?: string;
  /** `resourceVersion` query parameter. */
  resourceVersion?: string;
  /** `resourceVersionMatch` query parameter (`NotOlderThan` or `Exact`). */
  resourceVersionMatch?: "NotOlderThan" | "Exact";
}

/** A LIST response. */
export interface ObjectList<T extends KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

/** Query options of a WATCH. */
export interface WatchOptions extends ListOptions {
  /** Ask for BOOKMARK events (default true). */
  allowWatchBookmarks?: boolean;
  /** Server-side timeout of the watch, in seconds. */
  timeoutSeconds?: number;
  /** WatchList: stream the initial state as ADDED events ending with a bookmark annotated
   * `k8s.io/initial-events-end: "true"`. Requires `resourceVersionMatch: "NotOlderThan"`. */
  sendInitialEvents?: boolean;
}

/** One event of a watch stream. `ERROR` carries a `metav1.Status` as `object`. */
export type WatchEvent<T extends KubeObject> =
  | { type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK"; object: T }
  | { type: "ERROR"; object: Status };

/** `metav1.Status`, as the API server returns it for errors. */
export interface Status {
  apiVersion?: string;
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; uid?: string; causes?: Array<{ reason?: string; message?: string; field?: string }> };
}

/** A patch and its content type. */
export type Patch =
  | { type: "merge"; body: unknown }
  | { type: "strategic"; body: unknown }
  | { type: "json"; ops: JsonPatchOperation[] }
  | { type: "apply"; body: KubeObject; fieldManager: string; force?: boolean };

/** One RFC 6902 operation. */
export interface JsonPatchOperation {
  op: "add" | "remove" | "replace" | "move" | "copy" | "test";
  path: string;
  value?: unknown;
  from?: string;
}

/** Options of writes. */
export interface WriteOptions extends RequestOptions {
  /** `fieldManager` query parameter. */
  fieldManager?: string;
  /** `dryRun=All`. */
  dryRun?: boolean;
  /**
   * `fieldValidation`: what the API server does with unknown or duplicate fields in the body.
   * `Strict` refuses the write (400 BadRequest naming the fields), `Warn` (the server's default
   * when unset) accepts it with a `Warning` header per field, `Ignore` drops them silently.
   */
  fieldValidation?: "Ignore" | "Warn" | "Strict";
}

/** Options of a DELETE. */
export interface DeleteOptions extends RequestOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  /** Grace period in seconds. */
  gracePeriodSeconds?: number;
}

/**
 * Typed access to any resource type. Every method throws `ApiError` (from `./errors.ts`) for a
 * non-2xx answer, naming the verb, the GVK and the object.
 */
export interface Client {
  get<T extends KubeObject>(type: ResourceType<T>, key: ObjectKey, opts?: RequestOptions): Promise<T>;
  list<T extends KubeObject>(type: ResourceType<T>, opts?: ListOptions): Promise<ObjectList<T>>;
  create<T extends KubeObject>(type: ResourceType<T>, obj: T, opts?: WriteOptions): Promise<T>;
  /** PUT of the whole object; `metadata.resourceVersion` makes it conditional (409 on conflict). */
  update<T extends KubeObject>(type: ResourceType<T>, obj: T, opts?: WriteOptions): Promise<T>;
  /** PUT to the `status` subresource. */
  updateStatus<T extends KubeObject>(type: ResourceType<T>, obj: T, opts?: WriteOptions): Promise<T>;
  /** PATCH the object, or one of its subresources (`status`, `scale`). */
  patch<T extends KubeObject>(type: ResourceType<T>, key: ObjectKey, patch: Patch, opts?: WriteOptions & { subresource?: string }): Promise<T>;
  delete<T extends KubeObject>(type: ResourceType<T>, key: ObjectKey, opts?: DeleteOptions): Promise<void>;
  /** A watch as an async iterable; it ends when the server closes the stream or `signal` aborts. */
  watch<T extends KubeObject>(type: ResourceType<T>, opts?: WatchOptions): AsyncIterable<WatchEvent<T>>;
}
