/**
 * A missing RBAC rule, on the real API server: a controller whose client is a ServiceAccount
 * allowed to read ConfigMaps but not to create them reconciles a ConfigMap whose reconciler
 * creates another. The API server answers 403; the controller logs it and records a Warning
 * Event `Forbidden` on the ConfigMap naming the verb and the resource (the API server's message
 * names the ServiceAccount too), and retries with backoff: once the rule is granted, the copy is
 * created without anything else happening. Needs a cluster (`KUBECONFIG`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CoreV1Api } from "@kubernetes/client-node";
import { createClient, KubeConfig, isNotFound } from "../../../framework/client/index.ts";
import { controllerFor } from "../../../framework/controller/index.ts";
import { Manager } from "../../../framework/manager/index.ts";
import { ConfigMaps, Events, resourceType, ServiceAccounts, type ConfigMap, type KubeObject } from "../../../framework/meta/index.ts";
import { waitFor } from "../../../framework/testing/index.ts";
import { useTestNamespace } from "../support/test-namespace.ts";

const env = useTestNamespace("kubeloop-forbidden");
const Roles = resourceType<KubeObject & { rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> }>({
  group: "rbac.authorization.k8s.io", version: "v1", kind: "Role", plural: "roles", namespaced: true,
});
const RoleBindings = resourceType<KubeObject & { roleRef: unknown; subjects: unknown[] }>({
  group: "rbac.authorization.k8s.io", version: "v1", kind: "RoleBinding", plural: "rolebindings", namespaced: true,
});

/** A kubeconfig for the same cluster that authenticates as `namespace/name` with a 10-minute token. */
async function serviceAccountKubeConfig(namespace: string, name: string): Promise<KubeConfig> {
  const core = env.kubeConfig.makeApiClient(CoreV1Api);
  const token = await core.createNamespacedServiceAccountToken({ namespace, name, body: { spec: { audiences: [], expirationSeconds: 600 } } });
  const cluster = env.kubeConfig.getCurrentCluster()!;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster], users: [{ name, token: token.status!.token }],
    contexts: [{ name, cluster: cluster.name, user: name }], currentContext: name,
  });
  return kc;
}

test("a reconcile refused by RBAC is logged and reported as a Forbidden Event naming verb and resource, and succeeds once the rule is granted", { timeout: 120_000 }, async () => {
  const { client, namespace } = env;
  await client.create(ServiceAccounts, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "copier", namespace } });
  const rules = [
    { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["events.k8s.io"], resources: ["events"], verbs: ["create", "patch"] },
  ];
  await client.create(Roles, { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "copier", namespace }, rules });
  await client.create(RoleBindings, {
    apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "copier", namespace },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "copier" },
    subjects: [{ kind: "ServiceAccount", name: "copier", namespace }],
  });
  const restricted = createClient({ kubeConfig: await serviceAccountKubeConfig(namespace, "copier") });
  const mgr = new Manager({ client: restricted, name: "forbidden-e2e", cache: { defaultNamespace: namespace }, metricsBindAddress: "0", healthProbeBindAddress: "0" });
  controllerFor(mgr, ConfigMaps).named("copier").complete(async (req, ctx) => {
    const source = ctx.getCached();
    if (!source || source.metadata?.labels?.["copy"] !== "true") return;
    const copy: ConfigMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `${req.name}-copy`, namespace: req.namespace }, data: { ...source.data } };
    try {
      await restricted.create(ConfigMaps, copy, { signal: ctx.signal });
    } catch (err) {
      if (!(err instanceof Error && /AlreadyExists/.test(err.message))) throw err;
    }
  });
  const stop = new AbortController();
  const running = mgr.start(stop.signal);
  try {
    await client.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "source", namespace, labels: { copy: "true" } }, data: { a: "1" } });
    const event = await waitFor(async () => (await client.list(Events, { namespace })).items
      .find((e) => e.reason === "Forbidden" && e.regarding?.kind === "ConfigMap" && e.regarding.name === "source"), {
      timeoutMs: 30_000, description: "a Forbidden Event on ConfigMap source",
    });
    assert.equal(event.type, "Warning");
    assert.match(event.note ?? "", /^create ConfigMap refused: /, "the note names the verb and the resource");
    assert.match(event.note ?? "", /system:serviceaccount:[^:]+:copier.*cannot create resource "configmaps"/, "and the API server's message, with the ServiceAccount");
    assert.equal(event.reportingController, "copier-controller.kubeloop.dev");
    await assert.rejects(client.get(ConfigMaps, { namespace, name: "source-copy" }), isNotFound);

    // Grant the missing rule: the controller's backoff retry now succeeds.
    const role = await client.get(Roles, { namespace, name: "copier" });
    await client.update(Roles, { ...role, rules: [...rules, { apiGroups: [""], resources: ["configmaps"], verbs: ["create"] }] });
    const copy = await waitFor(async () => client.get(ConfigMaps, { namespace, name: "source-copy" }).catch(() => undefined), {
      timeoutMs: 60_000, intervalMs: 250, description: "the copy, once create is granted",
    });
    assert.equal(copy.data?.["a"], "1");
  } finally {
    stop.abort();
    await running;
    restricted.close();
  }
});
