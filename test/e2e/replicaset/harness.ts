/**
 * Shared pieces of the ReplicaSet e2e tests: a cluster from `KUBECONFIG` (or
 * `KUBELOOP_CLUSTER_DIR`), the CRD installed from `crds/`, the operator running in this process,
 * and helpers shaped like the ones of upstream `test/integration/replicaset/replicaset_test.go`.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before } from "node:test";
import { parse } from "yaml";
import { isConflict, type KubeClient } from "../../../framework/client/index.ts";
import { InformerCache } from "../../../framework/cache/index.ts";
import { Manager } from "../../../framework/manager/index.ts";
import { Pods, type CustomResourceDefinition, type Pod } from "../../../framework/meta/index.ts";
import { rootLogger } from "../../../framework/log/index.ts";
import { createTestNamespace, deleteTestNamespace, testEnvironment, waitFor } from "../../../framework/testing/index.ts";
import { installCustomResourceDefinitions } from "../../../framework/api/index.ts";
import { ReplicaSets, type ReplicaSet } from "../../../operators/replicaset/api.ts";
import { operatorClient } from "../support/chart-rbac.ts";
import { setupReplicaSetController, type ReplicaSetControllerHandle } from "../../../operators/replicaset/index.ts";

/** Poll interval and timeout of the upstream tests. */
export const INTERVAL_MS = 100;
export const TIMEOUT_MS = 60_000;
/** A scheduler nobody runs: pods stay unscheduled and only the test changes their status. */
export const UNSERVED_SCHEDULER = "kubeloop-e2e-unserved";

export function labelMap(): Record<string, string> {
  return { foo: "bar" };
}

/** The cluster and a client, with the CRD installed. */
export interface Cluster {
  client: KubeClient;
  kubeconfigPath: string;
  /** The operator's client: it impersonates the chart's ServiceAccount (`operatorClient`). */
  operatorClient: KubeClient;
}

/**
 * Connects to the test cluster and installs the CRD from `crds/`.
 * @throws Error with instructions when no cluster is configured.
 */
export async function connect(): Promise<Cluster> {
  const env = await testEnvironment();
  const text = await readFile(new URL("../../../crds/replicasets.apps.kubeloop.dev.yaml", import.meta.url), "utf8");
  await installCustomResourceDefinitions(env.client, [parse(text) as CustomResourceDefinition], { fieldManager: "kubeloop-rs-e2e", timeoutMs: TIMEOUT_MS });
  return { client: env.client, kubeconfigPath: env.plane.kubeconfigPath, operatorClient: await operatorClient(env, "replicaset") };
}

/** The operator running in this process, watching one namespace. */
export interface Operator {
  cache: InformerCache;
  handle: ReplicaSetControllerHandle;
  stop(): Promise<void>;
}

/**
 * Starts the ReplicaSet operator in this process (a `Manager` without metrics or probe servers)
 * with its informers scoped to `namespace`, the
 * way each upstream integration test starts its own controller: tests stay independent, even
 * when test files run in parallel. Resolves once the caches hold the initial lists (objects
 * created before are seen, as upstream's `waitToObservePods` ensures).
 */
export async function startOperator(client: KubeClient, namespace: string): Promise<Operator> {
  const mgr = new Manager({
    client,
    name: `replicaset-e2e-${namespace}`,
    metricsBindAddress: "0",
    healthProbeBindAddress: "0",
    cache: { defaultNamespace: namespace },
    log: rootLogger,
  });
  const handle = setupReplicaSetController(mgr, { maxConcurrentReconciles: 5 });
  const stopSignal = new AbortController();
  const running = mgr.start(stopSignal.signal);
  running.catch(() => {});
  await Promise.race([mgr.cache.waitForSync(AbortSignal.timeout(TIMEOUT_MS)), running.then(() => {
    throw new Error(`the operator's manager for ${namespace} stopped before its cache synced`);
  })]);
  return {
    cache: mgr.cache,
    handle,
    async stop() {
      stopSignal.abort();
      await running;
    },
  };
}

/** What a ReplicaSet e2e file gets from `useOperatorSuite`; `client` throws before the `before` hook ran. */
export interface OperatorSuite {
  readonly client: KubeClient;
  readonly kubeconfigPath: string;
  /** A new namespace `<prefix>-<random>`, deleted after the file's tests. */
  namespace(prefix: string): Promise<string>;
  /** Starts the operator scoped to `namespace` (`startOperator`), stopped after the file's tests. */
  operator(namespace: string): Promise<Operator>;
}

/** Options of `useOperatorSuite`. */
export interface OperatorSuiteOptions {
  /** Runs in the `before` hook once connected (create nodes, ...). */
  setup?: (cluster: Cluster) => Promise<void>;
  /** Runs in the `after` hook for each namespace before it is deleted (operators are stopped by then). */
  beforeNamespaceDelete?: (cluster: Cluster, namespace: string) => Promise<void>;
  /** Runs in the `after` hook once the namespaces are deleted, before the client is closed (delete nodes, ...). */
  cleanup?: (cluster: Cluster) => Promise<void>;
}

/**
 * Registers the file's `before` hook (connect, install the CRD, `setup`) and `after` hook (stop
 * every operator started through the suite, delete every namespace it made, `cleanup`, close
 * the client): the frame every ReplicaSet e2e file shares, as upstream's tests share
 * `rmSetup`/`runControllerAndInformers` and their deferred teardowns.
 */
export function useOperatorSuite(opts: OperatorSuiteOptions = {}): OperatorSuite {
  let cluster: Cluster | undefined;
  const namespaces: string[] = [];
  const operators: Operator[] = [];
  const connected = (): Cluster => {
    if (!cluster) throw new Error("the ReplicaSet e2e suite is not connected yet (use it inside a test, after the before hook)");
    return cluster;
  };
  before(async () => {
    cluster = await connect();
    await opts.setup?.(cluster);
  });
  after(async () => {
    if (!cluster) return;
    try {
      for (const op of operators) await op.stop();
      for (const ns of namespaces) {
        await opts.beforeNamespaceDelete?.(cluster, ns);
        await deleteNamespace(cluster.client, ns);
      }
      await opts.cleanup?.(cluster);
    } finally {
      cluster.client.close();
      cluster.operatorClient.close();
    }
  });
  return {
    get client() { return connected().client; },
    get kubeconfigPath() { return connected().kubeconfigPath; },
    async namespace(prefix) {
      const ns = await createNamespace(connected().client, prefix);
      namespaces.push(ns);
      return ns;
    },
    async operator(namespace) {
      const op = await startOperator(connected().operatorClient, namespace);
      operators.push(op);
      return op;
    },
  };
}

/** A namespace `<prefix>-<random>` whose default ServiceAccount exists (pods need it). */
export function createNamespace(client: KubeClient, prefix: string): Promise<string> {
  return createTestNamespace(client, prefix, TIMEOUT_MS);
}

/** Deletes a namespace, first removing test finalizers from its pods so it can go. */
export const deleteNamespace = deleteTestNamespace;

/** Upstream `newRS`: selector and template labels `foo=bar`, pods that are never scheduled. */
export function newRS(name: string, namespace: string, replicas: number): ReplicaSet {
  return {
    apiVersion: ReplicaSets.apiVersion,
    kind: ReplicaSets.kind,
    metadata: { name, namespace },
    spec: {
      replicas,
      minReadySeconds: 0,
      selector: { matchLabels: labelMap() },
      template: {
        metadata: { labels: labelMap() },
        spec: { schedulerName: UNSERVED_SCHEDULER, containers: [{ name: "fake-name", image: "fakeimage" }] },
      },
    },
  } as ReplicaSet;
}

/** Upstream `newMatchingPod`: labels `foo=bar`, never scheduled. */
export function newMatchingPod(name: string, namespace: string): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: labelMap() },
    spec: { schedulerName: UNSERVED_SCHEDULER, containers: [{ name: "fake-name", image: "fakeimage" }] },
  };
}

/** Pods in `namespace` whose labels include `labels` (terminating ones too, like a plain LIST). */
export async function getPods(client: KubeClient, namespace: string, labels: Record<string, string> = labelMap()): Promise<Pod[]> {
  const labelSelector = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",");
  return (await client.list(Pods, { namespace, labelSelector })).items;
}

async function retryOnConflict<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isConflict(err) || attempt >= 10) throw err;
    }
  }
}

/** GET, change, PUT, retried on conflict (upstream `updatePod`). */
export function updatePod(client: KubeClient, namespace: string, name: string, change: (pod: Pod) => void): Promise<Pod> {
  return retryOnConflict(async () => {
    const pod = await client.get(Pods, { namespace, name });
    change(pod);
    return client.update(Pods, pod);
  });
}

/** GET, change, PUT to `status`, retried on conflict (upstream `updatePodStatus`). */
export function updatePodStatus(client: KubeClient, namespace: string, name: string, change: (pod: Pod) => void): Promise<Pod> {
  return retryOnConflict(async () => {
    const pod = await client.get(Pods, { namespace, name });
    change(pod);
    return client.updateStatus(Pods, pod);
  });
}

/** GET, change, PUT of a ReplicaSet, retried on conflict (upstream `updateRS`). */
export function updateRS(client: KubeClient, namespace: string, name: string, change: (rs: ReplicaSet) => void): Promise<ReplicaSet> {
  return retryOnConflict(async () => {
    const rs = await client.get(ReplicaSets, { namespace, name });
    change(rs);
    return client.update(ReplicaSets, rs);
  });
}

/** Upstream `WaitRSStable`: observedGeneration caught up and status.replicas == spec.replicas. */
export async function waitRSStable(client: KubeClient, namespace: string, name: string): Promise<ReplicaSet> {
  return waitFor(async () => {
    const rs = await client.get(ReplicaSets, { namespace, name });
    const stable = (rs.status?.observedGeneration ?? 0) >= (rs.metadata?.generation ?? 1) && rs.status?.replicas === rs.spec?.replicas;
    return stable ? rs : undefined;
  }, { timeoutMs: TIMEOUT_MS, intervalMs: INTERVAL_MS, description: `ReplicaSet ${namespace}/${name} to be stable (status.replicas == spec.replicas)` });
}

/** Upstream `scaleRS`: set spec.replicas and wait until stable. */
export async function scaleRS(client: KubeClient, namespace: string, name: string, replicas: number): Promise<void> {
  await updateRS(client, namespace, name, (rs) => { rs.spec.replicas = replicas; });
  await waitRSStable(client, namespace, name);
}

/** Waits until the operator's pod cache holds `count` pods of `namespace` (upstream `waitToObservePods`). */
export async function waitOperatorSeesPods(op: Operator, namespace: string, count: number): Promise<void> {
  const store = op.cache.informerFor(Pods).store;
  await waitFor(async () => store.list(namespace).length === count, {
    timeoutMs: TIMEOUT_MS, intervalMs: INTERVAL_MS, description: `the operator's cache to hold ${count} pods in ${namespace}`,
  });
}

/** The controller reference of a pod, or undefined. */
export function controllerRefOf(pod: Pod) {
  return pod.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/** Polls until `probe` passes (returns without throwing an AssertionError). */
export async function eventually(description: string, probe: () => Promise<void>, timeoutMs = TIMEOUT_MS): Promise<void> {
  await waitFor(async () => {
    await probe();
    return true;
  }, { timeoutMs, intervalMs: INTERVAL_MS * 2, description });
}

export { assert };
