/**
 * The client's transports against a real kube-apiserver: over HTTP/2 watches and requests are
 * streams on one TCP connection (counted from /proc), a large LIST arrives whole through flow
 * control, and a kube-apiserver restart is survived over both HTTP/2 and HTTP/1.1 (the watch in
 * flight ends, the next requests and watches work on a new connection). Needs a local cluster
 * (`KUBELOOP_CLUSTER_DIR`) for the restart; Linux for the socket count.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createClient, isNotFound, KubeConfig, type KubeClient, type TransportProtocol } from "../../../framework/client/index.ts";
import { ConfigMaps, Namespaces, type KubeObject } from "../../../framework/meta/index.ts";
import { testControlPlane, waitFor, type ControlPlane } from "../../../framework/testing/index.ts";

const namespace = `kubeloop-transport-e2e-${randomBytes(3).toString("hex")}`;
let plane: ControlPlane;
let kubeConfig: KubeConfig;
let admin: KubeClient;
let apiserverPort: number;

/** ESTABLISHED TCP connections of this process to the API server's port (Linux /proc). */
function connectionsToApiserver(): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  let count = 0;
  for (const table of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const remotePort = parseInt(cols[2]!.split(":")[1]!, 16);
      if (remotePort === apiserverPort && cols[3] === "01" && inodes.has(cols[9]!)) count++;
    }
  }
  return count;
}

function newClient(transport: TransportProtocol): KubeClient {
  return createClient({ kubeConfig, transport });
}

before(async () => {
  plane = await testControlPlane();
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(plane.kubeconfigPath);
  apiserverPort = Number(new URL(plane.server).port);
  admin = createClient({ kubeConfig });
  await admin.create(Namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
});

after(async () => {
  if (!admin) return;
  await admin.delete(Namespaces, { name: namespace }).catch(() => undefined);
  admin.close();
});

/** Runs `n` watches of ConfigMaps in the namespace until `signal` aborts; resolves once each has its first event. */
async function startWatches(client: KubeClient, n: number, signal: AbortSignal): Promise<Promise<void>[]> {
  const list = await client.list(ConfigMaps, { namespace });
  let opened = 0;
  const watches = Array.from({ length: n }, async () => {
    let first = true;
    for await (const _ of client.watch(ConfigMaps, { namespace, resourceVersion: list.metadata.resourceVersion!, signal })) {
      if (first) opened++;
      first = false;
    }
  });
  await admin.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `opened-${randomBytes(3).toString("hex")}`, namespace } });
  await waitFor(async () => opened >= n || undefined, { timeoutMs: 30_000, intervalMs: 20, description: `${n} watches to see their first event` });
  return watches;
}

test("over HTTP/2, 40 watches and 50 requests share one TCP connection; over HTTP/1.1 each watch holds its own", async () => {
  for (const transport of ["http2", "http1"] as const) {
    const client = newClient(transport);
    const stop = new AbortController();
    const baseline = connectionsToApiserver();
    try {
      const watches = await startWatches(client, 40, stop.signal);
      await Promise.all(Array.from({ length: 50 }, () => client.list(ConfigMaps, { namespace, limit: 1 })));
      const added = connectionsToApiserver() - baseline;
      if (transport === "http2") assert.equal(added, 1, "HTTP/2: one connection for everything");
      else assert.ok(added >= 40, `HTTP/1.1: a connection per watch (got ${added} new connections)`);
      stop.abort();
      await Promise.all(watches);
    } finally {
      stop.abort();
      client.close();
    }
  }
});

test("a large LIST (about 12 MiB) arrives whole over HTTP/2, three at once, as over HTTP/1.1", async () => {
  const blob = "x".repeat(200 * 1024);
  await Promise.all(Array.from({ length: 60 }, (_, i) => admin.create(ConfigMaps, {
    apiVersion: "v1", kind: "ConfigMap", metadata: { name: `large-${i}`, namespace, labels: { suite: "large" } }, data: { blob },
  })));
  const h2 = newClient("http2");
  const h1 = newClient("http1");
  try {
    const lists = await Promise.all([
      h2.list(ConfigMaps, { namespace, labelSelector: "suite=large" }),
      h2.list(ConfigMaps, { namespace, labelSelector: "suite=large" }),
      h2.list(ConfigMaps, { namespace, labelSelector: "suite=large" }),
      h1.list(ConfigMaps, { namespace, labelSelector: "suite=large" }),
    ]);
    for (const list of lists) {
      assert.equal(list.items.length, 60);
      assert.ok(list.items.every((cm) => cm.data?.["blob"]?.length === blob.length));
    }
  } finally {
    h2.close();
    h1.close();
  }
});

test("a kube-apiserver restart is survived over HTTP/2 and HTTP/1.1", { skip: !process.env.KUBELOOP_CLUSTER_DIR && "needs a local control plane (KUBELOOP_CLUSTER_DIR)" }, async (t) => {
  const clients = { http2: newClient("http2"), http1: newClient("http1") };
  const stop = new AbortController();
  try {
    // A watch in flight on each client, with its first event seen.
    const ended: Record<string, string> = {};
    let opened = 0;
    const list = await admin.list(ConfigMaps, { namespace });
    const watches = (Object.entries(clients) as Array<[TransportProtocol, KubeClient]>).map(async ([transport, client]) => {
      try {
        for await (const event of client.watch(ConfigMaps, { namespace, resourceVersion: list.metadata.resourceVersion!, signal: stop.signal })) {
          if (event.type === "ADDED") opened++;
        }
        ended[transport] = "ended";
      } catch (err) {
        ended[transport] = `threw: ${(err as Error).message}`;
      }
    });
    await admin.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "before-restart", namespace } });
    await waitFor(async () => opened >= 2 || undefined, { timeoutMs: 30_000, intervalMs: 20, description: "both watches to see an event" });
    await plane.restart("kube-apiserver");
    // The watches in flight end (or throw) instead of hanging on a dead connection.
    await waitFor(async () => Object.keys(ended).length === 2 || undefined, { timeoutMs: 60_000, intervalMs: 100, description: "both watches to end after the restart" });
    await Promise.all(watches);
    t.diagnostic(`watches in flight at the restart: ${JSON.stringify(ended)}`);

    for (const [transport, client] of Object.entries(clients) as Array<[TransportProtocol, KubeClient]>) {
      // Requests and a new watch work on a new connection.
      const name = `after-restart-${transport}`;
      const list = await client.list(ConfigMaps, { namespace });
      const seen = new Promise<string>((resolve, reject) => {
        (async () => {
          for await (const event of client.watch(ConfigMaps, { namespace, resourceVersion: list.metadata.resourceVersion!, signal: stop.signal })) {
            if (event.type === "ADDED" && (event.object as KubeObject).metadata?.name === name) return resolve(name);
          }
          reject(new Error(`the watch over ${transport} ended without seeing ${name}`));
        })().catch(reject);
      });
      await client.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace } });
      assert.equal(await seen, name);
      assert.equal((await client.get(ConfigMaps, { namespace, name })).metadata?.name, name);
      await client.delete(ConfigMaps, { namespace, name });
      await assert.rejects(client.get(ConfigMaps, { namespace, name }), (err: unknown) => isNotFound(err));
    }
  } finally {
    stop.abort();
    clients.http2.close();
    clients.http1.close();
  }
});
