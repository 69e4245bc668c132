// An operator as a user writes it in a repository of their own, with kubeloop installed from npm:
// it imports only `kubeloop/*`, and its test runs the reconciler against a real control plane
// through `kubeloop/testing` (KUBELOOP_CLUSTER_DIR or KUBECONFIG).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "kubeloop/client";
import { controllerFor, type Reconciler } from "kubeloop/controller";
import { Manager } from "kubeloop/manager";
import { ConfigMaps, type ConfigMap } from "kubeloop/meta";
import { createTestNamespace, deleteTestNamespace, testEnvironment, waitFor, type TestEnvironment } from "kubeloop/testing";

/** Keeps `<name>-echo` beside every ConfigMap labelled `echo: "true"`: same data, owned by it. */
function echoReconciler(client: KubeClient): Reconciler<ConfigMap> {
  return {
    async reconcile(req, ctx) {
      const source = ctx.getCached();
      if (!source || source.metadata?.labels?.["echo"] !== "true") return;
      const echo: ConfigMap = {
        apiVersion: "v1", kind: "ConfigMap",
        metadata: {
          name: `${req.name}-echo`, namespace: req.namespace,
          ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: req.name, uid: source.metadata!.uid!, controller: true }],
        },
        data: { ...source.data },
      };
      await client.patch(ConfigMaps, { namespace: req.namespace, name: echo.metadata!.name! }, {
        type: "apply", fieldManager: "echo-operator", force: true, body: echo,
      }, { signal: ctx.signal });
    },
  };
}

let env: TestEnvironment;
let namespace: string;
before(async () => {
  env = await testEnvironment();
  namespace = await createTestNamespace(env.client, "kubeloop-package-user");
});
after(async () => {
  await deleteTestNamespace(env.client, namespace);
  env.client.close();
});

test("the echo operator keeps a copy of a labelled ConfigMap", async () => {
  const mgr = new Manager({ client: env.client, name: "echo-operator", cache: { defaultNamespace: namespace }, metricsBindAddress: "0", healthProbeBindAddress: "0" });
  let reconciles = 0;
  const reconciler = echoReconciler(env.client);
  controllerFor(mgr, ConfigMaps).complete({ reconcile: (req, ctx) => (reconciles++, reconciler.reconcile(req, ctx)) });
  const stop = new AbortController();
  const running = mgr.start(stop.signal);
  try {
    await env.client.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "greeting", namespace, labels: { echo: "true" } }, data: { hello: "world" } });
    const copy = await waitFor(async () => {
      const cm = await env.client.get(ConfigMaps, { namespace, name: "greeting-echo" }).catch(() => undefined);
      return cm?.data?.["hello"] === "world" ? cm : undefined;
    }, { timeoutMs: 30_000, description: "greeting-echo with the data of greeting" });
    assert.equal(copy.metadata?.ownerReferences?.[0]?.name, "greeting");

    await env.client.patch(ConfigMaps, { namespace, name: "greeting" }, { type: "merge", body: { data: { hello: "again" } } });
    await waitFor(async () => (await env.client.get(ConfigMaps, { namespace, name: "greeting-echo" })).data?.["hello"] === "again" || undefined,
      { timeoutMs: 30_000, description: "greeting-echo to follow the change" });
    assert.ok(reconciles >= 2, `reconciled ${reconciles} times`);
    console.log(`echo operator: ${reconciles} reconciles`);
  } finally {
    stop.abort();
    await running;
  }
});
