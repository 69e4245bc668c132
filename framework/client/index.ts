/**
 * Access to the Kubernetes API: a typed client for any resource type (get, list, create, update,
 * patch in four flavours, delete, watch as an async iterable, status and scale subresources,
 * binding, discovery), kubeconfig loading, and API errors with predicates.
 */
export { createClient } from "./client.ts";
export type { ApiResource, ClientOptions, KubeClient, Scale, ServerVersion } from "./client.ts";
export { KubeConfig, loadKubeConfig } from "./config.ts";
export {
  ApiError, isAlreadyExists, isConflict, isForbidden, isGone, isInvalid, isNotFound, isTooManyRequests,
} from "./errors.ts";
export type { ApiErrorContext } from "./errors.ts";
export { ConnectionLostError } from "./connection.ts";
export type { Impersonation, TransportProtocol } from "./transport.ts";
export { JsonLineDecoder } from "./json-lines.ts";
export type {
  Client, DeleteOptions, JsonPatchOperation, ListOptions, ObjectList, Patch, RequestOptions, Status, WatchEvent, WatchOptions, WriteOptions,
} from "./types.ts";
