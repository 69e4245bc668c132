/**
 * The demo's admission webhook: the gpu-placement operator's scheduler-name webhook served by the
 * demo's manager on 127.0.0.1 (the local control plane calls it there), as `operators/main.ts`
 * serves it with `--webhook-bind-address`. The demo installs the configuration itself (the chart
 * does in a cluster), for the demo namespace only, and the operator keeps its certificates in a
 * Secret of that namespace.
 */
import { addWebhookServer, MutatingWebhookConfigurations, type ManagedWebhookServer } from "../framework/admission/index.ts";
import { isNotFound, type KubeClient } from "../framework/client/index.ts";
import type { Manager } from "../framework/manager/index.ts";
import { waitFor } from "../framework/testing/index.ts";

/** Name of the demo's MutatingWebhookConfiguration, and of the Secret of its certificates (`-certificates`). */
export const DEMO_WEBHOOK_CONFIGURATION = "kubeloop-demo-webhooks";

/** Adds the webhook server to the demo's manager (a free port; certificates in `namespace`). Register webhooks before the manager starts. */
export function addDemoWebhookServer(mgr: Manager, namespace: string): ManagedWebhookServer {
  return addWebhookServer(mgr, { port: 0, secret: { namespace, name: `${DEMO_WEBHOOK_CONFIGURATION}-certificates` }, configurationName: DEMO_WEBHOOK_CONFIGURATION });
}

/**
 * Once the server listens, creates its MutatingWebhookConfiguration with `admin` (its CA in the
 * caBundle, only `namespace` matched) and waits until the server is ready (its CA read back from
 * the API server).
 * @throws WaitTimeoutError when the server does not listen or get ready within `timeoutMs`.
 */
export async function installDemoWebhooks(admin: KubeClient, webhooks: ManagedWebhookServer, namespace: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const { server } = webhooks;
  await waitFor(async () => { try { return server.port() > 0; } catch { return false; } }, { timeoutMs, description: "the webhook server to listen", signal });
  const configuration = server.mutatingWebhookConfiguration()!;
  for (const w of configuration.webhooks) w.namespaceSelector = { matchLabels: { "kubernetes.io/metadata.name": namespace } };
  await admin.patch(MutatingWebhookConfigurations, { name: configuration.metadata.name }, { type: "apply", body: configuration, fieldManager: "kubeloop-demo", force: true });
  await waitFor(async () => (await server.readiness()) === undefined, { timeoutMs, description: "the webhook server to be ready (its CA in the configuration)", signal });
}

/** Deletes the demo's configuration (absent is fine). */
export async function removeDemoWebhooks(admin: KubeClient): Promise<void> {
  await admin.delete(MutatingWebhookConfigurations, { name: DEMO_WEBHOOK_CONFIGURATION }).catch((e: unknown) => { if (!isNotFound(e)) throw e; });
}
