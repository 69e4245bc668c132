/**
 * The gpu-placement operator's scheduler-name webhook on the real API server. The operator runs
 * as `operators/main.ts` sets it up (`addWebhookServer` + `setupOperators`), its client
 * impersonating the chart's ServiceAccount, so the chart's webhook RBAC (the Secret in the
 * release namespace, get/update on the configuration by name) is what it has. The
 * MutatingWebhookConfiguration is the chart's generated webhook (`operatorWebhooks`), created by
 * the test as Helm would create it, without a caBundle, with `clientConfig.url` on 127.0.0.1 (the
 * local control plane cannot reach a Service) and its namespaceSelector narrowed to the test's
 * namespace (other test files create GPU pods at the same time).
 *
 * - The operator injects its CA; `/readyz` is ready only then, and re-injects after the caBundle
 *   is wiped (a configuration replaced by hand).
 * - A GPU pod a GPUPlacementPolicy selects, created without a scheduler, is created on
 *   kubeloop-scheduler with the policy's annotation (a dry-run create too), and the kubeloop
 *   scheduler binds it on the policy's product.
 * - Left as sent: a GPU pod no policy selects, one naming another scheduler, a pod without GPUs.
 * - With the operator stopped, a GPU pod is still admitted, on default-scheduler (failurePolicy Ignore).
 */
import { after, before, test } from "node:test";
import { MutatingWebhookConfigurations, addWebhookServer, type WebhookServer } from "../../../../framework/admission/index.ts";
import { isNotFound } from "../../../../framework/client/index.ts";
import { rootLogger } from "../../../../framework/log/index.ts";
import { Manager } from "../../../../framework/manager/index.ts";
import { Pods, type Pod } from "../../../../framework/meta/index.ts";
import { createTestNamespace, deleteTestNamespace, pickFreePorts, waitFor } from "../../../../framework/testing/index.ts";
import { GOVERNING_POLICY_ANNOTATION } from "../../../../operators/gpu-placement/index.ts";
import { setupOperators } from "../../../../operators/registry.ts";
import { localWebhookConfiguration } from "../../support/local-webhooks.ts";
import { OPERATOR_IDENTITY_NAMESPACE } from "../../support/chart-rbac.ts";
import { assert, connect, createPolicy, deletePolicy, disconnect, gpuNodes, gpuPod, removeNodes, TIMEOUT_MS, type Cluster, startManager } from "./harness.ts";

// The chart's names for the release `e2e-gpu-placement` that `connect` renders the identity of.
const CONFIGURATION = "e2e-gpu-placement-kubeloop";
const SECRET = "e2e-gpu-placement-kubeloop-webhook-certificates";
const PRODUCT = "E2E-SCHEDULER-NAME-GPU";
// Weight 10 and a name first in order: it governs the test's pods even if another file's policy selects them too.
const POLICY = "aaa-scheduler-name-e2e";
const APP = "scheduler-name-e2e";

let cluster: Cluster;
let ns: string;
let nodes: string[] = [];
let server: WebhookServer;
let mgr: Manager;
let stopManager: (() => Promise<void>) | undefined;


async function deleteConfiguration(): Promise<void> {
  await cluster.client.delete(MutatingWebhookConfigurations, { name: CONFIGURATION }).catch((e: unknown) => { if (!isNotFound(e)) throw e; });
}

/** Polls `probe` until it returns something other than undefined or false (up to TIMEOUT_MS). */
function until<T>(description: string, probe: () => Promise<T | undefined | false>): Promise<T> {
  return waitFor(probe, { timeoutMs: TIMEOUT_MS, intervalMs: 200, description });
}

async function readyz(): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://${mgr.healthProbeAddress()}/readyz?verbose`);
  return { status: res.status, body: await res.text() };
}

before(async () => {
  cluster = await connect(["gpu-placement"]);
  ns = await createTestNamespace(cluster.client, "gpu-webhook");
  nodes = await gpuNodes(cluster, "schedname-", 2, { gpus: 4, gpuProduct: PRODUCT, gpuMemoryMiB: 40960, labels: { pool: APP } });
  await createPolicy(cluster, POLICY, { selector: { matchLabels: { app: APP } }, strategy: "BinPack", requiredProducts: [PRODUCT], weight: 10 });
  // The Secret of an earlier run is left to be loaded (a restart); the configuration is made fresh, as `helm install` does.
  await deleteConfiguration();
  const port = (await pickFreePorts(1))[0]!;
  await cluster.client.create(MutatingWebhookConfigurations, localWebhookConfiguration("gpu-placement", CONFIGURATION, port, ns));

  mgr = new Manager({ client: cluster.operatorClient, name: "gpu-webhook-e2e", metricsBindAddress: "0", healthProbeBindAddress: "127.0.0.1:0", log: rootLogger });
  ({ server } = addWebhookServer(mgr, { port, secret: { namespace: OPERATOR_IDENTITY_NAMESPACE, name: SECRET }, configurationName: CONFIGURATION, resyncMs: 0 }));
  setupOperators(mgr, ["gpu-placement"], { webhooks: server, webhookExcludedNamespaces: [OPERATOR_IDENTITY_NAMESPACE] });
  ({ stop: stopManager } = await startManager(mgr));
});

after(async () => {
  await stopManager?.();
  await deleteConfiguration().catch(() => {});
  await deletePolicy(cluster, POLICY).catch(() => {});
  if (ns) await deleteTestNamespace(cluster.client, ns);
  await removeNodes(cluster, nodes);
  disconnect(cluster);
});

function pod(name: string, gpus: number, opts: { app?: string; schedulerName?: string } = {}): Pod {
  const p = gpuPod(ns, name, gpus, { labels: { app: opts.app ?? APP }, extra: { nodeSelector: { pool: APP } } });
  if (opts.schedulerName) p.spec!.schedulerName = opts.schedulerName;
  else delete p.spec!.schedulerName;
  return p;
}

test("the operator injects its CA into the chart's configuration, and is ready only then; a wiped caBundle is injected again by the ready check", { timeout: 120_000 }, async () => {
  await until("/readyz to pass (the CA injected)", async () => ((await readyz()).status === 200 ? true : undefined));
  const injected = await cluster.client.get(MutatingWebhookConfigurations, { name: CONFIGURATION });
  const bundle = Buffer.from(injected.webhooks[0]!.clientConfig.caBundle ?? "", "base64").toString();
  assert.ok(bundle.includes(server.serving().caPem.trim()), "the caBundle holds the CA of the certificate served");

  injected.webhooks[0]!.clientConfig.caBundle = undefined;
  await cluster.client.update(MutatingWebhookConfigurations, injected);
  await until("/readyz to pass again (re-injected)", async () => ((await readyz()).status === 200 ? true : undefined));
  const again = await cluster.client.get(MutatingWebhookConfigurations, { name: CONFIGURATION });
  assert.ok(again.webhooks[0]!.clientConfig.caBundle, "the ready check put the caBundle back");
});

test("a GPU pod the policy governs, created without a scheduler, lands on kubeloop-scheduler with the policy's annotation and is bound on the policy's product", { timeout: 120_000 }, async () => {
  await until("/readyz to pass", async () => ((await readyz()).status === 200 ? true : undefined));
  // The API server's webhook client may still hold the old caBundle for a moment after an injection.
  const dry = await until("a dry-run create to be routed", async () => {
    const p = await cluster.client.create(Pods, pod("dry", 2), { dryRun: true });
    return p.spec?.schedulerName === "kubeloop-scheduler" ? p : undefined;
  });
  assert.equal(dry.metadata?.annotations?.[GOVERNING_POLICY_ANNOTATION], POLICY);

  const created = await cluster.client.create(Pods, pod("routed", 2));
  assert.equal(created.spec?.schedulerName, "kubeloop-scheduler");
  assert.equal(created.metadata?.annotations?.[GOVERNING_POLICY_ANNOTATION], POLICY);
  const nodeName = await until("the routed pod to be bound", async () => (await cluster.client.get(Pods, { namespace: ns, name: "routed" })).spec?.nodeName || undefined);
  assert.ok(nodes.includes(nodeName), `bound on a ${PRODUCT} node (${nodeName})`);
});

test("left as sent: a GPU pod no policy selects, one naming another scheduler, one without GPUs", { timeout: 120_000 }, async () => {
  await until("/readyz to pass", async () => ((await readyz()).status === 200 ? true : undefined));
  await until("the webhook to answer", async () => ((await cluster.client.create(Pods, pod("probe", 1), { dryRun: true })).spec?.schedulerName === "kubeloop-scheduler" ? true : undefined));
  const unselected = await cluster.client.create(Pods, pod("unselected", 1, { app: "someone-else" }));
  assert.equal(unselected.spec?.schedulerName, "default-scheduler");
  assert.equal(unselected.metadata?.annotations?.[GOVERNING_POLICY_ANNOTATION], undefined);
  const other = await cluster.client.create(Pods, pod("other-scheduler", 1, { schedulerName: "volcano" }));
  assert.equal(other.spec?.schedulerName, "volcano");
  const cpuOnly = await cluster.client.create(Pods, pod("cpu-only", 0));
  assert.equal(cpuOnly.spec?.schedulerName, "default-scheduler", "no GPU request: the matchConditions keep it from the webhook");
});

test("with the operator stopped, GPU pods are still admitted, on default-scheduler (failurePolicy Ignore)", { timeout: 120_000 }, async () => {
  await stopManager!();
  const admitted = await cluster.client.create(Pods, pod("operator-down", 1));
  assert.equal(admitted.spec?.schedulerName, "default-scheduler");
  assert.equal(admitted.metadata?.annotations?.[GOVERNING_POLICY_ANNOTATION], undefined);
});
