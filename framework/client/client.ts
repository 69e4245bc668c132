import type { KubeConfig } from "@kubernetes/client-node";
import type { Registry } from "prom-client";
import { gvkString, type GroupVersionKind, type KubeObject, type ObjectKey, type ResourceType } from "../meta/index.ts";
import { loadKubeConfig } from "./config.ts";
import type { ApiErrorContext } from "./errors.ts";
import { JsonLineDecoder } from "./json-lines.ts";
import type { WireResponse } from "./connection.ts";
import { Transport, type Impersonation, type TransportProtocol, type TransportRequest } from "./transport.ts";
import type {
  Client, DeleteOptions, ListOptions, ObjectList, Patch, RequestOptions, Status, WatchEvent, WatchOptions, WriteOptions,
} from "./types.ts";

/** Options of `createClient`. */
export interface ClientOptions {
  /** Defaults to `loadKubeConfig()`. */
  kubeConfig?: KubeConfig;
  /** `User-Agent` header; defaults to `kubeloop/<version> (node <version>)`. */
  userAgent?: string;
  /** Registers `rest_client_requests_total{code,method,host}` and `rest_client_request_duration_seconds{verb,host}` here. */
  metrics?: Registry;
  /** At most this many non-watch requests in flight (default: unlimited). */
  maxConcurrentRequests?: number;
  /** Client-side rate limit in requests per second, watches included (default: off, like controller-runtime, which relies on API Priority and Fairness). */
  qps?: number;
  /** Burst of the client-side rate limit (default: `qps`). */
  burst?: number;
  /**
   * Deadline of each attempt of a non-watch request in milliseconds (default 60 000); a watch
   * must get its response headers within it, then has none.
   */
  requestTimeoutMs?: number;
  /**
   * Wire protocol. `http2` (default): HTTP/2 when the server selects it in the TLS handshake
   * (ALPN `h2`; kube-apiserver does), every request and watch a stream on one connection, as
   * client-go; HTTP/1.1 otherwise (`http:` servers, a proxy in the kubeconfig, servers without
   * HTTP/2). `http1`: always HTTP/1.1 (a socket per request in flight and per watch).
   */
  transport?: TransportProtocol;
  /**
   * HTTP/2 only: connections to open before a new one is needed, streams going to the least busy
   * (default 1, as client-go: a second connection only when the server's
   * SETTINGS_MAX_CONCURRENT_STREAMS, 100 on kube-apiserver, is reached).
   */
  http2Connections?: number;
  /**
   * Act as another identity (client-go's `rest.Config.Impersonate`): every request carries
   * `Impersonate-User` (and `Impersonate-Uid`, `Impersonate-Group`), replacing any `as:` of the
   * kubeconfig. The kubeconfig's user needs the `impersonate` verb; requests the impersonated
   * identity may not make fail with 403 Forbidden.
   */
  impersonate?: Impersonation;
}

/** `autoscaling/v1` Scale, as served by the `scale` subresource. */
export interface Scale {
  apiVersion?: string;
  kind?: string;
  metadata?: KubeObject["metadata"];
  spec?: { replicas?: number };
  status?: { replicas: number; selector?: string };
}

/** The API server's `/version`. */
export interface ServerVersion {
  major: string;
  minor: string;
  gitVersion: string;
  gitCommit?: string;
  platform?: string;
  [field: string]: string | undefined;
}

/** One entry of an `APIResourceList` (discovery). */
export interface ApiResource {
  name: string;
  singularName?: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  group?: string;
  version?: string;
}

/** The client `createClient` returns: `Client` plus subresources that need their own shapes and discovery. */
export interface KubeClient extends Client {
  /** GET of the `scale` subresource. @throws ApiError */
  getScale<T extends KubeObject>(type: ResourceType<T>, key: ObjectKey, opts?: RequestOptions): Promise<Scale>;
  /** POST of `pods/<name>/binding`: assigns the pod to `nodeName` (what a scheduler does). @throws ApiError */
  bind(key: { namespace: string; name: string }, nodeName: string, opts?: WriteOptions & { uid?: string }): Promise<void>;
  /**
   * POST of `pods/<name>/eviction` (policy/v1 Eviction): a delete that honours PodDisruptionBudgets.
   * @throws ApiError (429 TooManyRequests while a budget forbids it; retry later)
   */
  evict(key: { namespace: string; name: string }, opts?: DeleteOptions & { dryRun?: boolean }): Promise<void>;
  /** GET `/version`. @throws ApiError */
  serverVersion(opts?: RequestOptions): Promise<ServerVersion>;
  /** The resources served in one group version (`v1`, `apps/v1`). @throws ApiError (404 when the group version is not served) */
  resourcesFor(groupVersion: string, opts?: RequestOptions): Promise<ApiResource[]>;
  /** REST mapping through discovery: the plural and scope of a GVK. @throws Error when the kind is not served. */
  resourceTypeFor<T extends KubeObject = KubeObject>(gvk: GroupVersionKind, opts?: RequestOptions): Promise<ResourceType<T>>;
  /**
   * Closes idle connections; requests and watches in flight run until they end or are aborted
   * (an HTTP/2 connection closes once its last stream has ended). A later request opens a new
   * connection.
   */
  close(): void;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
const PODS: ResourceType = { group: "", version: "v1", kind: "Pod", plural: "pods", namespaced: true, apiVersion: "v1" };

/**
 * Creates a client over the kubeconfig's cluster. Requests go over HTTP/2 (node:http2) where the
 * server negotiates it, else HTTP/1.1 (node:https), with credentials and TLS from
 * `@kubernetes/client-node`; watches are streamed JSON lines with no client-side deadline (use
 * `timeoutSeconds` and `signal`). Mirrors controller-runtime's `client.New` (typed access to any
 * GVK, no client-side rate limit unless asked) over client-go's REST client (HTTP/2, retries).
 * @throws Error when no kubeconfig can be loaded.
 */
export function createClient(opts: ClientOptions = {}): KubeClient {
  const kubeConfig = opts.kubeConfig ?? loadKubeConfig();
  const transport = new Transport({
    kubeConfig,
    userAgent: opts.userAgent ?? `kubeloop/0.1.0 (node ${process.version})`,
    requestTimeoutMs: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.maxConcurrentRequests !== undefined ? { maxConcurrentRequests: opts.maxConcurrentRequests } : {}),
    ...(opts.qps !== undefined ? { qps: opts.qps } : {}),
    ...(opts.burst !== undefined ? { burst: opts.burst } : {}),
    ...(opts.transport !== undefined ? { protocol: opts.transport } : {}),
    ...(opts.http2Connections !== undefined ? { http2Connections: opts.http2Connections } : {}),
    ...(opts.impersonate !== undefined ? { impersonate: opts.impersonate } : {}),
  });
  return new RestClient(transport);
}

/** `/api/v1` or `/apis/<group>/<version>`. */
function groupVersionPath(type: GroupVersionKind): string {
  return type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
}

/** The REST path of a collection, an object, or one of its subresources. */
function resourcePath(type: ResourceType, namespace: string | undefined, name?: string, subresource?: string): string {
  let path = groupVersionPath(type);
  if (type.namespaced && namespace) path += `/namespaces/${encodeURIComponent(namespace)}`;
  path += `/${type.plural}`;
  if (name !== undefined) path += `/${encodeURIComponent(name)}`;
  if (subresource) path += `/${subresource}`;
  return path;
}

function context(verb: string, type: GroupVersionKind, namespace?: string, name?: string, subresource?: string): ApiErrorContext {
  return {
    verb, gvk: { group: type.group, version: type.version, kind: type.kind },
    ...(namespace ? { namespace } : {}), ...(name ? { name } : {}), ...(subresource ? { subresource } : {}),
  };
}

function checkKey(verb: string, type: ResourceType, key: ObjectKey): void {
  if (!key.name) throw new Error(`${verb} ${gvkString(type)}: the object key has no name`);
  if (type.namespaced && !key.namespace) {
    throw new Error(`${verb} ${gvkString(type)} ${key.name}: ${type.kind} is namespaced, so the key needs a namespace`);
  }
}

function keyOfObject(verb: string, type: ResourceType, obj: KubeObject, needName: boolean): ObjectKey {
  const name = obj.metadata?.name;
  const namespace = type.namespaced ? obj.metadata?.namespace : undefined;
  if (needName && !name) throw new Error(`${verb} ${gvkString(type)}: the object has no metadata.name`);
  if (type.namespaced && !namespace) {
    throw new Error(`${verb} ${gvkString(type)} ${name ?? "(generateName)"}: ${type.kind} is namespaced, so metadata.namespace must be set`);
  }
  return namespace ? { namespace, name: name ?? "" } : { name: name ?? "" };
}

function withTypeMeta<T extends KubeObject>(type: ResourceType<T>, obj: T): T {
  if (obj.apiVersion && obj.kind) return obj;
  return { ...obj, apiVersion: type.apiVersion, kind: type.kind };
}

function listQuery(opts: ListOptions | undefined): URLSearchParams {
  const q = new URLSearchParams();
  if (!opts) return q;
  if (opts.labelSelector) q.set("labelSelector", opts.labelSelector);
  if (opts.fieldSelector) q.set("fieldSelector", opts.fieldSelector);
  if (opts.limit !== undefined) q.set("limit", String(opts.limit));
  if (opts.continue) q.set("continue", opts.continue);
  if (opts.resourceVersion !== undefined) q.set("resourceVersion", opts.resourceVersion);
  if (opts.resourceVersionMatch) q.set("resourceVersionMatch", opts.resourceVersionMatch);
  return q;
}

function writeQuery(opts: WriteOptions | undefined): URLSearchParams {
  const q = new URLSearchParams();
  if (opts?.fieldManager) q.set("fieldManager", opts.fieldManager);
  if (opts?.dryRun) q.set("dryRun", "All");
  if (opts?.fieldValidation) q.set("fieldValidation", opts.fieldValidation);
  return q;
}

function signalOf(opts: RequestOptions | undefined): { signal?: AbortSignal } {
  return opts?.signal ? { signal: opts.signal } : {};
}

const PATCH_CONTENT_TYPES: Record<Patch["type"], string> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
  apply: "application/apply-patch+yaml",
};

class RestClient implements KubeClient {
  readonly #transport: Transport;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  async get<T extends KubeObject>(type: ResourceType<T>, key: ObjectKey, opts?: RequestOptions): Promise<T> {
    checkKey("get", type, key);
    const obj = await this.#transport.request({
      method: "GET", path: resourcePath(type, key.namespace, key.name), ...signalOf(opts),
      context: context("get", type, key.namespace, key.name),
    });
    return obj as T;
  }

  async list<T extends KubeObject>(type: ResourceType<T>, opts?: ListOptions): Promise<ObjectList<T>> {
    const list = await this.#transport.request({
      method: "GET", path: resourcePath(type, opts?.namespace), query: listQuery(opts), ...signalOf(opts),
      context: context("list", type, opts?.namespace),
    }) as ObjectList<T>;
    list.items ??= [];
    list.metadata ??= {};
    // Items of a LIST carry no apiVersion/kind on the wire; fill them in so they look like watched objects.
    for (const item of list.items) {
      item.apiVersion ??= type.apiVersion;
      item.kind ??= type.kind;
    }
    return list;
  }

  async create<T extends KubeObject>(type: ResourceType<T>, obj: T, opts?: WriteOptions): Promise<T> {
    const key = keyOfObject("create", type, obj, false);
    return await this.#transport.request({
      method: "POST", path: resourcePath(type, key.namespace), query: writeQuery(opts), body: withTypeMeta(type, obj), ...signalOf(opts),
      context: context("create", type, key.namespace, key.name || obj.metadata?.generateName),
    }) as T;
  }

  async update<T extends KubeObject>(type: ResourceType<T>, obj: T, opts?: WriteOptions): Promise<T> {
    return this.#put("update", type, obj, undefined, opts);
  }

  async updateStatus<T extends KubeObject>(type: ResourceType<T>, obj: T, opts?: WriteOptions): Promise<T> {
    return this.#put("update", type, obj, "status", opts);
  }

  async #put<T extends KubeObject>(verb: string, type: ResourceType<T>, obj: T, subresource: string | undefined, opts?: WriteOptions): Promise<T> {
    const key = keyOfObject(verb, type, obj, true);
    return await this.#transport.request({
      method: "PUT", path: resourcePath(type, key.namespace, key.name, subresource), query: writeQuery(opts),
      body: withTypeMeta(type, obj), ...signalOf(opts),
      context: context(verb, type, key.namespace, key.name, subresource),
    }) as T;
  }

  async patch<T extends KubeObject>(
    type: ResourceType<T>, key: ObjectKey, patch: Patch, opts?: WriteOptions & { subresource?: string },
  ): Promise<T> {
    checkKey("patch", type, key);
    const query = writeQuery(opts);
    let body: unknown;
    switch (patch.type) {
      case "json":
        body = patch.ops;
        break;
      case "apply":
        // Server-side apply: YAML is a superset of JSON, so the JSON body is valid apply-patch+yaml.
        body = withTypeMeta(type, patch.body as T);
        query.set("fieldManager", patch.fieldManager);
        if (patch.force) query.set("force", "true");
        break;
      default:
        body = patch.body;
    }
    return await this.#transport.request({
      method: "PATCH", path: resourcePath(type, key.namespace, key.name, opts?.subresource), query, body,
      contentType: PATCH_CONTENT_TYPES[patch.type], ...signalOf(opts),
      context: context(`patch (${patch.type})`, type, key.namespace, key.name, opts?.subresource),
    }) as T;
  }

  async delete<T extends KubeObject>(type: ResourceType<T>, key: ObjectKey, opts?: DeleteOptions): Promise<void> {
    checkKey("delete", type, key);
    const body: Record<string, unknown> = { apiVersion: "v1", kind: "DeleteOptions" };
    if (opts?.preconditions) body["preconditions"] = opts.preconditions;
    if (opts?.propagationPolicy) body["propagationPolicy"] = opts.propagationPolicy;
    if (opts?.gracePeriodSeconds !== undefined) body["gracePeriodSeconds"] = opts.gracePeriodSeconds;
    await this.#transport.request({
      method: "DELETE", path: resourcePath(type, key.namespace, key.name), body, ...signalOf(opts),
      context: context("delete", type, key.namespace, key.name),
    });
  }

  watch<T extends KubeObject>(type: ResourceType<T>, opts?: WatchOptions): AsyncIterable<WatchEvent<T>> {
    const query = listQuery(opts);
    query.delete("limit");
    query.delete("continue");
    query.set("watch", "true");
    if (opts?.allowWatchBookmarks ?? true) query.set("allowWatchBookmarks", "true");
    if (opts?.timeoutSeconds !== undefined) query.set("timeoutSeconds", String(Math.floor(opts.timeoutSeconds)));
    if (opts?.sendInitialEvents !== undefined) query.set("sendInitialEvents", String(opts.sendInitialEvents));
    const request: TransportRequest = {
      method: "GET", path: resourcePath(type, opts?.namespace), query, ...signalOf(opts),
      context: context("watch", type, opts?.namespace),
    };
    const transport = this.#transport;
    return { [Symbol.asyncIterator]: () => watchEvents<T>(transport, request, type) };
  }

  async getScale<T extends KubeObject>(type: ResourceType<T>, key: ObjectKey, opts?: RequestOptions): Promise<Scale> {
    checkKey("get", type, key);
    return await this.#transport.request({
      method: "GET", path: resourcePath(type, key.namespace, key.name, "scale"), ...signalOf(opts),
      context: context("get", type, key.namespace, key.name, "scale"),
    }) as Scale;
  }

  async bind(key: { namespace: string; name: string }, nodeName: string, opts?: WriteOptions & { uid?: string }): Promise<void> {
    await this.#transport.request({
      method: "POST", path: resourcePath(PODS, key.namespace, key.name, "binding"), query: writeQuery(opts),
      body: {
        apiVersion: "v1", kind: "Binding",
        metadata: { name: key.name, namespace: key.namespace, ...(opts?.uid ? { uid: opts.uid } : {}) },
        target: { apiVersion: "v1", kind: "Node", name: nodeName },
      },
      ...signalOf(opts),
      context: context("create", PODS, key.namespace, key.name, "binding"),
    });
  }

  async evict(key: { namespace: string; name: string }, opts?: DeleteOptions & { dryRun?: boolean }): Promise<void> {
    const deleteOptions: Record<string, unknown> = {};
    if (opts?.preconditions) deleteOptions["preconditions"] = opts.preconditions;
    if (opts?.gracePeriodSeconds !== undefined) deleteOptions["gracePeriodSeconds"] = opts.gracePeriodSeconds;
    if (opts?.dryRun) deleteOptions["dryRun"] = ["All"];
    await this.#transport.request({
      method: "POST", path: resourcePath(PODS, key.namespace, key.name, "eviction"),
      body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: key.name, namespace: key.namespace }, deleteOptions },
      ...signalOf(opts),
      // 429 from an eviction means "a PodDisruptionBudget forbids it now", not "slow down": no transparent retry.
      noRetry: true,
      context: context("create", PODS, key.namespace, key.name, "eviction"),
    });
  }

  async serverVersion(opts?: RequestOptions): Promise<ServerVersion> {
    return await this.#transport.request({ method: "GET", path: "/version", ...signalOf(opts), context: { verb: "get /version" } }) as ServerVersion;
  }

  async resourcesFor(groupVersion: string, opts?: RequestOptions): Promise<ApiResource[]> {
    const path = groupVersion.includes("/") ? `/apis/${groupVersion}` : `/api/${groupVersion}`;
    const list = await this.#transport.request({
      method: "GET", path, ...signalOf(opts), context: { verb: `discover ${groupVersion}` },
    }) as { resources?: ApiResource[] };
    return list.resources ?? [];
  }

  async resourceTypeFor<T extends KubeObject = KubeObject>(gvk: GroupVersionKind, opts?: RequestOptions): Promise<ResourceType<T>> {
    const groupVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
    const resources = await this.resourcesFor(groupVersion, opts);
    const found = resources.find((r) => r.kind === gvk.kind && !r.name.includes("/"));
    if (!found) throw new Error(`no resource of kind ${gvkString(gvk)} is served in ${groupVersion}: is its CRD installed?`);
    return { group: gvk.group, version: gvk.version, kind: gvk.kind, plural: found.name, namespaced: found.namespaced, apiVersion: groupVersion };
  }

  close(): void {
    this.#transport.close();
  }
}

function isStatus(obj: unknown): obj is Status {
  return typeof obj === "object" && obj !== null && (obj as Status).kind === "Status";
}

/**
 * Streams one watch: yields each event as it arrives. Ends when the server closes the stream or
 * the signal aborts; throws ApiError when the watch is refused and an Error when the connection
 * breaks mid-stream. Breaking out of the loop closes the connection.
 */
async function* watchEvents<T extends KubeObject>(transport: Transport, request: TransportRequest, type: ResourceType<T>): AsyncGenerator<WatchEvent<T>> {
  const signal = request.signal;
  let res: WireResponse;
  try {
    res = await transport.stream(request);
  } catch (err) {
    if (signal?.aborted) return;
    throw err;
  }
  const decoder = new JsonLineDecoder();
  try {
    try {
      for await (const chunk of res.body) {
        for (const value of decoder.push(chunk)) yield toWatchEvent<T>(value, type);
      }
      for (const value of decoder.end()) yield toWatchEvent<T>(value, type);
    } catch (err) {
      if (signal?.aborted) return;
      if (err instanceof SyntaxError) {
        throw new Error(`watch ${gvkString(type)}: the stream broke mid-event (${err.message}); watch again from the last resourceVersion`, { cause: err });
      }
      throw new Error(`watch ${gvkString(type)}: the connection failed: ${(err as Error).message}`, { cause: err });
    }
    if (!res.complete && !signal?.aborted) {
      throw new Error(`watch ${gvkString(type)}: the connection closed before the response ended; watch again from the last resourceVersion`);
    }
  } finally {
    res.destroy();
  }
}

function toWatchEvent<T extends KubeObject>(value: unknown, type: ResourceType<T>): WatchEvent<T> {
  const event = value as { type?: string; object?: unknown };
  switch (event.type) {
    case "ADDED": case "MODIFIED": case "DELETED": case "BOOKMARK":
      return { type: event.type, object: event.object as T };
    case "ERROR":
      return { type: "ERROR", object: isStatus(event.object) ? event.object : { kind: "Status", status: "Failure", message: JSON.stringify(event.object) } };
    default:
      throw new Error(`watch ${gvkString(type)}: unknown event type ${JSON.stringify(event.type)}`);
  }
}
