import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Express } from "express";

/**
 * Parses a Go-style bind address: `host:port`, `:port` (all interfaces) or `[v6]:port`.
 * @throws Error for anything else.
 */
export function parseBindAddress(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m) throw new Error(`bind address ${JSON.stringify(addr)}: want "host:port", ":port" or "0" (off)`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`bind address ${JSON.stringify(addr)}: port out of range`);
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}

/** Starts `app` on `addr`; resolves with the server once listening. @throws Error (EADDRINUSE, ...) naming the address. */
export function listen(app: Express, addr: string, what: string): Promise<{ server: Server; address: string }> {
  const { host, port } = parseBindAddress(addr);
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once("error", (err) => reject(new Error(`${what} server could not listen on ${addr}: ${err.message}`, { cause: err })));
    server.once("listening", () => {
      const a = server.address() as AddressInfo;
      resolve({ server, address: a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}` });
    });
  });
}

/** Stops accepting connections and closes idle ones; resolves when the server is closed. */
export function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 1000).unref();
  });
}
