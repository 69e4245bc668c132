/**
 * The webhook server without a cluster: certificates made with @peculiar/x509 verify with
 * node's TLS (IP SAN 127.0.0.1), AdmissionReview v1 round trips (uid echoed, base64 JSON Patch,
 * warnings), bad bodies get 400 with a reason, throwing and hanging handlers are answered as
 * errors before `?timeout=`, and `setSecureContext` swaps the certificate for new connections
 * while an open connection keeps working.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import tls from "node:tls";
import {
  allow, certificateInfo, createCertificateAuthority, createServingCertificate, deny, isSignedBy, mutate, parseTimeoutMs, patch,
  WebhookServer, webhookFor, type CertificateSource, type ServingCertificate,
} from "../../../framework/admission/index.ts";
import { Pods, type Pod } from "../../../framework/meta/index.ts";

class StaticCertificates implements CertificateSource {
  cert: ServingCertificate;
  bundle: string;
  readonly listeners = new Set<(c: ServingCertificate) => void>();
  constructor(cert: ServingCertificate) {
    this.cert = cert;
    this.bundle = cert.caPem;
  }
  current(): ServingCertificate {
    return this.cert;
  }
  caBundle(): string {
    return this.bundle;
  }
  onChange(l: (c: ServingCertificate) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  set(cert: ServingCertificate): void {
    this.cert = cert;
    for (const l of this.listeners) l(cert);
  }
}

let server: WebhookServer;
let certs: StaticCertificates;
let port: number;
let agent: https.Agent;

async function newCert(): Promise<ServingCertificate> {
  const ca = await createCertificateAuthority("test-ca", 3600_000);
  const leaf = await createServingCertificate(ca, { ips: ["127.0.0.1"] }, 600_000);
  return { ...leaf, caPem: ca.certPem };
}

function post(path: string, body: string, opts: { contentType?: string; ca?: string; agent?: https.Agent } = {}): Promise<{ status: number; body: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: "127.0.0.1", port, path, method: "POST", ca: opts.ca ?? certs.cert.caPem, agent: opts.agent ?? false,
      headers: { "content-type": opts.contentType ?? "application/json" },
    }, (res) => {
      let data = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (data += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data, ms: Date.now() - started }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

function review(uid: string, object: unknown): string {
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview",
    request: { uid, kind: { group: "", version: "v1", kind: "Pod" }, resource: { group: "", version: "v1", resource: "pods" }, operation: "CREATE", userInfo: {}, object },
  });
}

before(async () => {
  certs = new StaticCertificates(await newCert());
  server = new WebhookServer({ certificates: certs, port: 0 });
  webhookFor(server, Pods).named("deny.pods.test.dev").path("/deny").validate((req) =>
    req.object?.metadata?.name === "bad" ? deny("name bad is not allowed", { warnings: ["w1"] }) : allow({ warnings: ["looked"] }));
  webhookFor(server, Pods).named("label.pods.test.dev").path("/label").mutate((req) => {
    const pod = structuredClone(req.object!) as Pod;
    pod.metadata = { ...pod.metadata, labels: { ...pod.metadata?.labels, seen: "yes" } };
    return mutate(pod);
  });
  webhookFor(server, Pods).named("patch.pods.test.dev").path("/patch").mutate(() => patch([{ op: "add", path: "/metadata/annotations", value: { a: "b" } }]));
  webhookFor(server, Pods).named("throw.pods.test.dev").path("/throw").validate(() => {
    throw new Error("boom");
  });
  webhookFor(server, Pods).named("hang.pods.test.dev").path("/hang").validate(() => new Promise<never>(() => {}));
  webhookFor(server, Pods).named("sneaky.pods.test.dev").path("/sneaky").validate(() => patch([]));
  port = await server.listen();
  agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: certs.cert.caPem });
});

after(async () => {
  agent?.destroy();
  await server?.close();
});

test("the serving certificate has IP SAN 127.0.0.1, is signed by the CA, and TLS verifies it", async () => {
  const { certPem, caPem } = certs.cert;
  assert.ok(isSignedBy(certPem, caPem));
  const info = certificateInfo(certPem);
  assert.ok(info.notAfterMs > Date.now());
  const peer = await new Promise<tls.PeerCertificate>((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, ca: caPem }, () => {
      resolve(s.getPeerCertificate());
      s.end();
    });
    s.on("error", reject);
  });
  assert.match(peer.subjectaltname ?? "", /IP Address:127\.0\.0\.1/);
  // Another CA is refused.
  const other = await newCert();
  await assert.rejects(post("/deny", review("u", {}), { ca: other.caPem }), /self-signed|unable to verify|certificate/i);
});

test("validating: uid echoed, denial with message and code, warnings", async () => {
  const denied = await post("/deny", review("uid-1", { metadata: { name: "bad" } }));
  assert.equal(denied.status, 200);
  const r = JSON.parse(denied.body);
  assert.deepEqual(r, { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid: "uid-1", allowed: false, warnings: ["w1"], status: { code: 403, message: "name bad is not allowed" } } });
  const ok = JSON.parse((await post("/deny", review("uid-2", { metadata: { name: "good" } }))).body);
  assert.deepEqual(ok.response, { uid: "uid-2", allowed: true, warnings: ["looked"] });
});

test("mutating: the returned object becomes a base64 JSON Patch; explicit patches pass through", async () => {
  const r = JSON.parse((await post("/label", review("uid-3", { metadata: { name: "p", labels: { a: "1" } } }))).body).response;
  assert.equal(r.patchType, "JSONPatch");
  assert.deepEqual(JSON.parse(Buffer.from(r.patch, "base64").toString()), [{ op: "add", path: "/metadata/labels/seen", value: "yes" }]);
  const p = JSON.parse((await post("/patch", review("uid-4", { metadata: { name: "p" } }))).body).response;
  assert.deepEqual(JSON.parse(Buffer.from(p.patch, "base64").toString()), [{ op: "add", path: "/metadata/annotations", value: { a: "b" } }]);
});

test("malformed reviews are answered 400 with a reason", async () => {
  const cases: Array<[string, string | undefined, RegExp]> = [
    ["{not json", undefined, /not JSON/],
    [JSON.stringify({ kind: "AdmissionReview", apiVersion: "admission.k8s.io/v1beta1", request: { uid: "x" } }), undefined, /want "admission.k8s.io\/v1"/],
    [JSON.stringify({ kind: "AdmissionReview", apiVersion: "admission.k8s.io/v1" }), undefined, /no request/],
    [JSON.stringify({ kind: "AdmissionReview", apiVersion: "admission.k8s.io/v1", request: { operation: "CREATE" } }), undefined, /uid is missing/],
    ["[]", undefined, /not a JSON object/],
    [review("u", {}), "text/plain", /expected application\/json/],
  ];
  for (const [body, contentType, reason] of cases) {
    const r = await post("/deny", body, contentType ? { contentType } : {});
    assert.equal(r.status, 400, body);
    assert.match(JSON.parse(r.body).message, reason);
  }
});

test("a throwing handler is answered as an error; a validating handler may not patch", async () => {
  const r = JSON.parse((await post("/throw", review("uid-5", {}))).body).response;
  assert.deepEqual(r, { uid: "uid-5", allowed: false, status: { code: 500, message: "webhook throw.pods.test.dev failed: boom" } });
  const s = JSON.parse((await post("/sneaky", review("uid-6", {}))).body).response;
  assert.equal(s.allowed, false);
  assert.match(s.status.message, /only mutating webhooks may change the object/);
});

test("a hanging handler is answered before ?timeout=", async () => {
  const r = await post("/hang?timeout=1s", review("uid-7", {}));
  assert.ok(r.ms < 1000, `answered after ${r.ms} ms`);
  assert.ok(r.ms >= 600, `answered after ${r.ms} ms: too early`);
  const body = JSON.parse(r.body).response;
  assert.equal(body.allowed, false);
  assert.match(body.status.message, /did not answer within 750 ms/);
  assert.equal(parseTimeoutMs("1m0s"), 60_000);
  assert.equal(parseTimeoutMs("1.5s"), 1500);
  assert.equal(parseTimeoutMs("10"), undefined);
});

test("setSecureContext: new connections get the new certificate, an open connection keeps working", async () => {
  const before = certs.cert;
  // Open a keep-alive connection with the old CA trusted.
  const first = await post("/deny", review("k1", {}), { agent });
  assert.equal(first.status, 200);
  const next = await newCert();
  certs.set(next);
  assert.equal(server.reloads, 2);
  // The kept-alive connection still works (its TLS session was made with the old certificate).
  const again = await post("/deny", review("k2", {}), { agent, ca: before.caPem });
  assert.equal(again.status, 200);
  // A new connection is served the new certificate: the old CA no longer verifies it.
  await assert.rejects(post("/deny", review("k3", {}), { ca: before.caPem }));
  assert.equal((await post("/deny", review("k4", {}), { ca: next.caPem })).status, 200);
});

test("/readyz is ready when serving (no client to check configurations)", async () => {
  const r = await new Promise<number>((resolve, reject) => {
    https.get({ host: "127.0.0.1", port, path: "/readyz", ca: certs.cert.caPem, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on("error", reject);
  });
  assert.equal(r, 200);
});

test("a body over the limit is answered 413, and the server keeps answering", async () => {
  const small = new WebhookServer({ certificates: certs, port: 0, bodyLimitBytes: 1024 });
  webhookFor(small, Pods).named("small.pods.test.dev").path("/small").validate(() => allow());
  const smallPort = await small.listen();
  try {
    const big = review("big", { metadata: { name: "x".repeat(4096) } });
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request({ host: "127.0.0.1", port: smallPort, path: "/small", method: "POST", ca: certs.cert.caPem, agent: false, headers: { "content-type": "application/json" } }, (res) => {
        let data = "";
        res.on("data", (c: Buffer) => (data += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data }));
      });
      req.on("error", reject);
      req.end(big);
    });
    assert.equal(r.status, 413);
    assert.equal(JSON.parse(r.body).code, 413);
    assert.equal((await post("/deny", review("after", {}))).status, 200);
  } finally {
    await small.close();
  }
});

test("as a manager Runnable: start() listens until the signal aborts, then closes", async () => {
  const runnable = new WebhookServer({ certificates: certs, port: 0 });
  assert.equal(runnable.needLeaderElection, false);
  const stop = new AbortController();
  const running = runnable.start(stop.signal, new AbortController().signal);
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(runnable.port() > 0);
  stop.abort();
  await running;
  assert.throws(() => runnable.port(), /not listening/);
});

test("registration compiles matchConditions (default kubernetesCelCheck)", () => {
  const s = new WebhookServer({ certificates: certs, port: 0, configurationName: "cfg" });
  assert.throws(() => webhookFor(s, Pods).named("cel.pods.test.dev").when("bad", "request.nosuch(").validate(() => allow()),
    /ValidatingWebhookConfiguration.admissionregistration.k8s.io "cfg" is invalid: webhooks\[0\].matchConditions\[0\].expression: Invalid value: "request.nosuch\(": compilation failed/);
  webhookFor(new WebhookServer({ certificates: certs, port: 0, cel: false }), Pods).named("cel.pods.test.dev").when("bad", "request.nosuch(").validate(() => allow());
});
