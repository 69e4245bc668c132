import http from "node:http";
import https from "node:https";
import { setTimeout as delay } from "node:timers/promises";
import type { IncomingMessage } from "node:http";
import type { KubeConfig } from "@kubernetes/client-node";
import PQueue from "p-queue";
import { TokenBucket } from "../flowcontrol/index.ts";
import { Counter, Histogram, type Registry } from "prom-client";
import { ApiError, type ApiErrorContext } from "./errors.ts";
import type { Status } from "./types.ts";

/** Options of the HTTP transport (see `createClient`). */
export interface TransportOptions {
  kubeConfig: KubeConfig;
  userAgent: string;
  metrics?: Registry;
  maxConcurrentRequests?: number;
  qps?: number;
  burst?: number;
  requestTimeoutMs: number;
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
  /** Never retry, even on 429 (evictions: there 429 means a disruption budget says no). */
  noRetry?: boolean;
}

/** Credentials and the two connection pools built from the kubeconfig. */
interface Authentication {
  at: number;
  headers: Record<string, string>;
  /** Pool of watches: unbounded, each watch holds a socket while it runs. */
  watchAgent: http.Agent;
  /** Pool of plain requests: at most `REQUEST_SOCKETS` connections, more requests wait for one. */
  requestAgent: http.Agent;
}

/**
 * Connections for plain requests. HTTP/1.1 needs one per request in flight; a burst of hundreds
 * of creates would otherwise open (and TLS-handshake) hundreds of connections, which costs the
 * API server and this process more than queueing on a few dozen kept-alive ones. (client-go
 * multiplexes everything over one HTTP/2 connection.)
 */
const REQUEST_SOCKETS = 32;

/** Attempts of a request the server asks to retry (client-go's `maxRetries` is 10). */
const MAX_ATTEMPTS = 10;

/** The wait a 429, or a GET's 5xx with `Retry-After`, asks for (1 s when unspecified, at most 60 s); undefined when not retryable. */
function retryAfter(res: IncomingMessage, status: number, method: string): number | undefined {
  const header = res.headers["retry-after"];
  const seconds = header !== undefined ? Number(header) : NaN;
  const retryable = status === 429 || (status >= 500 && method === "GET" && header !== undefined);
  if (!retryable) return undefined;
  return Math.min(60, Number.isFinite(seconds) && seconds >= 0 ? seconds : 1) * 1000;
}

/** How long request headers from the kubeconfig (tokens from exec plugins, token files) are reused. */
const AUTH_REFRESH_MS = 60_000;

/**
 * Sends requests with node:https, authenticating with what `@kubernetes/client-node` derives from
 * the kubeconfig (CA, client certificate, bearer token, exec plugins). Plain requests get a
 * deadline; watches stream without one.
 */
export class Transport {
  readonly #opts: TransportOptions;
  readonly #server: URL;
  readonly #host: string;
  #auth: Authentication | undefined;
  #authPending: Promise<Authentication> | undefined;
  readonly #rateLimit: TokenBucket | undefined;
  readonly #concurrency: PQueue | undefined;
  readonly #requestsTotal: Counter<"code" | "method" | "host"> | undefined;
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
      this.#requestsTotal = (opts.metrics.getSingleMetric("rest_client_requests_total") as Counter<"code" | "method" | "host"> | undefined)
        ?? new Counter({ name: "rest_client_requests_total", help: "Number of HTTP requests, partitioned by status code, method, and host.", labelNames: ["code", "method", "host"], registers: [opts.metrics] });
      this.#requestDuration = (opts.metrics.getSingleMetric("rest_client_request_duration_seconds") as Histogram<"verb" | "host"> | undefined)
        ?? new Histogram({
          name: "rest_client_request_duration_seconds", help: "Request latency in seconds. Broken down by verb and host.", labelNames: ["verb", "host"],
          buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60], registers: [opts.metrics],
        });
    }
  }

  /**
   * Sends a request and returns the parsed JSON body. A 429 (API Priority and Fairness rejected
   * the request before running it), or a 5xx with `Retry-After` on a GET, is retried after the
   * server's `Retry-After` (at most 10 attempts, like client-go).
   * @throws ApiError for a non-2xx answer; the abort reason or a timeout Error otherwise.
   */
  async request(req: TransportRequest): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      const result = await this.#attempt(req);
      if (!("retryAfterMs" in result)) return result.body;
      if (attempt >= MAX_ATTEMPTS) throw result.error;
      await delay(result.retryAfterMs, undefined, req.signal ? { signal: req.signal } : {});
    }
  }

  async #attempt(req: TransportRequest): Promise<{ body: unknown } | { retryAfterMs: number; error: ApiError }> {
    await this.#throttle(req.signal);
    const run = async (): Promise<{ body: unknown } | { retryAfterMs: number; error: ApiError }> => {
      const timeout = AbortSignal.timeout(this.#opts.requestTimeoutMs);
      const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
      const started = performance.now();
      let code = "<error>";
      try {
        const res = await this.#send(req, signal);
        const status = res.statusCode ?? 0;
        code = String(status);
        const text = await readBody(res, signal);
        if (status >= 200 && status < 300) return { body: text ? JSON.parse(text) : {} };
        const error = errorFromBody(status, text, req.context);
        const retryAfterMs = req.noRetry ? undefined : retryAfter(res, status, req.method);
        if (retryAfterMs !== undefined) return { retryAfterMs, error };
        throw error;
      } catch (err) {
        if (timeout.aborted && !req.signal?.aborted) {
          throw new Error(`${req.context.verb} ${req.path} timed out after ${this.#opts.requestTimeoutMs} ms: the API server at ${this.#host} did not answer in time`, { cause: err });
        }
        throw err;
      } finally {
        this.#observe(req, code, started);
      }
    };
    return this.#concurrency ? this.#concurrency.add(run) : run();
  }

  /** Opens a streaming request (a watch). The response is 2xx; the caller consumes and destroys it. @throws ApiError for a non-2xx answer. */
  async stream(req: TransportRequest): Promise<IncomingMessage> {
    await this.#throttle(req.signal);
    const started = performance.now();
    let code = "<error>";
    // The response headers must come within the request timeout; the stream itself has none.
    const headers = new AbortController();
    const headerTimer = setTimeout(() => headers.abort(new Error(
      `${req.context.verb} ${req.path}: no response headers within ${this.#opts.requestTimeoutMs} ms from the API server at ${this.#host}`,
    )), this.#opts.requestTimeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, headers.signal]) : headers.signal;
    try {
      const res = await this.#send(req, signal, true).finally(() => clearTimeout(headerTimer));
      code = String(res.statusCode ?? 0);
      if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) {
        const text = await readBody(res, req.signal);
        throw errorFromBody(res.statusCode ?? 0, text, req.context);
      }
      return res;
    } finally {
      this.#observe(req, code, started);
    }
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.#auth?.requestAgent.destroy();
    this.#auth?.watchAgent.destroy();
  }

  async #throttle(signal: AbortSignal | undefined): Promise<void> {
    // x/time/rate `Wait`: an aborted wait gives its token back.
    await this.#rateLimit?.wait(signal);
  }

  #observe(req: TransportRequest, code: string, started: number): void {
    this.#requestsTotal?.inc({ code, method: req.method, host: this.#host });
    this.#requestDuration?.observe({ verb: req.method, host: this.#host }, (performance.now() - started) / 1000);
  }

  async #authentication(): Promise<Authentication> {
    const now = performance.now();
    if (this.#auth && now - this.#auth.at < AUTH_REFRESH_MS) return this.#auth;
    this.#authPending ??= (async () => {
      try {
        const opts: https.RequestOptions = { headers: {} };
        await this.#opts.kubeConfig.applyToHTTPSOptions(opts);
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k] = String(v);
        if (opts.auth) headers["Authorization"] = `Basic ${Buffer.from(opts.auth).toString("base64")}`;
        const cluster = this.#opts.kubeConfig.getCurrentCluster();
        const newAgent = (maxSockets: number): http.Agent => {
          if (cluster?.proxyUrl && opts.agent instanceof http.Agent) return opts.agent;
          if (this.#server.protocol === "http:") return new http.Agent({ keepAlive: true, keepAliveMsecs: 30_000, maxSockets });
          // Our own agent: keep-alive with TCP keep-alive probes, so a dead peer breaks a watch instead of stalling it.
          return new https.Agent({
            keepAlive: true, keepAliveMsecs: 30_000, maxSockets,
            ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
            ...(opts.cert !== undefined ? { cert: opts.cert } : {}),
            ...(opts.key !== undefined ? { key: opts.key } : {}),
            ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
            ...(opts.servername !== undefined ? { servername: opts.servername } : {}),
          });
        };
        this.#auth = {
          at: performance.now(), headers,
          // Watches hold their socket for minutes: a pool of their own, unbounded.
          watchAgent: this.#auth?.watchAgent ?? newAgent(Infinity),
          requestAgent: this.#auth?.requestAgent ?? newAgent(REQUEST_SOCKETS),
        };
        return this.#auth;
      } finally {
        this.#authPending = undefined;
      }
    })();
    return this.#authPending;
  }

  async #send(req: TransportRequest, signal: AbortSignal | undefined, streaming = false): Promise<IncomingMessage> {
    signal?.throwIfAborted();
    const auth = await this.#authentication();
    const authHeaders = auth.headers;
    const agent = streaming ? auth.watchAgent : auth.requestAgent;
    const url = new URL(this.#server.href.replace(/\/$/, "") + req.path);
    if (req.query) url.search = req.query.toString();
    const body = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers: Record<string, string> = {
      ...authHeaders,
      "Accept": "application/json",
      "User-Agent": this.#opts.userAgent,
    };
    if (body) {
      headers["Content-Type"] = req.contentType ?? "application/json";
      headers["Content-Length"] = String(body.length);
    }
    const mod = url.protocol === "http:" ? http : https;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const request = mod.request(url, { method: req.method, headers, agent, ...(signal ? { signal } : {}) }, resolve);
      request.on("error", (err) => reject(signal?.aborted ? (signal.reason ?? err) : err));
      request.end(body);
    });
  }
}

async function readBody(res: IncomingMessage, signal: AbortSignal | undefined): Promise<string> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of res) chunks.push(chunk as Buffer);
  } catch (err) {
    if (signal?.aborted) throw signal.reason ?? err;
    throw err;
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
