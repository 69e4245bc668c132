import http from "node:http";
import https from "node:https";
import type { IncomingMessage } from "node:http";
import { ConnectionLostError, isConnectionLostCode, type Connector, type TlsOptions, type WireRequest, type WireResponse } from "./connection.ts";

/**
 * Connections for plain requests. HTTP/1.1 needs one per request in flight; a burst of hundreds
 * of creates would otherwise open (and TLS-handshake) hundreds of connections, which costs the
 * API server and this process more than queueing on a few dozen kept-alive ones.
 */
const REQUEST_SOCKETS = 32;

/** Options of {@link Http1Connector}. */
export interface Http1ConnectorOptions {
  server: URL;
  tls: TlsOptions;
  /** An agent to use for everything instead of ours (an HTTP proxy's, from the kubeconfig). */
  agent?: http.Agent | undefined;
}

/**
 * HTTP/1.1 over node:http/node:https, two keep-alive pools: watches (unbounded: each holds its
 * socket while it runs) and plain requests (at most 32 connections; more requests wait for one).
 * TCP keep-alive probes are on, so a dead peer breaks a watch instead of stalling it.
 */
export class Http1Connector implements Connector {
  readonly protocol = "HTTP/1.1";
  readonly #server: URL;
  readonly #watchAgent: http.Agent;
  readonly #requestAgent: http.Agent;

  constructor(opts: Http1ConnectorOptions) {
    this.#server = opts.server;
    const newAgent = (maxSockets: number): http.Agent => {
      if (opts.agent) return opts.agent;
      if (opts.server.protocol === "http:") return new http.Agent({ keepAlive: true, keepAliveMsecs: 30_000, maxSockets });
      return new https.Agent({
        keepAlive: true, keepAliveMsecs: 30_000, maxSockets,
        ...(opts.tls.ca !== undefined ? { ca: opts.tls.ca } : {}),
        ...(opts.tls.cert !== undefined ? { cert: opts.tls.cert } : {}),
        ...(opts.tls.key !== undefined ? { key: opts.tls.key } : {}),
        ...(opts.tls.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.tls.rejectUnauthorized } : {}),
        ...(opts.tls.servername !== undefined ? { servername: opts.tls.servername } : {}),
      });
    };
    this.#watchAgent = newAgent(Infinity);
    this.#requestAgent = newAgent(REQUEST_SOCKETS);
  }

  send(req: WireRequest, signal: AbortSignal | undefined): Promise<WireResponse> {
    signal?.throwIfAborted();
    const url = new URL(this.#server.href.replace(/\/$/, "") + req.pathAndQuery);
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) headers[name] = typeof value === "string" ? value : [...value];
    if (req.body) headers["Content-Length"] = String(req.body.length);
    const mod = url.protocol === "http:" ? http : https;
    const agent = req.streaming ? this.#watchAgent : this.#requestAgent;
    return new Promise<WireResponse>((resolve, reject) => {
      const request = mod.request(url, { method: req.method, headers, agent, ...(signal ? { signal } : {}) }, (res) => resolve(new Http1Response(res)));
      request.on("error", (err) => {
        if (signal?.aborted) return reject(signal.reason ?? err);
        if (isConnectionLostCode(err)) {
          return reject(new ConnectionLostError(`${req.method} ${url.pathname}: the connection to ${url.host} was lost: ${err.message}`, { cause: err }));
        }
        reject(err);
      });
      request.end(req.body);
    });
  }

  /** Destroys the idle sockets of both pools; sockets in use finish their request and are then kept idle (unref'ed). */
  close(): void {
    for (const agent of new Set([this.#requestAgent, this.#watchAgent])) {
      for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
    }
  }
}

class Http1Response implements WireResponse {
  readonly #res: IncomingMessage;

  constructor(res: IncomingMessage) {
    this.#res = res;
  }

  get status(): number {
    return this.#res.statusCode ?? 0;
  }

  header(name: string): string | undefined {
    const value = this.#res.headers[name];
    return Array.isArray(value) ? value[0] : value;
  }

  get body(): AsyncIterable<Buffer> {
    return this.#res as AsyncIterable<Buffer>;
  }

  get complete(): boolean {
    return this.#res.complete;
  }

  destroy(): void {
    this.#res.destroy();
  }
}
