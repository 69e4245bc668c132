import { randomBytes } from "node:crypto";
import { createClient, isNotFound, KubeConfig, type KubeClient } from "../client/index.ts";
import { Namespaces, Pods, ServiceAccounts } from "../meta/index.ts";
import { testControlPlane, type ControlPlane } from "./controlplane.ts";
import { waitFor } from "./wait.ts";

/** What an e2e test needs: the cluster, its kubeconfig and a client. */
export interface TestEnvironment {
  plane: ControlPlane;
  kubeConfig: KubeConfig;
  client: KubeClient;
}

/**
 * Connects to the test cluster (`testControlPlane`: `KUBELOOP_CLUSTER_DIR`, else `KUBECONFIG`)
 * and returns a client for it (envtest's `Environment.Start` + `client.New`). Close the client
 * with `client.close()` when done.
 * @throws Error with instructions when no cluster is configured or it does not answer.
 */
export async function testEnvironment(): Promise<TestEnvironment> {
  const plane = await testControlPlane();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(plane.kubeconfigPath);
  return { plane, kubeConfig, client: createClient({ kubeConfig }) };
}

/**
 * Creates a namespace `<prefix>-<6 hex digits>` (cut to 63 characters) and waits until
 * kube-controller-manager created its `default` ServiceAccount, without which the API server
 * refuses pods (timeout in milliseconds, default 60000). Resolves to the namespace's name.
 * @throws ApiError when the namespace cannot be created; WaitTimeoutError when the ServiceAccount does not appear.
 */
export async function createTestNamespace(client: KubeClient, prefix: string, timeoutMs = 60_000): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString("hex")}`.slice(0, 63);
  await client.create(Namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
  await waitFor(async () => client.get(ServiceAccounts, { namespace: name, name: "default" }), {
    timeoutMs, description: `ServiceAccount ${name}/default (kube-controller-manager creates it)`,
  });
  return name;
}

/**
 * Deletes a test namespace, first clearing finalizers of its pods (tests put some there) so it
 * can go. A namespace already gone is fine.
 * @throws ApiError for any other failure.
 */
export async function deleteTestNamespace(client: KubeClient, namespace: string): Promise<void> {
  try {
    for (const pod of (await client.list(Pods, { namespace })).items) {
      if (pod.metadata?.finalizers?.length) {
        await client.patch(Pods, { namespace, name: pod.metadata.name! }, { type: "merge", body: { metadata: { finalizers: null } } })
          .catch(() => {});
      }
    }
    await client.delete(Namespaces, { name: namespace });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
