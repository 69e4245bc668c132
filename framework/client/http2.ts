import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from "node:http2";
import { isIP } from "node:net";
import tls from "node:tls";
import {
  ConnectionLostError, Http2NotNegotiatedError, isConnectionLostCode, type Connector, type TlsOptions, type WireRequest, type WireResponse,
} from "./connection.ts";

/**
 * Streams a session carries before the server's SETTINGS say otherwise (golang.org/x/net/http2
 * `initialMaxConcurrentStreams`; kube-apiserver announces 100 by default).
 */
const INITIAL_MAX_STREAMS = 100;
/** Upper bound on a server's SETTINGS_MAX_CONCURRENT_STREAMS we use (x/net/http2 `defaultMaxConcurrentStreams`). */
const MAX_STREAMS_CAP = 1000;
/** Receive window of each stream: 4 MiB, as x/net/http2's transport (`transportDefaultStreamFlow`). */
const STREAM_WINDOW_BYTES = 4 << 20;
/** Receive window of the whole connection: 1 GiB, as x/net/http2's transport (`transportDefaultConnFlow`). */
const CONNECTION_WINDOW_BYTES = 1 << 30;
/** node:http2 `maxSessionMemory` in MiB (default 10): room for many streams of a large LIST in flight. */
const SESSION_MEMORY_MIB = 256;
/** client-go's HTTP/2 health check: PING a connection with streams open every 30 s (`HTTP2_READ_IDLE_TIMEOUT_SECONDS`) ... */
const PING_INTERVAL_MS = 30_000;
/** ... and drop it when the PING is not answered within 15 s (`HTTP2_PING_TIMEOUT_SECONDS`). */
const PING_TIMEOUT_MS = 15_000;
/** TCP connect plus TLS handshake (net/http's `TLSHandshakeTimeout` is 10 s, the dialer's 30 s). */
const DIAL_TIMEOUT_MS = 30_000;
/** Times a request the server provably did not process (REFUSED_STREAM, GOAWAY) is sent again on another connection. */
const MAX_RESENDS = 5;

/** Options of {@link Http2Connector}. */
export interface Http2ConnectorOptions {
  /** `https:` URL of the API server. */
  server: URL;
  tls: TlsOptions;
  /**
   * Connections opened before a new one is needed: streams go to the least busy of them. 1 (the
   * default) is client-go's behaviour: one connection, another only when the server's
   * SETTINGS_MAX_CONCURRENT_STREAMS is reached.
   */
  connections?: number;
  /** Upper bound on connections (default 16); beyond it requests wait for a free stream. */
  maxConnections?: number;
}

/** One HTTP/2 connection and its streams in flight. */
interface Session {
  readonly session: ClientHttp2Session;
  /** Streams open or about to open. */
  active: number;
  /** The server's SETTINGS_MAX_CONCURRENT_STREAMS (capped). */
  maxStreams: number;
  /** False once GOAWAY arrived or the connection broke: no new streams. */
  usable: boolean;
  readonly pingTimer: NodeJS.Timeout;
}

/**
 * HTTP/2 over TLS (ALPN `h2`) with node:http2: every request and every watch is a stream on one
 * connection, as client-go does with golang.org/x/net/http2. A new connection is opened only
 * when the server's SETTINGS_MAX_CONCURRENT_STREAMS is reached on the existing ones, or when one
 * was lost or sent GOAWAY (its streams in flight run to their end; new ones go elsewhere).
 * Requests the server provably did not process (REFUSED_STREAM, a stream above GOAWAY's last
 * stream id) are sent again on another connection, whatever the verb. Connections with streams
 * in flight are PINGed every 30 s and dropped when the PING is not answered within 15 s.
 */
export class Http2Connector implements Connector {
  readonly protocol = "HTTP/2";
  readonly #server: URL;
  readonly #tls: TlsOptions;
  readonly #connections: number;
  readonly #maxConnections: number;
  #sessions: Session[] = [];
  /** The server's SETTINGS_MAX_CONCURRENT_STREAMS as last announced: a new connection starts with it. */
  #serverMaxStreams = INITIAL_MAX_STREAMS;
  #dialing: Promise<void> | undefined;
  #waiters = new Set<() => void>();

  constructor(opts: Http2ConnectorOptions) {
    if (opts.server.protocol !== "https:") throw new Error(`HTTP/2 needs an https: server URL, got ${opts.server.href}`);
    this.#server = opts.server;
    this.#tls = opts.tls;
    this.#connections = Math.max(1, Math.floor(opts.connections ?? 1));
    this.#maxConnections = Math.max(this.#connections, Math.floor(opts.maxConnections ?? 16));
  }

  /** Connections open now (for tests and diagnostics). */
  get connectionCount(): number {
    return this.#sessions.length;
  }

  async send(req: WireRequest, signal: AbortSignal | undefined): Promise<WireResponse> {
    for (let resend = 0; ; resend++) {
      const session = await this.#acquire(signal);
      try {
        return await this.#request(session, req, signal);
      } catch (err) {
        if (err instanceof ConnectionLostError && err.unprocessed && resend < MAX_RESENDS && !signal?.aborted) continue;
        throw err;
      }
    }
  }

  close(): void {
    const sessions = this.#sessions;
    this.#sessions = [];
    for (const s of sessions) {
      s.usable = false;
      // Graceful: streams in flight run to their end, then the connection closes.
      if (!s.session.closed) s.session.close();
    }
  }

  /** Reserves a stream on a usable connection, dialing one when every connection is full. */
  async #acquire(signal: AbortSignal | undefined): Promise<Session> {
    for (;;) {
      signal?.throwIfAborted();
      const usable = this.#sessions.filter((s) => s.usable && s.active < s.maxStreams);
      const warmingUp = this.#sessions.length < this.#connections;
      if (!this.#dialing && this.#sessions.length < this.#maxConnections && (usable.length === 0 || warmingUp)) {
        const dialing = this.#dial().finally(() => {
          this.#dialing = undefined;
          this.#wake();
        });
        dialing.catch(() => undefined); // a dial nobody waits for (a pool warming up) must not reject unhandled
        this.#dialing = dialing;
      }
      // First fit with one connection (client-go); the least busy one of a pool.
      const chosen = this.#connections === 1 ? usable[0] : usable.sort((a, b) => a.active - b.active)[0];
      if (chosen) {
        if (chosen.active++ === 0) chosen.session.ref();
        return chosen;
      }
      await abortable(this.#dialing ?? new Promise<void>((resolve) => this.#waiters.add(resolve)), signal);
    }
  }

  #release(session: Session): void {
    if (--session.active === 0 && !session.session.destroyed) session.session.unref();
    this.#wake();
  }

  #wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w();
  }

  #drop(session: Session): void {
    session.usable = false;
    this.#sessions = this.#sessions.filter((s) => s !== session);
    this.#wake();
  }

  async #dial(): Promise<void> {
    const host = this.#server.hostname.replace(/^\[(.*)\]$/, "$1");
    const port = Number(this.#server.port || 443);
    const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({
        host, port, ALPNProtocols: ["h2", "http/1.1"],
        ...(this.#tls.ca !== undefined ? { ca: this.#tls.ca } : {}),
        ...(this.#tls.cert !== undefined ? { cert: this.#tls.cert } : {}),
        ...(this.#tls.key !== undefined ? { key: this.#tls.key } : {}),
        ...(this.#tls.rejectUnauthorized !== undefined ? { rejectUnauthorized: this.#tls.rejectUnauthorized } : {}),
        ...(this.#tls.servername !== undefined ? { servername: this.#tls.servername } : isIP(host) ? {} : { servername: host }),
      });
      const timer = setTimeout(() => s.destroy(new Error(`connecting to ${this.#server.host} took longer than ${DIAL_TIMEOUT_MS} ms`)), DIAL_TIMEOUT_MS);
      const onError = (err: Error): void => {
        clearTimeout(timer);
        reject(err);
      };
      s.once("error", onError);
      s.once("secureConnect", () => {
        clearTimeout(timer);
        s.off("error", onError);
        resolve(s);
      });
    });
    if (socket.alpnProtocol !== "h2") {
      socket.destroy();
      throw new Http2NotNegotiatedError(this.#server.host, socket.alpnProtocol);
    }
    socket.setKeepAlive(true, 30_000);
    socket.setNoDelay(true);
    const session = http2.connect(this.#server.origin, {
      createConnection: () => socket,
      settings: { enablePush: false, initialWindowSize: STREAM_WINDOW_BYTES },
      maxSessionMemory: SESSION_MEMORY_MIB,
    });
    const entry: Session = {
      session, active: 0, maxStreams: this.#serverMaxStreams, usable: true,
      pingTimer: setInterval(() => this.#healthCheck(entry), PING_INTERVAL_MS).unref(),
    };
    session.once("connect", () => {
      try {
        session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
      } catch {
        // the session closed meanwhile
      }
    });
    session.on("remoteSettings", (settings) => {
      const max = settings.maxConcurrentStreams;
      entry.maxStreams = max === undefined ? INITIAL_MAX_STREAMS : Math.max(1, Math.min(MAX_STREAMS_CAP, max));
      this.#serverMaxStreams = entry.maxStreams;
      this.#wake();
    });
    // GOAWAY: the server finishes streams up to its last stream id; new ones go to a new connection.
    session.on("goaway", () => this.#drop(entry));
    session.on("error", () => this.#drop(entry));
    session.on("close", () => {
      clearInterval(entry.pingTimer);
      this.#drop(entry);
    });
    session.unref();
    this.#sessions.push(entry);
  }

  #healthCheck(entry: Session): void {
    if (entry.active === 0 || entry.session.destroyed) return;
    const timer = setTimeout(() => {
      entry.session.destroy(new ConnectionLostError(`http2: client connection lost: no PING answer from ${this.#server.host} within ${PING_TIMEOUT_MS} ms`));
    }, PING_TIMEOUT_MS).unref();
    try {
      entry.session.ping(() => clearTimeout(timer));
    } catch {
      clearTimeout(timer);
    }
  }

  #request(entry: Session, req: WireRequest, signal: AbortSignal | undefined): Promise<WireResponse> {
    const headers: http2.OutgoingHttpHeaders = { ":method": req.method, ":path": req.pathAndQuery };
    for (const [name, value] of Object.entries(req.headers)) {
      const lower = name.toLowerCase();
      if (lower === "host" || lower === "connection" || lower === "keep-alive" || lower === "transfer-encoding") continue;
      headers[lower] = typeof value === "string" ? value : [...value];
    }
    if (req.body) headers["content-length"] = req.body.length;
    let stream: ClientHttp2Stream;
    try {
      stream = entry.session.request(headers, { endStream: req.body === undefined });
    } catch (err) {
      this.#release(entry);
      if (isConnectionLostCode(err)) {
        // The session was closing or gone before anything was sent.
        this.#drop(entry);
        throw new ConnectionLostError(`${req.method} ${pathOf(req)}: the HTTP/2 connection to ${this.#server.host} was closing: ${(err as Error).message}`, { unprocessed: true, cause: err });
      }
      throw err;
    }
    return new Promise<WireResponse>((resolve, reject) => {
      let responded = false;
      const onAbort = (): void => {
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
        if (!responded) reject(signal?.reason);
      };
      if (signal?.aborted) onAbort();
      else signal?.addEventListener("abort", onAbort, { once: true });
      // Kept for the stream's life: after the response the body's reader sees the error.
      stream.on("error", (err) => {
        if (!responded) reject(signal?.aborted ? signal.reason : this.#lost(req, stream, err));
      });
      stream.once("response", (responseHeaders) => {
        responded = true;
        resolve(new Http2Response(stream, responseHeaders));
      });
      stream.once("close", () => {
        signal?.removeEventListener("abort", onAbort);
        this.#release(entry);
        if (!responded) reject(signal?.aborted ? signal.reason : this.#lost(req, stream, undefined));
      });
      if (req.body) stream.end(req.body);
    });
  }

  #lost(req: WireRequest, stream: ClientHttp2Stream, err: Error | undefined): Error {
    const refused = stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM || (err as { code?: string } | undefined)?.code === "ERR_HTTP2_GOAWAY_SESSION";
    if (err && !isConnectionLostCode(err)) return err;
    const why = refused ? "the server refused the stream (not processed)" : err ? err.message : `the stream closed before the response (RST_STREAM code ${stream.rstCode ?? "none"})`;
    return new ConnectionLostError(`${req.method} ${pathOf(req)}: HTTP/2 connection to ${this.#server.host}: ${why}`, { unprocessed: refused, cause: err });
  }
}

function pathOf(req: WireRequest): string {
  const q = req.pathAndQuery.indexOf("?");
  return q < 0 ? req.pathAndQuery : req.pathAndQuery.slice(0, q);
}

/** Bytes buffered from a response before the stream is paused (and, through flow control, the server). */
const BODY_HIGH_WATER_BYTES = 1 << 20;

/**
 * A response on a stream. Its body is read through 'data' and 'end' listeners attached the
 * moment the headers arrive, not through the stream's own async iterator: that one reports
 * ERR_STREAM_PREMATURE_CLOSE for a stream whose HTTP/2 side has already closed (small responses
 * arrive whole, with END_STREAM) while its data still waits to be read, because node's
 * end-of-stream check reads `Http2Stream.closed` (the protocol state) as "the stream is gone".
 * More than 1 MiB unread pauses the stream, which stops the window updates, so a slow reader
 * holds back the server, not this process's memory.
 */
class Http2Response implements WireResponse {
  readonly #stream: ClientHttp2Stream;
  readonly #headers: IncomingHttpHeaders;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #ended = false;
  #complete = false;
  #closed = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;

  constructor(stream: ClientHttp2Stream, headers: IncomingHttpHeaders) {
    this.#stream = stream;
    this.#headers = headers;
    stream.on("data", (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered > BODY_HIGH_WATER_BYTES) stream.pause();
      this.#notify();
    });
    stream.once("end", () => {
      // node also ends the readable side of a stream the session lost (RST code CANCEL): only
      // an end without an error code is the server's END_STREAM.
      this.#ended = true;
      this.#complete = stream.rstCode === undefined || stream.rstCode === http2.constants.NGHTTP2_NO_ERROR;
      this.#notify();
    });
    stream.once("close", () => {
      this.#closed = true;
      this.#notify();
    });
    stream.on("error", (err) => {
      this.#error ??= err;
      this.#notify();
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  get status(): number {
    return Number(this.#headers[":status"] ?? 0);
  }

  header(name: string): string | undefined {
    const value = this.#headers[name];
    return Array.isArray(value) ? value[0] : value;
  }

  get body(): AsyncIterable<Buffer> {
    return { [Symbol.asyncIterator]: () => this.#iterate() };
  }

  async *#iterate(): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        const chunk = this.#chunks.shift();
        if (chunk) {
          this.#buffered -= chunk.length;
          if (this.#buffered <= BODY_HIGH_WATER_BYTES && this.#stream.isPaused()) this.#stream.resume();
          yield chunk;
          continue;
        }
        if (this.#error) throw this.#error;
        // Ended: the whole body; closed without 'end': cut short (`complete` stays false).
        if (this.#ended || this.#closed) return;
        await new Promise<void>((resolve) => (this.#wake = resolve));
      }
    } finally {
      // Broken off early (or done): cancel the stream if it is still open.
      this.destroy();
    }
  }

  get complete(): boolean {
    return this.#complete;
  }

  destroy(): void {
    if (!this.#stream.closed && !this.#stream.destroyed) this.#stream.close(http2.constants.NGHTTP2_CANCEL);
  }
}

/** Resolves with `promise`, or rejects with the abort reason when `signal` aborts first. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => { signal.removeEventListener("abort", onAbort); resolve(v); },
      (e: unknown) => { signal.removeEventListener("abort", onAbort); reject(e); },
    );
  });
}
