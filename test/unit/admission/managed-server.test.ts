/**
 * `addWebhookServer` in a manager over the FakeClient: the certificates Secret loaded after the
 * API server refused it twice (retried with backoff, the manager keeps running), the CA injected
 * into the configuration, `/readyz` ready only then, the certificate verified for the Service's
 * name `<service>.<namespace>.svc` as the API server verifies it, and the ready check injecting
 * the CA again into a configuration that lost it; controller-runtime's webhook metrics in the
 * manager's registry.
 */
import { test } from "node:test";
import { request } from "node:https";
import { checkServerIdentity } from "node:tls";
import assert from "node:assert/strict";
import { addWebhookServer, allow, MutatingWebhookConfigurations, Secrets, webhookFor, type MutatingWebhookConfiguration } from "../../../framework/admission/index.ts";
import { Manager } from "../../../framework/manager/index.ts";
import { ConfigMaps } from "../../../framework/meta/index.ts";
import { apiError, FakeClient, waitFor } from "../../../framework/testing/index.ts";

const configuration = (): MutatingWebhookConfiguration => ({
  apiVersion: "admissionregistration.k8s.io/v1", kind: "MutatingWebhookConfiguration", metadata: { name: "hooks" },
  webhooks: [{ name: "a.b.c", clientConfig: { service: { namespace: "ops", name: "hooks", path: "/mutate" } }, sideEffects: "None", admissionReviewVersions: ["v1"] }],
});

/** GET /healthz of the webhook server on 127.0.0.1, verifying its certificate for `serverName` with `ca`. */
function getAs(port: number, serverName: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/healthz", servername: serverName, ca, checkServerIdentity: (_host, cert) => checkServerIdentity(serverName, cert) }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
    req.end();
  });
}

/** POSTs `body` as JSON to the webhook server on 127.0.0.1, trusting `ca`. */
function postAs(port: number, path: string, body: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "POST", ca, servername: "hooks.ops.svc", headers: { "content-type": "application/json" } }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function readyz(mgr: Manager): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://${mgr.healthProbeAddress()}/readyz?verbose`);
  return { status: res.status, body: await res.text() };
}

test("addWebhookServer: retries the Secret, injects the CA, is ready only then, and re-injects a lost caBundle", async () => {
  const client = new FakeClient();
  await client.create(MutatingWebhookConfigurations, configuration());
  let refused = 0;
  client.prependReactor({ verb: "get", kind: "Secret" }, () => (refused++ < 2 ? apiError(503, "ServiceUnavailable", "etcd is slow") : undefined));
  const mgr = new Manager({ client, name: "webhooks", metricsBindAddress: "0", healthProbeBindAddress: "127.0.0.1:0" });
  const { server, certificates } = addWebhookServer(mgr, {
    port: 0, secret: { namespace: "ops", name: "certs" }, service: { namespace: "ops", name: "hooks" }, configurationName: "hooks", retryBaseMs: 10, resyncMs: 0,
  });
  webhookFor(server, ConfigMaps).mutate(() => allow());
  const stop = new AbortController();
  const running = mgr.start(stop.signal);
  try {
    await waitFor(async () => (await readyz(mgr)).status === 200, { timeoutMs: 10_000, description: "/readyz to pass" });
    assert.ok(refused >= 3, `two refusals, then the Secret was read (${refused} reads)`);
    const secret = await client.get(Secrets, { namespace: "ops", name: "certs" });
    assert.ok(secret.data?.["tls.crt"], "the Secret holds the serving certificate");
    const injected = await client.get(MutatingWebhookConfigurations, { name: "hooks" });
    assert.equal(Buffer.from(injected.webhooks[0]!.clientConfig.caBundle!, "base64").toString(), certificates.caBundle());
    // In a cluster the API server connects to the Service's endpoint and verifies the name
    // <service>.<namespace>.svc against the caBundle: so does this TLS client.
    assert.equal(await getAs(server.port(), "hooks.ops.svc", certificates.caBundle()), "ok");
    await assert.rejects(getAs(server.port(), "other.ops.svc", certificates.caBundle()), /ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames/);
    assert.deepEqual(server.mutatingWebhookConfiguration()!.webhooks[0]!.clientConfig.service, { namespace: "ops", name: "hooks", path: "/mutate-core-v1-configmap", port: 443 });

    // controller-runtime's webhook metrics, by path and HTTP code, in the manager's registry.
    const review = JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: {
      uid: "u1", kind: { group: "", version: "v1", kind: "ConfigMap" }, resource: { group: "", version: "v1", resource: "configmaps" },
      operation: "CREATE", namespace: "ops", name: "c", userInfo: { username: "u" }, object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "ops" } },
    } });
    assert.equal((await postAs(server.port(), "/mutate-core-v1-configmap", review, certificates.caBundle())).status, 200);
    assert.equal((await postAs(server.port(), "/mutate-core-v1-configmap", "not json", certificates.caBundle())).status, 400);
    const text = await mgr.metrics.metrics();
    assert.match(text, /controller_runtime_webhook_requests_total\{webhook="\/mutate-core-v1-configmap",code="200"\} 1/);
    assert.match(text, /controller_runtime_webhook_requests_total\{webhook="\/mutate-core-v1-configmap",code="400"\} 1/);
    assert.match(text, /controller_runtime_webhook_latency_seconds_count\{webhook="\/mutate-core-v1-configmap",code="200"\} 1/);
    assert.match(text, /controller_runtime_webhook_requests_in_flight\{webhook="\/mutate-core-v1-configmap"\} 0/);

    // A configuration replaced without the CA: not ready, until the check injects it again.
    await client.update(MutatingWebhookConfigurations, { ...injected, webhooks: injected.webhooks.map((w) => ({ ...w, clientConfig: { ...w.clientConfig, caBundle: undefined } })) });
    await waitFor(async () => (await readyz(mgr)).status === 200, { timeoutMs: 10_000, description: "/readyz to pass again" });
    const again = await client.get(MutatingWebhookConfigurations, { name: "hooks" });
    assert.equal(Buffer.from(again.webhooks[0]!.clientConfig.caBundle!, "base64").toString(), certificates.caBundle());
  } finally {
    stop.abort();
    await running;
  }
});
