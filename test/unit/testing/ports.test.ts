import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { describe, it } from "node:test";
import { assertPortFree, pickFreePorts, PortInUseError } from "../../../framework/testing/ports.ts";

function listen(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => {
      const address = server.address();
      if (typeof address !== "object" || address === null) throw new Error("no address");
      resolve({ server, port: address.port });
    });
  });
}

describe("ports", () => {
  it("picks distinct free ports on 127.0.0.1", async () => {
    const ports = await pickFreePorts(6);
    assert.equal(new Set(ports).size, 6);
    for (const port of ports) {
      assert.ok(port > 0 && port < 65536);
      await assertPortFree(port, "test");
    }
  });

  it("reports a port in use with the port and its purpose", async () => {
    const { server, port } = await listen();
    try {
      await assert.rejects(assertPortFree(port, "kube-apiserver"), (err: unknown) => {
        assert.ok(err instanceof PortInUseError);
        assert.equal(err.port, port);
        assert.match(err.message, new RegExp(`port ${port} on 127\\.0\\.0\\.1 \\(for kube-apiserver\\) is already in use`));
        return true;
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    await assertPortFree(port, "kube-apiserver");
  });
});
