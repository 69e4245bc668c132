/**
 * Shared pieces of the gpu-placement e2e tests: the cluster, the CRD installed from `crds/`, kwok
 * GPU nodes, pods, and the operator (inventory controller, and the scheduler when asked) running
 * in this process.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import { installCustomResourceDefinitions } from "../../../../framework/api/index.ts";
import { isNotFound, type KubeClient } from "../../../../framework/client/index.ts";
import { rootLogger } from "../../../../framework/log/index.ts";
import { Manager } from "../../../../framework/manager/index.ts";
import { Pods, type CustomResourceDefinition, type Pod } from "../../../../framework/meta/index.ts";
import { createFakeNodes, deleteFakeNodes, testEnvironment, waitFor, type FakeNodeSpec } from "../../../../framework/testing/index.ts";
import { GPUPlacementPolicies, type GPUPlacementPolicy, type GPUPlacementPolicySpecInput } from "../../../../operators/gpu-placement/api.ts";
import { setupGPUPlacement, type GPUPlacementSetup } from "../../../../operators/gpu-placement/setup.ts";
import { operatorClient } from "../../support/chart-rbac.ts";

export const TIMEOUT_MS = 60_000;
export const A100 = "NVIDIA-A100-SXM4-80GB";
export const H100 = "NVIDIA-H100-80GB-HBM3";
/** A scheduler nobody runs: pods stay pending until the test binds them. */
export const UNSERVED_SCHEDULER = "kubeloop-e2e-unserved";

/** The cluster and a client, with the GPUPlacementPolicy CRD installed. */
export interface Cluster {
  client: KubeClient;
  kubeconfigPath: string;
  /** The operator's client (its managers use it): it impersonates the chart's ServiceAccount (`operatorClient`). */
  operatorClient: KubeClient;
}

/**
 * Connects to the test cluster and installs the CRD from `crds/`. The operator's client has the
 * chart's rules for `operators` (a suite that runs more of them in its manager names them all).
 */
export async function connect(operators: readonly string[] = ["gpu-placement"]): Promise<Cluster> {
  const env = await testEnvironment();
  const text = await readFile(new URL("../../../../crds/gpuplacementpolicies.scheduling.kubeloop.dev.yaml", import.meta.url), "utf8");
  await installCustomResourceDefinitions(env.client, [parse(text) as CustomResourceDefinition], { fieldManager: "kubeloop-gpu-e2e", timeoutMs: TIMEOUT_MS });
  return { client: env.client, kubeconfigPath: env.plane.kubeconfigPath, operatorClient: await operatorClient(env, operators) };
}

/** Closes both clients of `connect` (nothing when it never connected). */
export function disconnect(cluster: Cluster | undefined): void {
  cluster?.client.close();
  cluster?.operatorClient.close();
}

/** kwok GPU nodes: `count` of one product, 8 GPUs each unless said otherwise. Returns their names. */
export async function gpuNodes(cluster: Cluster, prefix: string, count: number, spec: Omit<FakeNodeSpec, "name">): Promise<string[]> {
  return createFakeNodes(cluster.kubeconfigPath, { count, namePrefix: prefix, ...spec }, { timeoutMs: TIMEOUT_MS });
}

/** Deletes nodes (pods on them are deleted by the namespace cleanup). */
export async function removeNodes(cluster: Cluster, names: string[]): Promise<void> {
  if (names.length) await deleteFakeNodes(cluster.kubeconfigPath, names, { timeoutMs: TIMEOUT_MS });
}

/** A pod asking for `gpus` nvidia.com/gpu (request = limit). */
export function gpuPod(namespace: string, name: string, gpus: number, opts: { labels?: Record<string, string>; schedulerName?: string; extra?: Partial<NonNullable<Pod["spec"]>> } = {}): Pod {
  return {
    apiVersion: "v1", kind: "Pod",
    metadata: { name, namespace, labels: opts.labels ?? { app: "train" } },
    spec: {
      schedulerName: opts.schedulerName ?? UNSERVED_SCHEDULER,
      terminationGracePeriodSeconds: 0,
      containers: [{
        name: "train", image: "registry.k8s.io/pause:3.10",
        resources: gpus > 0 ? { requests: { cpu: "1", "nvidia.com/gpu": String(gpus) }, limits: { "nvidia.com/gpu": String(gpus) } } : { requests: { cpu: "1" } },
      }],
      ...opts.extra,
    },
  };
}

/** Creates a policy (cluster-scoped). */
export async function createPolicy(cluster: Cluster, name: string, spec: GPUPlacementPolicySpecInput): Promise<GPUPlacementPolicy> {
  return cluster.client.create(GPUPlacementPolicies, { apiVersion: GPUPlacementPolicies.apiVersion, kind: "GPUPlacementPolicy", metadata: { name }, spec } as GPUPlacementPolicy);
}

/** Deletes a policy; gone already is fine. */
export async function deletePolicy(cluster: Cluster, name: string): Promise<void> {
  await cluster.client.delete(GPUPlacementPolicies, { name }).catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
}

/** Polls `fn` until it stops throwing (an assertion), up to `timeoutMs`; rethrows the last failure. */
export async function eventually<T>(what: string, fn: () => Promise<T>, timeoutMs = TIMEOUT_MS): Promise<T> {
  let last: unknown;
  const found = await waitFor(async () => {
    try {
      return { value: await fn() };
    } catch (err) {
      last = err;
      return undefined;
    }
  }, { timeoutMs, intervalMs: 200, description: what }).catch((err: unknown) => {
    throw last instanceof Error ? last : err;
  });
  return found.value;
}

/** The operator in this process: a manager with the GPU placement operator set up. */
export interface Operator {
  mgr: Manager;
  setup: GPUPlacementSetup;
  stop(): Promise<void>;
}

/**
 * Starts a manager with the GPU placement operator (inventory controller with a short status
 * interval); `extra` adds more to it before start (e.g. a scheduler). Resolves once caches synced.
 */
export async function startOperator(cluster: Cluster, name: string, extra?: (mgr: Manager, setup: GPUPlacementSetup) => void): Promise<Operator> {
  const mgr = new Manager({ client: cluster.operatorClient, name, metricsBindAddress: "0", healthProbeBindAddress: "0", log: rootLogger });
  const setup = setupGPUPlacement(mgr, { inventory: { statusIntervalMs: 200 } });
  extra?.(mgr, setup);
  const { stop } = await startManager(mgr);
  return { mgr, setup, stop };
}

/**
 * Starts `mgr` (set up already) and resolves once its caches synced; `stop()` stops it and waits.
 * @throws Error when the manager stops, or its caches do not sync within TIMEOUT_MS.
 */
export async function startManager(mgr: Manager): Promise<{ stop: () => Promise<void> }> {
  const stop = new AbortController();
  const running = mgr.start(stop.signal);
  running.catch(() => {});
  await Promise.race([
    mgr.cache.waitForSync(AbortSignal.timeout(TIMEOUT_MS)),
    running.then(() => {
      throw new Error(`manager ${mgr.name} stopped before its cache synced`);
    }),
  ]);
  return {
    async stop() {
      stop.abort();
      await running.catch(() => {});
    },
  };
}

/** Binds a pod the way a scheduler does (pods/binding). */
export async function bind(cluster: Cluster, pod: Pod, nodeName: string): Promise<void> {
  await cluster.client.bind({ namespace: pod.metadata!.namespace!, name: pod.metadata!.name! }, nodeName);
}

/** The node a pod is bound to, or undefined. */
export async function nodeOf(cluster: Cluster, namespace: string, name: string): Promise<string | undefined> {
  return (await cluster.client.get(Pods, { namespace, name })).spec?.nodeName || undefined;
}

export { assert };
