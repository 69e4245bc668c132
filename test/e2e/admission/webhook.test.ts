/**
 * The webhook server called by the real kube-apiserver at `https://127.0.0.1:<port>`: a
 * validating webhook's denial reaches the client with its message, a mutating webhook's patch
 * is applied, a hanging handler is answered before the API server's timeout, `/readyz` turns
 * ready only once the configurations trust the CA served, and certificate rotations (3 serving
 * certificates and 1 CA) under steady requests fail none of them.
 * Needs a cluster: `KUBELOOP_CLUSTER_DIR` or `KUBECONFIG` (see `testControlPlane`).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  allow, CertificateManager, createCertificateAuthority, deny, mutate, splitPemBundle, ValidatingWebhookConfigurations, MutatingWebhookConfigurations, WebhookServer, webhookFor,
} from "../../../framework/admission/index.ts";
import { ApiError, type KubeClient } from "../../../framework/client/index.ts";
import { ConfigMaps, type ConfigMap } from "../../../framework/meta/index.ts";
import { createTestNamespace, deleteTestNamespace, testEnvironment } from "../../../framework/testing/index.ts";

let client: KubeClient;
let namespace: string;
let certificates: CertificateManager;
let server: WebhookServer;
const configurationName = `kubeloop-e2e-webhooks-${process.pid}`;

function configMap(name: string, data: Record<string, string> = {}, labels: Record<string, string> = {}): ConfigMap {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace, labels }, data };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

before(async () => {
  ({ client } = await testEnvironment());
  namespace = await createTestNamespace(client, "kubeloop-webhook-e2e");
  certificates = new CertificateManager({ client, secret: { namespace, name: "webhook-certs" }, propagationDelayMs: 2000 });
  await certificates.ensure();
  server = new WebhookServer({ certificates, port: 0, client, configurationName });
  const inNamespace = { matchLabels: { "kubernetes.io/metadata.name": namespace } };
  webhookFor(server, ConfigMaps).named("deny.configmaps.kubeloop.dev").inNamespaces(inNamespace).validate((req) =>
    req.object?.data?.forbidden !== undefined ? deny(`key "forbidden" is not allowed in ConfigMap ${req.name}`) : allow());
  webhookFor(server, ConfigMaps).named("label.configmaps.kubeloop.dev").inNamespaces(inNamespace).mutate((req) => {
    const cm = structuredClone(req.object!);
    cm.metadata = { ...cm.metadata, labels: { ...cm.metadata?.labels, "webhook.kubeloop.dev/seen": "true" } };
    return mutate(cm);
  });
  webhookFor(server, ConfigMaps).named("hang.configmaps.kubeloop.dev").path("/hang").inNamespaces(inNamespace)
    .forObjects({ matchLabels: { hang: "true" } }).timeoutSeconds(2).validate(() => new Promise<never>(() => {}));
  await server.listen();
});

after(async () => {
  await server?.close();
  if (client) {
    await client.delete(ValidatingWebhookConfigurations, { name: configurationName }).catch(() => {});
    await client.delete(MutatingWebhookConfigurations, { name: configurationName }).catch(() => {});
    if (namespace) await deleteTestNamespace(client, namespace);
    client.close();
  }
});

test("/readyz is false until the configurations trust the CA served, then the API server calls the webhooks", async () => {
  assert.match(await server.readiness() ?? "", /ValidatingWebhookConfiguration .*not found/i);
  await server.installConfigurations(client);
  assert.equal(await server.readiness(), undefined);
  const v = await client.get(ValidatingWebhookConfigurations, { name: configurationName });
  assert.equal(v.webhooks[0]!.clientConfig.url, `https://127.0.0.1:${server.port()}/validate-core-v1-configmap`);
  assert.equal(v.webhooks[0]!.sideEffects, "None");
  assert.equal(v.webhooks[0]!.failurePolicy, "Fail");

  // The API server picks the configuration up within about a second.
  const err = await until("the validating webhook to deny", async () => {
    try {
      await client.create(ConfigMaps, configMap("refused", { forbidden: "x" }), { dryRun: true });
      return undefined;
    } catch (e) {
      return e instanceof ApiError ? e : undefined;
    }
  });
  assert.equal(err.statusCode, 403);
  assert.equal(err.status.message, `admission webhook "deny.configmaps.kubeloop.dev" denied the request: key "forbidden" is not allowed in ConfigMap refused`);

  const created = await client.create(ConfigMaps, configMap("labelled", { a: "1" }));
  assert.equal(created.metadata?.labels?.["webhook.kubeloop.dev/seen"], "true");
});

test("a hanging handler is answered before the API server's 2 s timeout (as an error, not a transport failure)", async () => {
  const started = Date.now();
  const err = await client.create(ConfigMaps, configMap("hangs", {}, { hang: "true" }), { dryRun: true }).then(() => undefined, (e: unknown) => e);
  const ms = Date.now() - started;
  assert.ok(err instanceof ApiError, String(err));
  assert.match(err.status.message ?? "", /admission webhook "hang.configmaps.kubeloop.dev" denied the request: webhook hang.configmaps.kubeloop.dev did not answer within 1750 ms/);
  // The message is ours, so the API server did not time out first (it would report a deadline).
  assert.ok(ms < 5000, `took ${ms} ms`);
});

test("3 serving-certificate rotations and 1 CA rotation under steady requests: zero failures", async (t) => {
  const caBefore = certificates.current().caPem;
  const reloadsBefore = server.reloads;
  let stop = false;
  let sent = 0;
  const failures: string[] = [];
  const latenciesMs: number[] = [];
  // ~25 requests/s over 2 concurrent loops; every one passes both webhooks (failurePolicy Fail).
  const loop = async (id: number): Promise<void> => {
    while (!stop) {
      const n = sent++;
      try {
        const started = performance.now();
        const cm = await client.create(ConfigMaps, configMap(`load-${id}-${n}`, { n: String(n) }), { dryRun: true });
        latenciesMs.push(performance.now() - started);
        if (cm.metadata?.labels?.["webhook.kubeloop.dev/seen"] !== "true") failures.push(`${n}: not mutated`);
      } catch (e) {
        failures.push(`${n}: ${String(e)}`);
      }
      await new Promise((r) => setTimeout(r, 80));
    }
  };
  const loops = [loop(0), loop(1)];
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    await certificates.rotate();
  }
  await new Promise((r) => setTimeout(r, 1000));
  await certificates.rotate({ ca: true });
  await new Promise((r) => setTimeout(r, 2000));
  stop = true;
  await Promise.all(loops);

  latenciesMs.sort((a, b) => a - b);
  const pct = (p: number): string => latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(p * latenciesMs.length))]!.toFixed(1);
  t.diagnostic(`${sent} requests through both webhooks during the rotations; dry-run create latency p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms`);
  assert.deepEqual(failures, [], `${failures.length} of ${sent} requests failed`);
  assert.ok(sent >= 100, `only ${sent} requests sent`);
  assert.equal(server.reloads - reloadsBefore, 4, "3 leaf rotations + the CA rotation's new leaf");
  const caAfter = certificates.current().caPem;
  assert.notEqual(caAfter, caBefore);
  // The old CA has left the bundle; the configurations trust only the new one.
  const v = await client.get(ValidatingWebhookConfigurations, { name: configurationName });
  const bundle = splitPemBundle(Buffer.from(v.webhooks[0]!.clientConfig.caBundle!, "base64").toString());
  assert.deepEqual(bundle.map((p) => p.trim()), [caAfter.trim()]);
  assert.equal(await server.readiness(), undefined);
});

test("the control: swapping the caBundle at once (cert-controller's way) fails requests until the new certificate is served", async () => {
  // A new CA goes into the validating configuration alone, while the server still serves a
  // certificate of the current CA: the API server no longer trusts what it is served.
  const next = await createCertificateAuthority("control-ca", 3600_000);
  const cfg = await client.get(ValidatingWebhookConfigurations, { name: configurationName });
  for (const w of cfg.webhooks) w.clientConfig.caBundle = Buffer.from(next.certPem).toString("base64");
  await client.update(ValidatingWebhookConfigurations, cfg);
  const failure = await until("a request to fail", async () => {
    try {
      await client.create(ConfigMaps, configMap("control", { a: "1" }), { dryRun: true });
      return undefined;
    } catch (e) {
      return e instanceof ApiError ? e : undefined;
    }
  });
  assert.match(failure.status.message ?? "", /failed calling webhook "deny.configmaps.kubeloop.dev".*(x509|certificate)/);
  assert.match(await server.readiness() ?? "", /does not hold the CA of the certificate served/);
  // The manager puts its bundle back, and requests pass again.
  await certificates.ensure();
  await until("requests to pass again", async () => (await client.create(ConfigMaps, configMap("control-2", { a: "1" }), { dryRun: true })) ?? undefined);
  assert.equal(await server.readiness(), undefined);
});
