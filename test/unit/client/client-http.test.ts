// The client against a fake API server on 127.0.0.1 (plain HTTP): paths, query, content types,
// error bodies, and a watch streamed in odd-sized chunks then aborted.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createClient, isNotFound, KubeConfig, ApiError, type ClientOptions } from "../../../framework/client/index.ts";
import { Pods } from "../../../framework/meta/index.ts";
import { Registry } from "prom-client";

interface Seen { method: string; url: string; contentType: string | undefined; body: string }

async function fakeServer(handler: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void, clientOptions: Omit<ClientOptions, "kubeConfig"> = {}) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", contentType: req.headers["content-type"], body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "fake", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: "u", token: "secret-token" }],
    contexts: [{ name: "c", cluster: "fake", user: "u" }],
    currentContext: "c",
  });
  return { seen, server, client: createClient({ ...clientOptions, kubeConfig }) };
}

test("CRUD requests use the right paths, content types and query", async (t) => {
  const { seen, server, client } = await fakeServer((req, res) => {
    if (req.url?.includes("missing")) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404, message: 'pods "missing" not found' }));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ kind: "Pod", metadata: { name: "p", namespace: "ns" } }));
  });
  t.after(() => { client.close(); server.close(); });

  await client.get(Pods, { namespace: "ns", name: "p" });
  await client.patch(Pods, { namespace: "ns", name: "p" }, { type: "apply", body: { metadata: { name: "p", namespace: "ns" } }, fieldManager: "me", force: true });
  await client.patch(Pods, { namespace: "ns", name: "p" }, { type: "json", ops: [{ op: "add", path: "/metadata/labels/a", value: "b" }] }, { subresource: "status" });
  await client.updateStatus(Pods, { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "ns", resourceVersion: "5" } });
  await client.delete(Pods, { namespace: "ns", name: "p" }, { propagationPolicy: "Foreground" });
  await assert.rejects(client.get(Pods, { namespace: "ns", name: "missing" }), (err: unknown) => {
    assert.ok(err instanceof ApiError);
    assert.equal(isNotFound(err), true);
    assert.match(err.message, /get Pod\.v1 ns\/missing failed: 404 NotFound/);
    return true;
  });
  await assert.rejects(client.get(Pods, { name: "no-namespace" }), /namespaced/);

  assert.equal(seen[0]?.url, "/api/v1/namespaces/ns/pods/p");
  assert.equal(seen[1]?.url, "/api/v1/namespaces/ns/pods/p?fieldManager=me&force=true");
  assert.equal(seen[1]?.contentType, "application/apply-patch+yaml");
  assert.deepEqual(JSON.parse(seen[1]?.body ?? ""), { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "ns" } });
  assert.equal(seen[2]?.url, "/api/v1/namespaces/ns/pods/p/status");
  assert.equal(seen[2]?.contentType, "application/json-patch+json");
  assert.equal(seen[3]?.method, "PUT");
  assert.equal(seen[3]?.url, "/api/v1/namespaces/ns/pods/p/status");
  assert.equal(seen[4]?.method, "DELETE");
  assert.equal(JSON.parse(seen[4]?.body ?? "").propagationPolicy, "Foreground");
});

test("a watch streams events split across chunks and ends quietly on abort", async (t) => {
  const { seen, server, client } = await fakeServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    const lines = [
      { type: "ADDED", object: { metadata: { name: "a", resourceVersion: "2" } } },
      { type: "BOOKMARK", object: { metadata: { resourceVersion: "3" } } },
      { type: "MODIFIED", object: { metadata: { name: "a", resourceVersion: "4" } } },
    ].map((e) => JSON.stringify(e) + "\n").join("");
    // Odd chunk sizes, then keep the stream open: only the abort ends it.
    let i = 0;
    const timer = setInterval(() => {
      if (i >= lines.length) { clearInterval(timer); return; }
      res.write(lines.slice(i, i + 13));
      i += 13;
    }, 1);
    res.on("close", () => clearInterval(timer));
  });
  t.after(() => { client.close(); server.close(); server.closeAllConnections(); });
  const controller = new AbortController();
  const types: string[] = [];
  for await (const event of client.watch(Pods, { namespace: "ns", resourceVersion: "1", timeoutSeconds: 300, signal: controller.signal })) {
    types.push(`${event.type}:${event.type === "ERROR" ? "" : event.object.metadata?.resourceVersion ?? ""}`);
    if (types.length === 3) controller.abort();
  }
  assert.deepEqual(types, ["ADDED:2", "BOOKMARK:3", "MODIFIED:4"]);
  assert.equal(seen[0]?.url, "/api/v1/namespaces/ns/pods?resourceVersion=1&watch=true&allowWatchBookmarks=true&timeoutSeconds=300");
});

test("a watch refused by the server throws ApiError; a stream cut mid-event throws", async (t) => {
  let call = 0;
  const { server, client } = await fakeServer((_req, res) => {
    call++;
    if (call === 1) {
      res.writeHead(410, { "content-type": "application/json" });
      res.end(JSON.stringify({ kind: "Status", reason: "Expired", code: 410, message: "too old resource version" }));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n{"type":"MOD');
    setTimeout(() => res.socket?.destroy(), 10);
  });
  t.after(() => { client.close(); server.close(); });
  await assert.rejects(async () => { for await (const _ of client.watch(Pods)) { /* none */ } }, (err: unknown) => err instanceof ApiError && err.statusCode === 410);
  const seen: string[] = [];
  await assert.rejects(async () => { for await (const e of client.watch(Pods)) seen.push(e.type); }, /watch Pod\.v1/);
  assert.deepEqual(seen, ["ADDED"]);
});

test("maxConcurrentRequests bounds requests in flight; metrics count codes and methods", async (t) => {
  let inFlight = 0;
  let maxInFlight = 0;
  const registry = new Registry();
  const { server, client } = await fakeServer((req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    setTimeout(() => {
      inFlight--;
      const missing = req.url?.includes("missing");
      res.writeHead(missing ? 404 : 200, { "content-type": "application/json" });
      res.end(JSON.stringify(missing ? { kind: "Status", reason: "NotFound", code: 404 } : { kind: "Pod" }));
    }, 20);
  }, { maxConcurrentRequests: 2, metrics: registry });
  t.after(() => { client.close(); server.close(); });
  await Promise.all(Array.from({ length: 6 }, (_, i) => client.get(Pods, { namespace: "ns", name: `p${i}` })));
  await client.get(Pods, { namespace: "ns", name: "missing" }).catch(() => undefined);
  assert.equal(maxInFlight, 2);
  const metrics = await registry.getMetricsAsJSON();
  const total = metrics.find((m) => m.name === "rest_client_requests_total");
  const byCode = Object.fromEntries((total?.values ?? []).map((v) => [`${v.labels["method"]} ${v.labels["code"]}`, v.value]));
  assert.deepEqual(byCode, { "GET 200": 6, "GET 404": 1 });
  assert.ok(metrics.some((m) => m.name === "rest_client_request_duration_seconds"));
});

test("429 is retried after Retry-After; other errors are not", async (t) => {
  let calls = 0;
  const { server, client } = await fakeServer((req, res) => {
    calls++;
    if (req.method === "POST" && calls < 3) {
      res.writeHead(429, { "content-type": "application/json", "retry-after": "0" });
      res.end(JSON.stringify({ kind: "Status", reason: "TooManyRequests", code: 429, message: "too many requests" }));
      return;
    }
    if (req.url?.includes("broken")) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end("boom");
      return;
    }
    res.writeHead(201, { "content-type": "application/json" });
    res.end(JSON.stringify({ kind: "Pod", metadata: { name: "busy" } }));
  });
  t.after(() => { client.close(); server.close(); });
  const created = await client.create(Pods, { apiVersion: "v1", kind: "Pod", metadata: { name: "busy", namespace: "ns" } });
  assert.equal(created.metadata?.name, "busy");
  assert.equal(calls, 3);
  calls = 0;
  await assert.rejects(client.get(Pods, { namespace: "ns", name: "broken" }), (err: unknown) => err instanceof ApiError && err.statusCode === 500 && /boom/.test(err.message));
  assert.equal(calls, 1);
});

test("qps and burst hold back requests beyond the burst", async (t) => {
  let seen = 0;
  const { server, client } = await fakeServer((_req, res) => {
    seen++;
    res.writeHead(200, { "content-type": "application/json" });
    res.end("{}");
  }, { qps: 1, burst: 2 });
  t.after(() => { client.close(); server.close(); });
  let done = 0;
  const all = Array.from({ length: 3 }, (_, i) => client.get(Pods, { namespace: "ns", name: `p${i}` }).then(() => done++));
  while (done < 2) await new Promise((r) => setTimeout(r, 5));
  assert.equal(seen, 2, "the third request waits for the rate limit window (2 per 2 s)");
  await Promise.all(all);
  assert.equal(seen, 3);
});

test("a watch whose response headers never come fails after the request timeout; plain requests time out too", async (t) => {
  const { server, client } = await fakeServer(() => { /* never answer */ }, { requestTimeoutMs: 100 });
  t.after(() => { client.close(); server.closeAllConnections(); server.close(); });
  await assert.rejects(async () => { for await (const _ of client.watch(Pods)) { /* none */ } }, /no response headers within 100 ms/);
  await assert.rejects(client.get(Pods, { namespace: "ns", name: "p" }), /timed out after 100 ms/);
});
