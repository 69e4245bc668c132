/**
 * Shared pieces of the gang-scheduling e2e tests: the cluster from `KUBECONFIG`, the PodGroup
 * CRD installed from `crds/`, the operator (or parts of it) running in this process, and object
 * makers shaped like upstream `test/integration/scheduler/podgroup/podgroup_test.go`.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { after, before } from "node:test";
import { parse } from "yaml";
import type { KubeClient } from "../../../../framework/client/index.ts";
import { installCustomResourceDefinitions } from "../../../../framework/api/index.ts";
import { Manager } from "../../../../framework/manager/index.ts";
import { Events, type CustomResourceDefinition, type Event, type Pod } from "../../../../framework/meta/index.ts";
import { rootLogger } from "../../../../framework/log/index.ts";
import { createFakeNodes, createTestNamespace, deleteFakeNodes, deleteTestNamespace, testEnvironment } from "../../../../framework/testing/index.ts";
import { POD_GROUP_LABEL, PodGroupDefinition, type PodGroup } from "../../../../operators/gang-scheduling/api.ts";
import { setupGangScheduling } from "../../../../operators/gang-scheduling/setup.ts";
import { operatorClient } from "../../support/chart-rbac.ts";

export const TIMEOUT_MS = 60_000;

/**
 * Connects to the test cluster and installs the PodGroup CRD from `crds/`. `operatorClient` (for
 * the operator's managers) impersonates the chart's ServiceAccount (`operatorClient` of the
 * support module); close it as well as `client`.
 */
export async function connect(): Promise<{ client: KubeClient; kubeconfigPath: string; operatorClient: KubeClient }> {
  const env = await testEnvironment();
  const text = await readFile(new URL("../../../../crds/podgroups.scheduling.kubeloop.dev.yaml", import.meta.url), "utf8");
  await installCustomResourceDefinitions(env.client, [parse(text) as CustomResourceDefinition], { fieldManager: "kubeloop-gang-e2e", timeoutMs: TIMEOUT_MS });
  return { client: env.client, kubeconfigPath: env.plane.kubeconfigPath, operatorClient: await operatorClient(env, "gang-scheduling") };
}

/** A kubeloop PodGroup. */
export function podGroup(namespace: string, name: string, minMember: number): PodGroup {
  return PodGroupDefinition.make({ metadata: { name, namespace }, spec: { minMember } });
}

/** A pause pod asking for `cpu`, in the kubeloop group `group` and/or the native group `native`. */
export function gangPod(namespace: string, name: string, o: {
  group?: string; native?: string; cpu?: string; schedulerName?: string; nodeSelector?: Record<string, string>;
} = {}): Pod {
  return {
    apiVersion: "v1", kind: "Pod",
    metadata: { name, namespace, ...(o.group ? { labels: { [POD_GROUP_LABEL]: o.group } } : {}) },
    spec: {
      schedulerName: o.schedulerName ?? "kubeloop-scheduler",
      containers: [{ name: "c", image: "registry.k8s.io/pause:3.10", resources: { requests: { cpu: o.cpu ?? "100m" } } }],
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
      ...(o.native ? { schedulingGroup: { podGroupName: o.native } } : {}),
    } as Pod["spec"],
  };
}

/** Events in `namespace` about the object `name` (kind `kind`), oldest first. */
export async function eventsAbout(client: KubeClient, namespace: string, kind: string, name: string): Promise<Event[]> {
  const list = await client.list(Events, { namespace });
  return list.items
    .filter((e) => e.regarding?.kind === kind && e.regarding?.name === name)
    .sort((a, b) => String(a.eventTime ?? "").localeCompare(String(b.eventTime ?? "")));
}

/** A manager without servers, its informers scoped to `namespace`, started with `setup`; resolves once synced. */
export async function startManager(client: KubeClient, namespace: string | undefined, setup: (mgr: Manager) => void): Promise<{ mgr: Manager; stop(): Promise<void> }> {
  const mgr = new Manager({
    client, name: `gang-e2e-${namespace ?? "all"}`, metricsBindAddress: "0", healthProbeBindAddress: "0",
    ...(namespace ? { cache: { defaultNamespace: namespace } } : {}), log: rootLogger,
  });
  setup(mgr);
  const stop = new AbortController();
  const running = mgr.start(stop.signal);
  running.catch(() => {});
  await mgr.cache.waitForSync(AbortSignal.timeout(TIMEOUT_MS));
  return {
    mgr,
    async stop() {
      stop.abort();
      await running.catch(() => {});
    },
  };
}

/** What `useGangSuite` sets up for a test file; the fields are set by its `before` hook. */
export interface GangSuite {
  client: KubeClient;
  /** The operator's client: it impersonates the chart's ServiceAccount. */
  operatorClient: KubeClient;
  kubeconfigPath: string;
  /** The file's own namespace (deleted after it). */
  ns: string;
  /** False when `when` said the file has nothing to run: no namespace, no operator. */
  active: boolean;
  /** Creates a pool of `count` kwok nodes with `cpu` each (deleted after the file); returns the nodeSelector that picks it. */
  pool(count: number, cpu: string): Promise<Record<string, string>>;
  /** Kwok nodes to delete after the file (the pools' and any the test adds). */
  nodes: string[];
}

/**
 * Registers the file's `before`/`after` hooks: connect (PodGroup CRD installed), a namespace
 * `<namespacePrefix>-<random>`, and the gang-scheduling operator (controller `controllerName`)
 * running in this process; after the file, the operator stops and the namespace and the nodes
 * go. With `when`, nothing is set up unless it resolves true (the test checks `suite.active`).
 */
export function useGangSuite(opts: { namespacePrefix: string; controllerName: string; nodePrefix: string; when?: (client: KubeClient) => Promise<boolean> }): GangSuite {
  let op: { stop(): Promise<void> } | undefined;
  const suite: GangSuite = {
    client: undefined as unknown as KubeClient, operatorClient: undefined as unknown as KubeClient, kubeconfigPath: "", ns: "", active: false, nodes: [],
    async pool(count, cpu) {
      const id = randomBytes(3).toString("hex");
      suite.nodes.push(...await createFakeNodes(suite.kubeconfigPath, { count, cpu, namePrefix: `${opts.nodePrefix}-${id}-`, labels: { "gang-e2e-pool": id } }));
      return { "gang-e2e-pool": id };
    },
  };
  before(async () => {
    ({ client: suite.client, kubeconfigPath: suite.kubeconfigPath, operatorClient: suite.operatorClient } = await connect());
    if (opts.when && !(await opts.when(suite.client))) return;
    suite.ns = await createTestNamespace(suite.client, opts.namespacePrefix);
    op = await startManager(suite.operatorClient, undefined, (mgr) => setupGangScheduling(mgr, { controller: { name: opts.controllerName } }));
    suite.active = true;
  });
  after(async () => {
    await op?.stop();
    if (!suite.client) return;
    if (suite.ns) await deleteTestNamespace(suite.client, suite.ns);
    if (suite.nodes.length) await deleteFakeNodes(suite.kubeconfigPath, suite.nodes).catch(() => {});
    suite.client.close();
    suite.operatorClient.close();
  });
  return suite;
}
