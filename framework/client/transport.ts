import http from "node:http";
import type https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import PQueue from "p-queue";
import { Counter, Histogram, type Registry } from "prom-client";
import { sleepOrThrow, TokenBucket } from "../flowcontrol/index.ts";
import { ConnectionLostError, Http2NotNegotiatedError, type Connector, type TlsOptions, type WireRequest, type WireResponse } from "./connection.ts";
import { ApiError, type ApiErrorContext } from "./errors.ts";
import { Http1Connector } from "./http1.ts";
import { Http2Connector } from "./http2.ts";
import { MAX_RETRIES, retryAfterErrorMs, retryAfterResponseMs } from "./retry.ts";
import type { Status } from "./types.ts";

/**
 * The wire protocol: `http2` (default) speaks HTTP/2 when the server selects `h2` in the TLS
 * handshake (ALPN), as kube-apiserver does, and HTTP/1.1 otherwise (plain `http:` servers, an
 * HTTP proxy in the kubeconfig, servers without HTTP/2); `http1` always speaks HTTP/1.1.
 */
export type TransportProtocol = "http2" | "http1";

/** Options of the HTTP transport (see `createClient`). */
export interface TransportOptions {
  kubeConfig: KubeConfig;
  userAgent: string;
  metrics?: Registry;
  maxConcurrentRequests?: number;
  qps?: number;
  burst?: number;
  requestTimeoutMs: number;
  /** Default `http2`. */
  protocol?: TransportProtocol;
  /** HTTP/2 connections kept open and shared by the least busy stream first (default 1, as client-go). */
  http2Connections?: number;
  /** Sent as `Impersonate-*` headers on every request, replacing any the kubeconfig's `as:` gives. */
  impersonate?: Impersonation;
}

/**
 * The identity the API server authorizes requests as, instead of the credentials' own (client-go's
 * `rest.ImpersonationConfig`). The credentials' user needs the `impersonate` verb on each part:
 * `users` or `serviceaccounts` (by name), `groups`, `uids`.
 */
export interface Impersonation {
  /** `Impersonate-User`, e.g. `system:serviceaccount:<namespace>:<name>` (the API server then adds that account's groups). */
  userName: string;
  /** `Impersonate-Uid`. */
  uid?: string;
  /** One `Impersonate-Group` header per group. */
  groups?: readonly string[];
}

/** The `Impersonate-*` headers of `impersonation` (names as client-go sends them). */
export function impersonationHeaders(impersonation: Impersonation): Record<string, string | readonly string[]> {
  return {
    "Impersonate-User": impersonation.userName,
    ...(impersonation.uid !== undefined ? { "Impersonate-Uid": impersonation.uid } : {}),
    ...(impersonation.groups?.length ? { "Impersonate-Group": impersonation.groups } : {}),
  };
}

/** One HTTP request to the API server. */
export interface TransportRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Path without query, e.g. `/api/v1/namespaces/a/pods`. */
  path: string;
  query?: URLSearchParams;
  /** JSON-serialised when present. */
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal | undefined;
  /** Verb and object for errors and metrics. */
  context: ApiErrorContext;
  /** Never retry, even when the server sends `Retry-After` (evictions: there 429 means a disruption budget says no). */
  noRetry?: boolean;
}

/** Request headers and TLS material derived from the kubeconfig (and `impersonate`). */
interface Authentication {
  at: number;
  headers: Record<string, string | readonly string[]>;
  tls: TlsOptions;
  /** The kubeconfig's HTTP proxy agent, when it names a proxy. */
  proxyAgent: http.Agent | undefined;
}

/** How long request headers from the kubeconfig (tokens from exec plugins, token files) are reused. */
const AUTH_REFRESH_MS = 60_000;

/** What one attempt of a request came to. */
type Outcome = { value: unknown } | { error: unknown; retryAfterMs: number | undefined };

/**
 * Sends requests to the API server over HTTP/2 (node:http2, one multiplexed connection) or
 * HTTP/1.1 (node:https keep-alive pools), authenticating with what `@kubernetes/client-node`
 * derives from the kubeconfig (CA, client certificate, bearer token, exec plugins). Retries as
 * client-go's `rest.Request` does (see `retry.ts`). Plain requests get a deadline per attempt;
 * watches stream without one.
 */
export class Transport {
  readonly #opts: TransportOptions;
  readonly #server: URL;
  readonly #host: string;
  #auth: Authentication | undefined;
  #authPending: Promise<Authentication> | undefined;
  #connector: Connector | undefined;
  readonly #rateLimit: TokenBucket | undefined;
  readonly #concurrency: PQueue | undefined;
  readonly #requestsTotal: Counter<"code" | "method" | "host"> | undefined;
  readonly #retriesTotal: Counter<"code" | "method" | "host"> | undefined;
  readonly #requestDuration: Histogram<"verb" | "host"> | undefined;

  constructor(opts: TransportOptions) {
    this.#opts = opts;
    const cluster = opts.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error("kubeconfig has no current cluster: check its current-context");
    this.#server = new URL(cluster.server);
    this.#host = this.#server.host;
    if (opts.qps !== undefined && opts.qps > 0) {
      // client-go's limiter: a token bucket that starts full (`burst` at once), then `qps` per second.
      this.#rateLimit = new TokenBucket(opts.qps, Math.max(1, Math.floor(opts.burst ?? opts.qps)));
    }
    if (opts.maxConcurrentRequests !== undefined && opts.maxConcurrentRequests > 0) {
      this.#concurrency = new PQueue({ concurrency: opts.maxConcurrentRequests });
    }
    if (opts.metrics) {
      const registry = opts.metrics;
      const counter = (name: string, help: string): Counter<"code" | "method" | "host"> =>
        (registry.getSingleMetric(name) as Counter<"code" | "method" | "host"> | undefined)
          ?? new Counter({ name, help, labelNames: ["code", "method", "host"], registers: [registry] });
      this.#requestsTotal = counter("rest_client_requests_total", "Number of HTTP requests, partitioned by status code, method, and host.");
      this.#retriesTotal = counter("rest_client_request_retries_total", "Number of request retries, partitioned by status code, method, and host.");
      this.#requestDuration = (registry.getSingleMetric("rest_client_request_duration_seconds") as Histogram<"verb" | "host"> | undefined)
        ?? new Histogram({
          name: "rest_client_request_duration_seconds", help: "Request latency in seconds. Broken down by verb and host.", labelNames: ["verb", "host"],
          buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60], registers: [registry],
        });
    }
  }

  /** The protocol in use once the first request has gone out (`HTTP/2` or `HTTP/1.1`); undefined before. */
  get protocol(): string | undefined {
    return this.#connector?.protocol;
  }

  /**
   * Sends a request and returns the parsed JSON body. Retried as client-go does: any verb when
   * the server answers 429 or 5xx with `Retry-After` (after that many seconds), a GET after a
   * lost connection (after 1 s); at most 10 retries. Each attempt has its own deadline
   * (`requestTimeoutMs`) and passes the rate limit.
   * @throws ApiError for a non-2xx answer; ConnectionLostError when the connection broke; the
   * abort reason when `signal` aborted; an Error naming the deadline on a timeout.
   */
  async request(req: TransportRequest): Promise<unknown> {
    const body = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    for (let retry = 0; ; retry++) {
      await this.#throttle(req.signal);
      const outcome = await this.#attempt(req, body, retry > 0);
      if ("value" in outcome) return outcome.value;
      if (outcome.retryAfterMs === undefined || retry >= MAX_RETRIES) throw outcome.error;
      await sleepOrThrow(outcome.retryAfterMs, req.signal);
    }
  }

  async #attempt(req: TransportRequest, body: Buffer | undefined, isRetry: boolean): Promise<Outcome> {
    const run = async (): Promise<Outcome> => {
      const timeout = AbortSignal.timeout(this.#opts.requestTimeoutMs);
      const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
      const started = performance.now();
      let code = "<error>";
      try {
        const res = await this.#send(req, body, false, signal);
        code = String(res.status);
        const text = await readBody(res, signal, req);
        if (res.status >= 200 && res.status < 300) return { value: text ? JSON.parse(text) : {} };
        return {
          error: errorFromBody(res.status, text, req.context),
          retryAfterMs: req.noRetry ? undefined : retryAfterResponseMs(res.status, res.header("retry-after")),
        };
      } catch (err) {
        if (req.signal?.aborted) throw req.signal.reason ?? err;
        if (timeout.aborted) {
          throw new Error(`${req.context.verb} ${req.path} timed out after ${this.#opts.requestTimeoutMs} ms: the API server at ${this.#host} did not answer in time`, { cause: err });
        }
        return { error: err, retryAfterMs: req.noRetry ? undefined : retryAfterErrorMs(req.method, err) };
      } finally {
        this.#observe(req, code, started, isRetry);
      }
    };
    return this.#concurrency ? this.#concurrency.add(run) : run();
  }

  /**
   * Opens a streaming request (a watch): resolves with a 2xx response whose body the caller
   * reads and then destroys. The response headers must come within `requestTimeoutMs`; the
   * stream itself has no deadline. Retried as `request` is, until the headers arrive.
   * @throws ApiError for a non-2xx answer; ConnectionLostError, the abort reason, or a timeout Error.
   */
  async stream(req: TransportRequest): Promise<WireResponse> {
    for (let retry = 0; ; retry++) {
      await this.#throttle(req.signal);
      const started = performance.now();
      let code = "<error>";
      const headers = new AbortController();
      const headerTimer = setTimeout(() => headers.abort(new Error(
        `${req.context.verb} ${req.path}: no response headers within ${this.#opts.requestTimeoutMs} ms from the API server at ${this.#host}`,
      )), this.#opts.requestTimeoutMs);
      const signal = req.signal ? AbortSignal.any([req.signal, headers.signal]) : headers.signal;
      let outcome: Outcome;
      try {
        const res = await this.#send(req, undefined, true, signal).finally(() => clearTimeout(headerTimer));
        code = String(res.status);
        if (res.status >= 200 && res.status < 300) return res;
        const text = await readBody(res, req.signal, req);
        outcome = {
          error: errorFromBody(res.status, text, req.context),
          retryAfterMs: req.noRetry ? undefined : retryAfterResponseMs(res.status, res.header("retry-after")),
        };
      } catch (err) {
        if (req.signal?.aborted) throw req.signal.reason ?? err;
        if (headers.signal.aborted) throw headers.signal.reason;
        outcome = { error: err, retryAfterMs: req.noRetry ? undefined : retryAfterErrorMs(req.method, err) };
      } finally {
        this.#observe(req, code, started, retry > 0);
      }
      if (outcome.retryAfterMs === undefined || retry >= MAX_RETRIES) throw outcome.error;
      await sleepOrThrow(outcome.retryAfterMs, req.signal);
    }
  }

  /** Closes idle connections (HTTP/2: each connection once its streams have ended); later requests open new ones. */
  close(): void {
    this.#connector?.close();
  }

  async #throttle(signal: AbortSignal | undefined): Promise<void> {
    // x/time/rate `Wait`: an aborted wait gives its token back.
    await this.#rateLimit?.wait(signal);
  }

  #observe(req: TransportRequest, code: string, started: number, isRetry: boolean): void {
    this.#requestsTotal?.inc({ code, method: req.method, host: this.#host });
    if (isRetry) this.#retriesTotal?.inc({ code, method: req.method, host: this.#host });
    this.#requestDuration?.observe({ verb: req.method, host: this.#host }, (performance.now() - started) / 1000);
  }

  async #authentication(): Promise<Authentication> {
    const now = performance.now();
    if (this.#auth && now - this.#auth.at < AUTH_REFRESH_MS) return this.#auth;
    this.#authPending ??= (async () => {
      try {
        const opts: https.RequestOptions = { headers: {} };
        await this.#opts.kubeConfig.applyToHTTPSOptions(opts);
        const headers: Record<string, string | readonly string[]> = {};
        for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k] = String(v);
        if (opts.auth) headers["Authorization"] = `Basic ${Buffer.from(opts.auth).toString("base64")}`;
        if (this.#opts.impersonate) {
          for (const k of Object.keys(headers)) if (/^impersonate-/i.test(k)) delete headers[k];
          Object.assign(headers, impersonationHeaders(this.#opts.impersonate));
        }
        const tls: TlsOptions = {
          ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
          ...(opts.cert !== undefined ? { cert: opts.cert } : {}),
          ...(opts.key !== undefined ? { key: opts.key } : {}),
          ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
          ...(opts.servername !== undefined ? { servername: opts.servername } : {}),
        };
        const proxied = Boolean(this.#opts.kubeConfig.getCurrentCluster()?.proxyUrl) && opts.agent instanceof http.Agent;
        this.#auth = { at: performance.now(), headers, tls, proxyAgent: proxied ? opts.agent as http.Agent : undefined };
        return this.#auth;
      } finally {
        this.#authPending = undefined;
      }
    })();
    return this.#authPending;
  }

  /** The connector, made on first use with the kubeconfig's TLS material (read once). */
  #connectorFor(auth: Authentication): Connector {
    if (this.#connector) return this.#connector;
    const http2 = (this.#opts.protocol ?? "http2") === "http2" && this.#server.protocol === "https:" && !auth.proxyAgent;
    this.#connector = http2
      ? new Http2Connector({ server: this.#server, tls: auth.tls, ...(this.#opts.http2Connections !== undefined ? { connections: this.#opts.http2Connections } : {}) })
      : new Http1Connector({ server: this.#server, tls: auth.tls, agent: auth.proxyAgent });
    return this.#connector;
  }

  async #send(req: TransportRequest, body: Buffer | undefined, streaming: boolean, signal: AbortSignal): Promise<WireResponse> {
    signal.throwIfAborted();
    const auth = await this.#authentication();
    const headers: Record<string, string | readonly string[]> = { ...auth.headers, "Accept": "application/json", "User-Agent": this.#opts.userAgent };
    if (body) headers["Content-Type"] = req.contentType ?? "application/json";
    const query = req.query?.toString();
    const wire: WireRequest = { method: req.method, pathAndQuery: query ? `${req.path}?${query}` : req.path, headers, body, streaming };
    const connector = this.#connectorFor(auth);
    try {
      return await connector.send(wire, signal);
    } catch (err) {
      if (!(err instanceof Http2NotNegotiatedError)) throw err;
      // The server speaks HTTP/1.1 only: use it from now on.
      let fallback = this.#connector;
      if (!fallback || fallback === connector) {
        fallback = new Http1Connector({ server: this.#server, tls: auth.tls, agent: auth.proxyAgent });
        this.#connector = fallback;
      }
      return fallback.send(wire, signal);
    }
  }
}

/**
 * Reads a whole response body.
 * @throws the abort reason when `signal` aborted; ConnectionLostError when the body ended early or the connection broke.
 */
async function readBody(res: WireResponse, signal: AbortSignal | undefined, req: TransportRequest): Promise<string> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of res.body) chunks.push(chunk);
  } catch (err) {
    if (signal?.aborted) throw signal.reason ?? err;
    throw new ConnectionLostError(`${req.context.verb} ${req.path}: the connection broke while reading the response: ${(err as Error).message}`, { cause: err });
  }
  if (!res.complete) {
    if (signal?.aborted) throw signal.reason;
    throw new ConnectionLostError(`${req.context.verb} ${req.path}: the connection closed before the response ended`);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Builds an ApiError from a response body: a `metav1.Status` when it is one, else a synthesised Status with the text. */
export function errorFromBody(statusCode: number, text: string, context: ApiErrorContext): ApiError {
  let status: Status | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === "object" && (parsed as Status).kind === "Status") status = parsed as Status;
  } catch {
    // not JSON: keep the text as the message
  }
  status ??= { kind: "Status", apiVersion: "v1", status: "Failure", code: statusCode, message: text.trim().slice(0, 500) || `HTTP ${statusCode}` };
  return new ApiError(statusCode, status, context);
}
