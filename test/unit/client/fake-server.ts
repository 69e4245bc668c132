// A fake API server on 127.0.0.1 for the client's transport tests, in three kinds:
// - "http1": plain HTTP/1.1 (http:), the client speaks HTTP/1.1;
// - "http2": TLS offering h2 and http/1.1 (ALPN), the client's default picks HTTP/2;
// - "http1-tls": the same TLS server, the client told `transport: "http1"`;
// and "tls-http1-only": TLS offering http/1.1 only (the default client falls back).
// The TLS server asks for a client certificate (test CA in ./fixtures) and records the peer's CN.
import http from "node:http";
import https from "node:https";
import http2 from "node:http2";
import { readFileSync } from "node:fs";
import type { AddressInfo, Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { createClient, KubeConfig, type ClientOptions, type KubeClient } from "../../../framework/client/index.ts";

export type ServerKind = "http1" | "http2" | "http1-tls" | "tls-http1-only";
export const transportKinds: readonly ServerKind[] = ["http1", "http2", "http1-tls"];

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
export const testCa = fixture("ca.crt");
export const clientCert = { cert: fixture("client.crt"), key: fixture("client.key") };

/** What the server saw of one request. */
export interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  authorization: string | undefined;
  httpVersion: string;
  /** CN of the client certificate, when one was presented. */
  peerCommonName: string | undefined;
  body: string;
}

/** The request and response as a handler sees them (node:http and the node:http2 compatibility API alike). */
export type FakeRequest = http.IncomingMessage | http2.Http2ServerRequest;
/** The part of node:http's and node:http2's response the handlers use. */
export interface FakeResponse {
  writeHead(statusCode: number, headers?: Record<string, string>): unknown;
  write(chunk: string): unknown;
  end(chunk?: string): unknown;
  on(event: "close", listener: () => void): unknown;
}

/** Handler helpers. */
export interface Wire {
  /** Breaks the connection under this request (HTTP/1.1: destroys the socket; HTTP/2: destroys the session). */
  cut(): void;
}

export interface FakeServer {
  seen: Seen[];
  client: KubeClient;
  url: string;
  /** TCP connections accepted so far. */
  connections(): number;
  /** HTTP/2 sessions (TLS server only). */
  h2Sessions: Set<http2.ServerHttp2Session>;
  server: http.Server | https.Server | http2.Http2SecureServer;
  /** Another client to the same server. */
  newClient(opts?: Omit<ClientOptions, "kubeConfig">): KubeClient;
  close(): Promise<void>;
}

export interface FakeServerOptions {
  client?: Omit<ClientOptions, "kubeConfig">;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS of the server (node's default: unlimited). */
  maxConcurrentStreams?: number;
  /** Present the test client certificate instead of a bearer token. */
  clientCertificate?: boolean;
}

export async function fakeServer(
  kind: ServerKind,
  handler: (req: FakeRequest, res: FakeResponse, body: string, wire: Wire) => void,
  opts: FakeServerOptions = {},
): Promise<FakeServer> {
  const seen: Seen[] = [];
  const h2Sessions = new Set<http2.ServerHttp2Session>();
  let connections = 0;
  const onRequest = (req: FakeRequest, res: http.ServerResponse | http2.Http2ServerResponse): void => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const socket = req.socket as TLSSocket;
      const peer = typeof socket.getPeerCertificate === "function" ? socket.getPeerCertificate() : undefined;
      seen.push({
        method: req.method ?? "", url: req.url ?? "", contentType: req.headers["content-type"], authorization: req.headers["authorization"],
        httpVersion: req.httpVersion, peerCommonName: peer && typeof peer.subject?.CN === "string" ? peer.subject.CN : undefined, body,
      });
      const wire: Wire = {
        cut: () => {
          if ("stream" in req) req.stream.session?.destroy();
          else req.socket.destroy();
        },
      };
      const h2 = res instanceof http2.Http2ServerResponse ? res : undefined;
      const h1 = res instanceof http2.Http2ServerResponse ? undefined : res;
      const response: FakeResponse = {
        writeHead: (status, headers) => (h2 ? h2.writeHead(status, headers) : h1!.writeHead(status, headers)),
        write: (chunk) => (h2 ? h2.write(chunk) : h1!.write(chunk)),
        end: (chunk) => (chunk === undefined ? (h2 ? h2.end() : h1!.end()) : h2 ? h2.end(chunk) : h1!.end(chunk)),
        on: (event, listener) => (h2 ? h2.on(event, listener) : h1!.on(event, listener)),
      };
      handler(req, response, body, wire);
    });
  };
  const tlsOptions = {
    key: fixture("server.key"), cert: fixture("server.crt"), ca: testCa, requestCert: true, rejectUnauthorized: false,
  };
  let server: http.Server | https.Server | http2.Http2SecureServer;
  if (kind === "http1") {
    server = http.createServer(onRequest);
  } else if (kind === "tls-http1-only") {
    server = https.createServer({ ...tlsOptions, ALPNProtocols: ["http/1.1"] }, onRequest);
  } else {
    server = http2.createSecureServer({
      ...tlsOptions, allowHTTP1: true,
      ...(opts.maxConcurrentStreams !== undefined ? { settings: { maxConcurrentStreams: opts.maxConcurrentStreams } } : {}),
    }, onRequest);
    const h2 = server;
    h2.on("session", (session) => {
      h2Sessions.add(session);
      session.on("close", () => h2Sessions.delete(session));
      session.on("error", () => undefined);
    });
    // A stream the client cancels or a session cut by a test: not an error of the fake server.
    h2.on("stream", (stream) => stream.on("error", () => undefined));
  }
  server.on(kind === "http1" ? "connection" : "secureConnection", () => connections++);
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `${kind === "http1" ? "http" : "https"}://127.0.0.1:${port}`;
  const newClient = (clientOptions: Omit<ClientOptions, "kubeConfig"> = {}): KubeClient => {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: "fake", server: url, caData: Buffer.from(testCa).toString("base64"), skipTLSVerify: kind === "http1" }],
      users: [opts.clientCertificate
        ? { name: "u", certData: Buffer.from(clientCert.cert).toString("base64"), keyData: Buffer.from(clientCert.key).toString("base64") }
        : { name: "u", token: "secret-token" }],
      contexts: [{ name: "c", cluster: "fake", user: "u" }],
      currentContext: "c",
    });
    return createClient({ ...(kind === "http1-tls" ? { transport: "http1" as const } : {}), ...clientOptions, kubeConfig });
  };
  const client = newClient(opts.client);
  return {
    seen, client, url, server, h2Sessions, newClient,
    connections: () => connections,
    close: async () => {
      client.close();
      for (const s of h2Sessions) s.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
