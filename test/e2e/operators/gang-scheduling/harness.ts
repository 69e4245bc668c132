/**
 * Shared pieces of the gang-scheduling e2e tests: the cluster from `KUBECONFIG`, the PodGroup
 * CRD installed from `crds/`, the operator (or parts of it) running in this process, and object
 * makers shaped like upstream `test/integration/scheduler/podgroup/podgroup_test.go`.
 */
import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import type { KubeClient } from "../../../../framework/client/index.ts";
import { installCustomResourceDefinitions } from "../../../../framework/api/index.ts";
import { Manager } from "../../../../framework/manager/index.ts";
import { Events, type CustomResourceDefinition, type Event, type Pod } from "../../../../framework/meta/index.ts";
import { rootLogger } from "../../../../framework/log/index.ts";
import { testEnvironment } from "../../../../framework/testing/index.ts";
import { POD_GROUP_LABEL, PodGroupDefinition, type PodGroup } from "../../../../operators/gang-scheduling/api.ts";

export const TIMEOUT_MS = 60_000;

/** Connects to the test cluster and installs the PodGroup CRD from `crds/`. */
export async function connect(): Promise<{ client: KubeClient; kubeconfigPath: string }> {
  const { plane, client } = await testEnvironment();
  const text = await readFile(new URL("../../../../crds/podgroups.scheduling.kubeloop.dev.yaml", import.meta.url), "utf8");
  await installCustomResourceDefinitions(client, [parse(text) as CustomResourceDefinition], { fieldManager: "kubeloop-gang-e2e", timeoutMs: TIMEOUT_MS });
  return { client, kubeconfigPath: plane.kubeconfigPath };
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
