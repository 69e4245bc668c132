// The transport against a fake API server on 127.0.0.1: protocol negotiation (ALPN h2, fallback to
// HTTP/1.1), credentials (bearer token, client certificate), HTTP/2 multiplexing and the server's
// stream limit, GOAWAY, and client-go's retry rules (Retry-After on any verb, a GET after a lost
// connection, nothing else).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import { ApiError, ConnectionLostError } from "../../../framework/client/index.ts";
import { Pods, type Pod } from "../../../framework/meta/index.ts";
import { fakeServer, transportKinds, type FakeResponse } from "./fake-server.ts";

function json(res: FakeResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

const pod = (name: string): Pod => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "ns" } });
const tooMany = { kind: "Status", reason: "TooManyRequests", code: 429, message: "too many requests" };

describe("protocol negotiation and credentials", () => {
  test("the default speaks HTTP/2 where the server offers h2, HTTP/1.1 where it does not; http1 forces HTTP/1.1", async (t) => {
    const h2 = await fakeServer("http2", (_req, res) => json(res, 200, { kind: "Pod" }));
    const h1only = await fakeServer("tls-http1-only", (_req, res) => json(res, 200, { kind: "Pod" }));
    t.after(async () => { await h2.close(); await h1only.close(); });
    const forced = h2.newClient({ transport: "http1" });
    t.after(() => forced.close());
    await h2.client.get(Pods, { namespace: "ns", name: "a" });
    await forced.get(Pods, { namespace: "ns", name: "b" });
    await h1only.client.get(Pods, { namespace: "ns", name: "c" });
    await h1only.client.get(Pods, { namespace: "ns", name: "d" });
    assert.deepEqual(h2.seen.map((s) => s.httpVersion), ["2.0", "1.1"]);
    assert.deepEqual(h1only.seen.map((s) => s.httpVersion), ["1.1", "1.1"]);
    assert.ok(h2.seen.every((s) => s.authorization === "Bearer secret-token"));
  });

  for (const kind of ["http2", "http1-tls"] as const) {
    test(`a client certificate from the kubeconfig is presented (${kind})`, async (t) => {
      const server = await fakeServer(kind, (_req, res) => json(res, 200, { kind: "Pod" }), { clientCertificate: true });
      t.after(server.close);
      await server.client.get(Pods, { namespace: "ns", name: "a" });
      assert.equal(server.seen[0]?.peerCommonName, "kubeloop-test-user");
      assert.equal(server.seen[0]?.authorization, undefined);
      assert.equal(server.seen[0]?.httpVersion, kind === "http2" ? "2.0" : "1.1");
    });
  }
});

describe("HTTP/2 connections", () => {
  test("many watches and requests share one connection", async (t) => {
    const server = await fakeServer("http2", (req, res) => {
      if (req.url?.includes("watch=true")) {
        res.writeHead(200, { "content-type": "application/json" });
        res.write(JSON.stringify({ type: "ADDED", object: { metadata: { name: "w" } } }) + "\n");
        return; // held open
      }
      json(res, 200, { kind: "Pod" });
    });
    t.after(server.close);
    const stop = new AbortController();
    let started = 0;
    const watches = Array.from({ length: 40 }, async () => {
      for await (const _ of server.client.watch(Pods, { namespace: "ns", signal: stop.signal })) started++;
    });
    while (started < 40) await new Promise((r) => setTimeout(r, 5));
    await Promise.all(Array.from({ length: 30 }, (_, i) => server.client.get(Pods, { namespace: "ns", name: `p${i}` })));
    assert.equal(server.connections(), 1, "one TCP connection for 40 watches and 30 requests");
    assert.equal(server.h2Sessions.size, 1);
    stop.abort();
    await Promise.all(watches);
  });

  test("beyond the server's SETTINGS_MAX_CONCURRENT_STREAMS a new connection opens, each at most at the limit", async (t) => {
    const held: Array<() => void> = [];
    const server = await fakeServer("http2", (req, res) => {
      if (req.url?.includes("first")) return json(res, 200, { kind: "Pod" });
      // Held until all 23 are in flight at once.
      held.push(() => json(res, 200, { kind: "Pod" }));
      if (held.length === 23) for (const answer of held) answer();
    }, { maxConcurrentStreams: 5 });
    t.after(server.close);
    await server.client.get(Pods, { namespace: "ns", name: "first" }); // learns the limit
    await Promise.all(Array.from({ length: 23 }, (_, i) => server.client.get(Pods, { namespace: "ns", name: `p${i}` })));
    assert.equal(server.seen.length, 24, "each request reached the server once");
    assert.equal(server.connections(), 5, "23 streams in flight at most 5 per connection");
  });

  test("a request the server refused unprocessed (REFUSED_STREAM) is sent again, even a POST", async (t) => {
    let posts = 0;
    const server = await fakeServer("http2", (req, res) => {
      if (++posts === 1 && "stream" in req) return req.stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      json(res, 201, pod("created"));
    });
    t.after(server.close);
    const created = await server.client.create(Pods, pod("created"));
    assert.equal(created.metadata?.name, "created");
    assert.equal(posts, 2, "sent again once");
  });

  test("after GOAWAY new requests go to a new connection while the old one finishes its streams", async (t) => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const server = await fakeServer("http2", (req, res) => {
      if (req.url?.includes("slow") && "stream" in req) {
        // GOAWAY on this connection, then answer the stream in flight.
        req.stream.session?.goaway(http2.constants.NGHTTP2_NO_ERROR, req.stream.id ?? 0);
        void released.then(() => json(res, 200, pod("slow")));
        return;
      }
      json(res, 200, pod("p"));
    });
    t.after(server.close);
    const slow = server.client.get(Pods, { namespace: "ns", name: "slow" });
    while (server.seen.length < 1) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 20)); // the GOAWAY arrives
    const after = await server.client.get(Pods, { namespace: "ns", name: "after" });
    assert.equal(after.metadata?.name, "p");
    assert.equal(server.connections(), 2, "a new connection after GOAWAY");
    release();
    assert.equal((await slow).metadata?.name, "slow", "the stream in flight on the old connection ran to its end");
  });
});

for (const kind of transportKinds) {
  describe(`retries as client-go, over ${kind}`, () => {
    test("any verb is retried when the server sends Retry-After with 429 or a 5xx", async (t) => {
      let calls = 0;
      const server = await fakeServer(kind, (req, res) => {
        calls++;
        if (req.method === "POST" && calls === 1) return json(res, 429, tooMany, { "retry-after": "0" });
        if (req.method === "POST" && calls === 2) return json(res, 503, { kind: "Status", code: 503, message: "shutting down" }, { "retry-after": "0" });
        if (req.method === "DELETE" && calls === 4) return json(res, 500, { kind: "Status", code: 500, message: "etcd hiccup" }, { "retry-after": "0" });
        json(res, req.method === "POST" ? 201 : 200, pod("busy"));
      });
      t.after(server.close);
      const created = await server.client.create(Pods, pod("busy"));
      assert.equal(created.metadata?.name, "busy");
      assert.equal(calls, 3);
      await server.client.delete(Pods, { namespace: "ns", name: "busy" });
      assert.equal(calls, 5);
    });

    test("without Retry-After nothing is retried, 429 included; evictions never", async (t) => {
      let calls = 0;
      const server = await fakeServer(kind, (req, res) => {
        calls++;
        if (req.url?.includes("eviction")) return json(res, 429, tooMany, { "retry-after": "0" });
        if (req.url?.includes("busy")) return json(res, 429, tooMany);
        res.writeHead(500, { "content-type": "text/plain" });
        res.end("boom");
      });
      t.after(server.close);
      await assert.rejects(server.client.get(Pods, { namespace: "ns", name: "broken" }), (err: unknown) => err instanceof ApiError && err.statusCode === 500 && /boom/.test(err.message));
      assert.equal(calls, 1);
      await assert.rejects(server.client.get(Pods, { namespace: "ns", name: "busy" }), (err: unknown) => err instanceof ApiError && err.statusCode === 429);
      assert.equal(calls, 2);
      await assert.rejects(server.client.evict({ namespace: "ns", name: "p" }), (err: unknown) => err instanceof ApiError && err.statusCode === 429);
      assert.equal(calls, 3);
    });

    test("at most 10 retries (11 attempts), then the last answer is thrown", async (t) => {
      const server = await fakeServer(kind, (_req, res) => json(res, 429, tooMany, { "retry-after": "0" }));
      t.after(server.close);
      await assert.rejects(server.client.get(Pods, { namespace: "ns", name: "p" }), (err: unknown) => err instanceof ApiError && err.statusCode === 429);
      assert.equal(server.seen.length, 11);
    });

    test("Retry-After is honoured in seconds", async (t) => {
      let calls = 0;
      const server = await fakeServer(kind, (_req, res) => {
        if (++calls === 1) return json(res, 429, tooMany, { "retry-after": "1" });
        json(res, 200, pod("p"));
      });
      t.after(server.close);
      const started = performance.now();
      await server.client.get(Pods, { namespace: "ns", name: "p" });
      const elapsedMs = performance.now() - started;
      assert.ok(elapsedMs >= 950 && elapsedMs < 5000, `waited ${elapsedMs.toFixed(0)} ms for Retry-After: 1`);
    });

    test("a GET is retried after its connection was cut; a POST is not", async (t) => {
      let gets = 0;
      let posts = 0;
      const server = await fakeServer(kind, (req, res, _body, wire) => {
        if (req.method === "GET" && ++gets === 1) return wire.cut();
        if (req.method === "POST") {
          posts++;
          return wire.cut();
        }
        json(res, 200, pod("p"));
      });
      t.after(server.close);
      const got = await server.client.get(Pods, { namespace: "ns", name: "p" });
      assert.equal(got.metadata?.name, "p");
      assert.equal(gets, 2);
      await assert.rejects(server.client.create(Pods, pod("q")), (err: unknown) => err instanceof ConnectionLostError && !err.unprocessed);
      assert.equal(posts, 1, "a POST whose connection broke after it was sent is not sent again");
    });

    test("a GET whose body is cut short is retried", async (t) => {
      let gets = 0;
      const server = await fakeServer(kind, (_req, res, _body, wire) => {
        res.writeHead(200, { "content-type": "application/json" });
        if (++gets === 1) {
          res.write('{"kind":"Pod","metadata":{"na');
          setTimeout(() => wire.cut(), 10);
          return;
        }
        res.end(JSON.stringify(pod("p")));
      });
      t.after(server.close);
      const got = await server.client.get(Pods, { namespace: "ns", name: "p" });
      assert.equal(got.metadata?.name, "p");
      assert.equal(gets, 2);
    });
  });
}
