/**
 * The setup every e2e file repeated: the shared control plane (`testEnvironment`), the
 * CustomResourceDefinitions the file needs, and a fresh namespace, removed again with the client
 * closed when the file's tests are done. Mirrors what envtest users write in `BeforeSuite` /
 * `AfterSuite`, once.
 */
import { after, before } from "node:test";
import type { KubeClient, KubeConfig } from "../../../framework/client/index.ts";
import { installCustomResourceDefinitions } from "../../../framework/api/index.ts";
import type { CustomResourceDefinition } from "../../../framework/meta/index.ts";
import { createTestNamespace, deleteTestNamespace, testEnvironment, type ControlPlane } from "../../../framework/testing/index.ts";
import { ReplicaSetDefinition } from "../../../operators/replicaset/index.ts";

/** What an e2e file gets; every field throws when read before the `before` hook has run. */
export interface TestNamespace {
  readonly client: KubeClient;
  readonly kubeConfig: KubeConfig;
  readonly plane: ControlPlane;
  /** Path of the kubeconfig for child processes (`KUBECONFIG`). */
  readonly kubeconfigPath: string;
  /** The namespace created for this file: `<prefix>-<6 hex digits>`. */
  readonly namespace: string;
}

/** Options of `useTestNamespace`. */
export interface TestNamespaceOptions {
  /** CRDs installed (server-side apply, waited for) before the namespace is created. */
  crds?: readonly CustomResourceDefinition[];
  /** Field manager of the CRD apply. Default `<prefix>-e2e`. */
  fieldManager?: string;
  /** How long creating the namespace (and its ServiceAccount) and installing CRDs may take, in ms. Default 60000. */
  timeoutMs?: number;
  /** Runs first in the `after` hook, before the namespace is deleted (kill child processes, delete cluster-scoped objects). */
  cleanup?: (env: TestNamespace) => Promise<void> | void;
}

/** The ReplicaSet operator's CRD, as most e2e files install it. */
export const replicaSetCrds = (): CustomResourceDefinition[] => [ReplicaSetDefinition.crd()];

/**
 * Registers this file's `before` hook (connect, install `crds`, create a namespace named after
 * `prefix`) and `after` hook (`cleanup`, delete the namespace, close the client), and returns the
 * handle the tests read them from: `const { client, namespace } = env;` inside a test.
 */
export function useTestNamespace(prefix: string, opts: TestNamespaceOptions = {}): TestNamespace {
  let state: { client: KubeClient; kubeConfig: KubeConfig; plane: ControlPlane; namespace?: string } | undefined;
  const ready = () => {
    if (!state?.namespace) throw new Error(`e2e ${prefix}: the test namespace is not set up (read it inside a test, after the before hook)`);
    return state as Required<typeof state>;
  };
  const env: TestNamespace = {
    get client() { return ready().client; },
    get kubeConfig() { return ready().kubeConfig; },
    get plane() { return ready().plane; },
    get kubeconfigPath() { return ready().plane.kubeconfigPath; },
    get namespace() { return ready().namespace; },
  };
  before(async () => {
    state = await testEnvironment();
    const timeoutMs = opts.timeoutMs ?? 60_000;
    if (opts.crds?.length) {
      await installCustomResourceDefinitions(state.client, opts.crds, { fieldManager: opts.fieldManager ?? `${prefix}-e2e`, timeoutMs });
    }
    state.namespace = await createTestNamespace(state.client, prefix, timeoutMs);
  });
  after(async () => {
    if (!state) return;
    try {
      if (state.namespace) await opts.cleanup?.(env);
    } finally {
      if (state.namespace) await deleteTestNamespace(state.client, state.namespace);
      state.client.close();
    }
  });
  return env;
}

/**
 * An `apps.kubeloop.dev` ReplicaSet of `replicas` pause pods labelled `app: <name>`, selected by
 * that label: the workload the operator e2e tests scale.
 */
export function pauseReplicaSet(name: string, namespace: string, replicas: number): ReturnType<typeof ReplicaSetDefinition.make> {
  return ReplicaSetDefinition.make({
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }] } },
    },
  });
}
