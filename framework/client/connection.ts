/**
 * What the REST transport needs from a wire protocol: send one request, get a status, headers and
 * a streamed body. Two implementations: HTTP/1.1 (`http1.ts`, node:http/node:https with
 * keep-alive pools) and HTTP/2 (`http2.ts`, node:http2 sessions multiplexing many streams).
 */
import type { ConnectionOptions } from "node:tls";

/** One HTTP request on the wire: the body already serialised, headers including credentials. */
export interface WireRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Path and query, e.g. `/api/v1/namespaces/a/pods?watch=true`. */
  pathAndQuery: string;
  /** Header names in any case (HTTP/2 lower-cases them). */
  /** A header sent more than once (`Impersonate-Group`) has an array of values. */
  headers: Record<string, string | readonly string[]>;
  body: Buffer | undefined;
  /** A watch: held open for minutes (HTTP/1.1 gives it a socket of its own). */
  streaming: boolean;
}

/** A response whose headers have arrived; the body streams. */
export interface WireResponse {
  /** HTTP status code. */
  readonly status: number;
  /** A response header (name in lower case), or undefined. */
  header(name: string): string | undefined;
  /** The body, chunk by chunk; reading it is what opens the flow-control window (HTTP/2). */
  readonly body: AsyncIterable<Buffer>;
  /** True once the whole body has arrived (HTTP/1.1 message complete, HTTP/2 END_STREAM). */
  readonly complete: boolean;
  /** Stops the response: the HTTP/1.1 socket is closed, the HTTP/2 stream cancelled (RST_STREAM CANCEL). */
  destroy(): void;
}

/** One wire protocol to one API server. */
export interface Connector {
  /** `HTTP/1.1` or `HTTP/2`. */
  readonly protocol: string;
  /**
   * Sends a request; resolves when the response headers arrive. `signal` aborts the request,
   * also while its body is read.
   * @throws ConnectionLostError when the connection broke; the abort reason when `signal` aborted;
   * Http2NotNegotiatedError (HTTP/2 only) when the server does not speak HTTP/2.
   */
  send(req: WireRequest, signal: AbortSignal | undefined): Promise<WireResponse>;
  /** Closes idle connections; streams in flight keep running until they end or are aborted. */
  close(): void;
}

/**
 * The connection to the API server broke: reset, closed before the response ended (EOF), or the
 * HTTP/2 session was lost. client-go retries a GET after these (`net.IsConnectionReset`,
 * `IsProbableEOF`, `IsHTTP2ConnectionLost` in rest/request.go); nothing else.
 */
export class ConnectionLostError extends Error {
  /**
   * True when the server provably did not process the request (HTTP/2 REFUSED_STREAM, or a
   * stream above the GOAWAY's last stream id): safe to send again whatever the verb, as
   * golang.org/x/net/http2's transport does.
   */
  readonly unprocessed: boolean;
  /** Node's error code (`ECONNRESET`, `ERR_HTTP2_STREAM_ERROR`, ...) when there was one. */
  readonly code: string | undefined;

  constructor(message: string, opts: { unprocessed?: boolean; cause?: unknown; code?: string | undefined } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = "ConnectionLostError";
    this.unprocessed = opts.unprocessed ?? false;
    this.code = opts.code ?? (opts.cause as { code?: string } | undefined)?.code;
  }
}

/** The server did not select `h2` in the TLS handshake (ALPN): fall back to HTTP/1.1. */
export class Http2NotNegotiatedError extends Error {
  constructor(server: string, selected: string | false | null) {
    super(`the API server at ${server} did not negotiate HTTP/2 (ALPN selected ${JSON.stringify(selected || "nothing")})`);
    this.name = "Http2NotNegotiatedError";
  }
}

/** Node error codes that mean "the peer reset or closed the connection" (client-go: connection reset, probable EOF). */
const LOST_CODES = new Set([
  "ECONNRESET", "EPIPE", "ECONNABORTED", "ERR_STREAM_PREMATURE_CLOSE",
  "ERR_HTTP2_STREAM_ERROR", "ERR_HTTP2_SESSION_ERROR", "ERR_HTTP2_STREAM_CANCEL", "ERR_HTTP2_GOAWAY_SESSION",
  "ERR_HTTP2_INVALID_SESSION", "ERR_HTTP2_PING_CANCEL", "ERR_HTTP2_ERROR",
]);

/** True for a Node network error that client-go would call a connection reset or EOF. */
export function isConnectionLostCode(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && LOST_CODES.has(code);
}

/** TLS material from the kubeconfig, for both protocols. */
export type TlsOptions = Pick<ConnectionOptions, "ca" | "cert" | "key" | "rejectUnauthorized" | "servername">;
