// The client against a fake API server on 127.0.0.1, over each transport (plain HTTP/1.1,
// HTTP/2 over TLS, HTTP/1.1 over TLS): paths, query, content types, error bodies, a watch streamed
// in odd-sized chunks then aborted, concurrency and rate limits, deadlines.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { isNotFound, ApiError } from "../../../framework/client/index.ts";
import { Pods } from "../../../framework/meta/index.ts";
import { Registry } from "prom-client";
import { fakeServer, transportKinds } from "./fake-server.ts";

for (const kind of transportKinds) {
  describe(`over ${kind}`, () => {
    test("CRUD requests use the right paths, content types and query", async (t) => {
      const { seen, client, close } = await fakeServer(kind, (req, res) => {
        if (req.url?.includes("missing")) {
          res.writeHead(404, { "content-type": "application/json" });
          res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404, message: 'pods "missing" not found' }));
          return;
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ kind: "Pod", metadata: { name: "p", namespace: "ns" } }));
      });
      t.after(close);

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
      assert.equal(seen[0]?.authorization, "Bearer secret-token");
      assert.equal(seen[0]?.httpVersion, kind === "http2" ? "2.0" : "1.1");
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
      const { seen, client, close } = await fakeServer(kind, (_req, res) => {
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
      t.after(close);
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
      const { client, close } = await fakeServer(kind, (_req, res, _body, wire) => {
        call++;
        if (call === 1) {
          res.writeHead(410, { "content-type": "application/json" });
          res.end(JSON.stringify({ kind: "Status", reason: "Expired", code: 410, message: "too old resource version" }));
          return;
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n{"type":"MOD');
        setTimeout(() => wire.cut(), 10);
      });
      t.after(close);
      await assert.rejects(async () => { for await (const _ of client.watch(Pods)) { /* none */ } }, (err: unknown) => err instanceof ApiError && err.statusCode === 410);
      const seen: string[] = [];
      await assert.rejects(async () => { for await (const e of client.watch(Pods)) seen.push(e.type); }, /watch Pod\.v1/);
      assert.deepEqual(seen, ["ADDED"]);
    });

    test("maxConcurrentRequests bounds requests in flight; metrics count codes and methods", async (t) => {
      let inFlight = 0;
      let maxInFlight = 0;
      const registry = new Registry();
      const { client, close } = await fakeServer(kind, (req, res) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        setTimeout(() => {
          inFlight--;
          const missing = req.url?.includes("missing");
          res.writeHead(missing ? 404 : 200, { "content-type": "application/json" });
          res.end(JSON.stringify(missing ? { kind: "Status", reason: "NotFound", code: 404 } : { kind: "Pod" }));
        }, 20);
      }, { client: { maxConcurrentRequests: 2, metrics: registry } });
      t.after(close);
      await Promise.all(Array.from({ length: 6 }, (_, i) => client.get(Pods, { namespace: "ns", name: `p${i}` })));
      await client.get(Pods, { namespace: "ns", name: "missing" }).catch(() => undefined);
      assert.equal(maxInFlight, 2);
      const metrics = await registry.getMetricsAsJSON();
      const total = metrics.find((m) => m.name === "rest_client_requests_total");
      const byCode = Object.fromEntries((total?.values ?? []).map((v) => [`${v.labels["method"]} ${v.labels["code"]}`, v.value]));
      assert.deepEqual(byCode, { "GET 200": 6, "GET 404": 1 });
      assert.ok(metrics.some((m) => m.name === "rest_client_request_duration_seconds"));
    });

    test("qps and burst hold back requests beyond the burst", async (t) => {
      let seen = 0;
      const { client, close } = await fakeServer(kind, (_req, res) => {
        seen++;
        res.writeHead(200, { "content-type": "application/json" });
        res.end("{}");
      }, { client: { qps: 1, burst: 2 } });
      t.after(close);
      let done = 0;
      const all = Array.from({ length: 3 }, (_, i) => client.get(Pods, { namespace: "ns", name: `p${i}` }).then(() => done++));
      while (done < 2) await new Promise((r) => setTimeout(r, 5));
      assert.equal(seen, 2, "the third request waits for the rate limit window (2 per 2 s)");
      await Promise.all(all);
      assert.equal(seen, 3);
    });

    test("a watch whose response headers never come fails after the request timeout; plain requests time out too", async (t) => {
      const { client, close } = await fakeServer(kind, () => { /* never answer */ }, { client: { requestTimeoutMs: 100 } });
      t.after(close);
      await assert.rejects(async () => { for await (const _ of client.watch(Pods)) { /* none */ } }, /no response headers within 100 ms/);
      await assert.rejects(client.get(Pods, { namespace: "ns", name: "p" }), /timed out after 100 ms/);
    });

    test("an aborted request rejects with the abort reason and the server sees it cancelled", async (t) => {
      let arrived: () => void = () => undefined;
      const arrival = new Promise<void>((resolve) => (arrived = resolve));
      let closedByClient: () => void = () => undefined;
      const cancelled = new Promise<void>((resolve) => (closedByClient = resolve));
      const { client, close } = await fakeServer(kind, (_req, res) => {
        res.on("close", () => closedByClient());
        arrived();
      });
      t.after(close);
      const controller = new AbortController();
      const pending = client.get(Pods, { namespace: "ns", name: "slow" }, { signal: controller.signal });
      await arrival;
      controller.abort(new Error("caller gave up"));
      await assert.rejects(pending, /caller gave up/);
      await cancelled;
    });

    test("a large LIST arrives whole while small requests share the connection", async (t) => {
      const item = { metadata: { name: "x", annotations: { blob: "y".repeat(4096) } } };
      const items = Array.from({ length: 2500 }, (_, i) => ({ ...item, metadata: { ...item.metadata, name: `p${i}` } })); // ≈ 10 MiB
      const payload = JSON.stringify({ kind: "PodList", metadata: { resourceVersion: "9" }, items });
      const { client, close } = await fakeServer(kind, (req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        if (req.url?.startsWith("/api/v1/namespaces/ns/pods?")) {
          // In 64 KiB writes, as a server streams it.
          for (let i = 0; i < payload.length; i += 65536) res.write(payload.slice(i, i + 65536));
          res.end();
          return;
        }
        res.end(JSON.stringify({ kind: "Pod", metadata: { name: "small" } }));
      });
      t.after(close);
      const [a, b, ...small] = await Promise.all([
        client.list(Pods, { namespace: "ns", limit: 5000 }),
        client.list(Pods, { namespace: "ns", limit: 5000 }),
        ...Array.from({ length: 20 }, () => client.get(Pods, { namespace: "ns", name: "small" })),
      ]);
      assert.equal(a.items.length, 2500);
      assert.equal(b.items.at(-1)?.metadata?.name, "p2499");
      assert.equal(small.length, 20);
    });
  });
}
