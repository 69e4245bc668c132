/**
 * CertificateManager over the FakeClient: the Secret it writes, loading instead of re-creating,
 * renewal before expiry, the three steps of a CA rotation (the certificate served always chains
 * to a CA in the configurations' caBundle), resuming a CA rotation cut short by a restart, and
 * replicas that create or rotate at the same moment (conditional writes: one wins, the others
 * load its state).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import {
  CertificateManager, certificateInfo, createCertificateAuthority, isSignedBy, Secrets, splitPemBundle, ValidatingWebhookConfigurations,
  type ServingCertificate, type ValidatingWebhookConfiguration,
} from "../../../framework/admission/index.ts";
import { FakeClient } from "../../../framework/testing/index.ts";

const secret = { namespace: "ns", name: "certs" };
const day = 86_400_000;

function config(): ValidatingWebhookConfiguration {
  return {
    apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingWebhookConfiguration", metadata: { name: "hooks" },
    webhooks: [{ name: "a.b.c", clientConfig: { url: "https://127.0.0.1:1/a" }, sideEffects: "None", admissionReviewVersions: ["v1"] }],
  };
}

async function configBundle(client: FakeClient): Promise<string[]> {
  const cfg = await client.get(ValidatingWebhookConfigurations, { name: "hooks" });
  return splitPemBundle(Buffer.from(cfg.webhooks[0]!.clientConfig.caBundle ?? "", "base64").toString()).map((p) => p.trim());
}

function manager(client: FakeClient, extra: Partial<ConstructorParameters<typeof CertificateManager>[0]> = {}): CertificateManager {
  return new CertificateManager({ client, secret, propagationDelayMs: 20, validatingConfigurations: ["hooks"], certValidityMs: 30 * day, ...extra });
}

test("ensure() creates the Secret, a serving certificate for 127.0.0.1 signed by the CA, and injects the CA", async () => {
  const client = new FakeClient();
  await client.create(ValidatingWebhookConfigurations, config());
  const m = manager(client);
  await m.ensure();
  const s = await client.get(Secrets, secret);
  assert.equal(s.type, "kubernetes.io/tls");
  assert.deepEqual(Object.keys(s.data ?? {}).sort(), ["ca-bundle.crt", "ca.crt", "ca.key", "tls.crt", "tls.key"]);
  const cert = m.current();
  assert.ok(isSignedBy(cert.certPem, cert.caPem));
  assert.equal(new X509Certificate(cert.certPem).checkIP("127.0.0.1"), "127.0.0.1");
  assert.deepEqual(await configBundle(client), [cert.caPem.trim()]);
  const info = certificateInfo(cert.certPem);
  assert.ok(Math.abs(info.notAfterMs - (Date.now() + 30 * day)) < 60_000);

  // Another manager (a restart) loads what is stored.
  const again = manager(client);
  await again.ensure();
  assert.equal(again.current().certPem, cert.certPem);
});

test("a serving certificate within its renewal window is replaced, signed by the same CA", async () => {
  const client = new FakeClient();
  const m = manager(client, { certRenewBeforeMs: 7 * day });
  await m.ensure();
  const first = m.current();
  const seen: ServingCertificate[] = [];
  m.onChange((c) => seen.push(c));
  await m.ensure(Date.now() + 10 * day); // 20 days left: nothing to do
  assert.equal(seen.length, 0);
  await m.ensure(Date.now() + 24 * day); // 6 days left
  assert.equal(seen.length, 1);
  assert.notEqual(m.current().certPem, first.certPem);
  assert.equal(m.current().caPem, first.caPem);
});

test("CA rotation: old+new CA in the bundle before the new certificate is served, then only the new CA", async () => {
  const client = new FakeClient();
  await client.create(ValidatingWebhookConfigurations, config());
  const m = manager(client);
  await m.ensure();
  const oldCa = m.current().caPem.trim();
  const bundleWhenServed: string[][] = [];
  m.onChange((c) => {
    // What the API server trusts at the moment the server switches certificates.
    void configBundle(client).then((b) => bundleWhenServed.push([...b, `served-by:${c.caPem.trim()}`]));
  });
  await m.rotate({ ca: true });
  const newCa = m.current().caPem.trim();
  assert.notEqual(newCa, oldCa);
  assert.equal(bundleWhenServed.length, 1);
  assert.deepEqual(bundleWhenServed[0], [oldCa, newCa, `served-by:${newCa}`]);
  assert.deepEqual(await configBundle(client), [newCa]);
  assert.deepEqual(splitPemBundle(m.caBundle()).map((p) => p.trim()), [newCa]);
});

test("a CA rotation cut short after step 1 is finished by the next ensure()", async () => {
  const client = new FakeClient();
  await client.create(ValidatingWebhookConfigurations, config());
  const m = manager(client);
  await m.ensure();
  const old = m.current();
  // Step 1 done by a process that then died: new CA stored and trusted with the old, old leaf served.
  const next = await createCertificateAuthority("kubeloop-webhook-ca", 3650 * day);
  const s = await client.get(Secrets, secret);
  const b64 = (x: string): string => Buffer.from(x).toString("base64");
  await client.update(Secrets, { ...s, data: { ...s.data, "ca.crt": b64(next.certPem), "ca.key": b64(next.keyPem), "ca-bundle.crt": b64(old.caPem + next.certPem) } });

  const restarted = manager(client);
  await restarted.ensure();
  assert.ok(isSignedBy(restarted.current().certPem, next.certPem), "serves a certificate of the new CA");
  assert.deepEqual(await configBundle(client), [next.certPem.trim()]);
});

test("two replicas starting at once end with one Secret and serve the same certificate (the one that lost the create loads the other's)", async () => {
  const client = new FakeClient();
  await client.create(ValidatingWebhookConfigurations, config());
  const [a, b] = [manager(client), manager(client)];
  await Promise.all([a.ensure(), b.ensure()]);
  assert.equal(a.current().certPem, b.current().certPem);
  const stored = await client.get(Secrets, secret);
  assert.equal(Buffer.from(stored.data!["tls.crt"]!, "base64").toString(), a.current().certPem);
  assert.deepEqual(await configBundle(client), [a.current().caPem.trim()]);
  // A certificate one replica renews reaches the other at its next ensure(), with a change event (the server reloads).
  const reloaded: string[] = [];
  b.onChange((cert) => reloaded.push(cert.certPem));
  await a.rotate();
  await b.ensure();
  assert.deepEqual(reloaded, [a.current().certPem]);
  assert.equal(b.current().certPem, a.current().certPem);

  // The same with an empty Secret already there (the chart creates one, so that uninstalling removes it).
  const charted = new FakeClient();
  await charted.create(ValidatingWebhookConfigurations, config());
  await charted.create(Secrets, { apiVersion: "v1", kind: "Secret", metadata: { ...secret }, type: "Opaque" });
  const [c, d] = [manager(charted), manager(charted)];
  await Promise.all([c.ensure(), d.ensure()]);
  assert.equal(c.current().certPem, d.current().certPem);
  const filled = await charted.get(Secrets, secret);
  assert.equal(filled.type, "Opaque", "the chart's Secret is filled in, not replaced");
  assert.equal(Buffer.from(filled.data!["tls.crt"]!, "base64").toString(), c.current().certPem);
});

test("two replicas rotating the CA at once: neither serves a certificate whose CA left the caBundle, and both end on one CA and one certificate", async () => {
  const client = new FakeClient();
  await client.create(ValidatingWebhookConfigurations, config());
  const [a, b] = [manager(client), manager(client)];
  await a.ensure();
  await b.ensure();
  const firstCa = a.current().caPem.trim();
  const served = new Map<string, string>([["a", firstCa], ["b", b.current().caPem.trim()]]);
  const violations: string[] = [];
  // Every 5 ms, and at each switch: the CA of what each replica serves must be in the bundle the API server has.
  const check = async (when: string): Promise<void> => {
    const bundle = await configBundle(client);
    for (const [who, ca] of served) if (!bundle.includes(ca)) violations.push(`${when}: replica ${who} serves a certificate of a CA not in the caBundle`);
  };
  a.onChange((c) => { served.set("a", c.caPem.trim()); void check("a switched"); });
  b.onChange((c) => { served.set("b", c.caPem.trim()); void check("b switched"); });
  const timer = setInterval(() => void check("poll"), 5);
  try {
    const inRenewalWindow = Date.now() + 3000 * day; // the CA (10 years, renewed a quarter before) is due
    await Promise.all([a.ensure(inRenewalWindow), b.ensure(inRenewalWindow)]);
    await a.ensure(inRenewalWindow);
    await b.ensure(inRenewalWindow);
  } finally {
    clearInterval(timer);
  }
  await check("end");
  assert.deepEqual(violations, []);
  assert.equal(a.current().certPem, b.current().certPem);
  const stored = await client.get(Secrets, secret);
  assert.equal(Buffer.from(stored.data!["tls.crt"]!, "base64").toString(), a.current().certPem);
  assert.deepEqual(await configBundle(client), [a.current().caPem.trim()]);
  assert.ok(isSignedBy(a.current().certPem, a.current().caPem));
  assert.notEqual(a.current().caPem.trim(), firstCa, "the CA was rotated");
});
