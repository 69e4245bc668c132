import { createServer } from "node:net";

/** Thrown when a port the control plane wants on 127.0.0.1 is already taken. */
export class PortInUseError extends Error {
  readonly port: number;
  constructor(port: number, purpose: string) {
    super(
      `port ${port} on 127.0.0.1 (for ${purpose}) is already in use by another process; ` +
        `stop that process (see \`ss -ltnp 'sport = :${port}'\`) or start the control plane again to pick other free ports`,
    );
    this.name = "PortInUseError";
    this.port = port;
  }
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === "object" && address !== null ? address.port : port;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * Throws {@link PortInUseError} when `port` cannot be bound on 127.0.0.1 right now.
 * @param purpose what the port is for, named in the error ("kube-apiserver").
 */
export async function assertPortFree(port: number, purpose: string): Promise<void> {
  try {
    await listenOnce(port);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") throw new PortInUseError(port, purpose);
    throw new Error(`cannot check port ${port} on 127.0.0.1 for ${purpose}: ${(err as Error).message}`);
  }
}

/**
 * Picks `count` distinct ports the kernel reports free on 127.0.0.1 (bind to port 0, read,
 * close). Another process may take one before it is used: callers check again with
 * {@link assertPortFree} right before starting each listener.
 */
export async function pickFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let attempt = 0; ports.size < count && attempt < count * 20; attempt++) {
    ports.add(await listenOnce(0));
  }
  if (ports.size < count) throw new Error(`could not find ${count} free ports on 127.0.0.1`);
  return [...ports];
}
