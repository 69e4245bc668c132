import { ApiException, CoreV1Api, KubeConfig, type V1Node, type V1Taint } from "@kubernetes/client-node";
import { kwokNodeAnnotation } from "./flags.ts";
import { waitFor } from "./wait.ts";

/** Label every fake node carries, so they can be listed and deleted together. */
export const fakeNodeLabel = { key: "kubeloop.dev/fake-node", value: "true" } as const;

/** One fake node run by kwok (no kubelet: pods bound to it become Running through kwok Stages). */
export interface FakeNodeSpec {
  name: string;
  /** CPU capacity and allocatable, a Kubernetes quantity ("32", "500m"); default "32". */
  cpu?: string;
  /** Memory capacity and allocatable, a quantity ("256Gi"); default "256Gi". */
  memory?: string;
  /** Maximum pods; default 110 (the kubelet default). */
  pods?: number;
  /** `nvidia.com/gpu` extended resource count; omitted when 0 or undefined. */
  gpus?: number;
  /** Value of the `nvidia.com/gpu.product` label ("NVIDIA-H100-80GB-HBM3"). */
  gpuProduct?: string;
  /** Memory per GPU in MiB: the `nvidia.com/gpu.memory` label, as GPU feature discovery publishes it (81920). */
  gpuMemoryMiB?: number;
  /** Extra labels, merged over the defaults (hostname, os, arch, type=kwok, kubeloop.dev/fake-node). */
  labels?: Record<string, string>;
  /** Extra annotations (`kwok.x-k8s.io/node: fake` is always set). */
  annotations?: Record<string, string>;
  /** Taints, e.g. `{ key: "nvidia.com/gpu", effect: "NoSchedule" }`. */
  taints?: V1Taint[];
  /** `spec.podCIDR`; kwok gives pods IPs from it (else from its `--cidr`). */
  podCIDR?: string;
}

/** `count` identical fake nodes named `<namePrefix><index>` (index from 0; prefix default `kwok-node-`). */
export type FakeNodeSet = Omit<FakeNodeSpec, "name"> & { count: number; namePrefix?: string };

/** Options of {@link createFakeNodes}. */
export interface CreateFakeNodesOptions {
  /** Wait until every node is Ready and schedulable (default true). */
  waitReady?: boolean;
  /** Readiness timeout in milliseconds (default 60000). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Expands a {@link FakeNodeSet} into specs; a list is returned as is. */
export function expandFakeNodeSpecs(specs: FakeNodeSpec[] | FakeNodeSet): FakeNodeSpec[] {
  if (Array.isArray(specs)) return specs;
  const { count, namePrefix = "kwok-node-", ...template } = specs;
  if (!Number.isInteger(count) || count < 0) throw new Error(`fake node count must be a non-negative integer, got ${count}`);
  return Array.from({ length: count }, (_, i) => ({ ...template, name: `${namePrefix}${i}` }));
}

/**
 * The Node object for one spec: annotation `kwok.x-k8s.io/node: fake` (what kwok's
 * `--manage-nodes-with-annotation-selector` selects), capacity = allocatable.
 * Status is part of the POST body: the API server keeps a node's status on create (as for a
 * kubelet registering itself), and kwok's node-initialize Stage keeps given capacity.
 */
export function fakeNodeObject(spec: FakeNodeSpec): V1Node {
  const resources: Record<string, string> = {
    cpu: spec.cpu ?? "32",
    memory: spec.memory ?? "256Gi",
    pods: String(spec.pods ?? 110),
    "ephemeral-storage": "1Ti",
  };
  if (spec.gpus !== undefined && spec.gpus > 0) resources["nvidia.com/gpu"] = String(spec.gpus);
  const labels: Record<string, string> = {
    "kubernetes.io/hostname": spec.name,
    "kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    type: "kwok",
    [fakeNodeLabel.key]: fakeNodeLabel.value,
  };
  if (spec.gpuProduct !== undefined) labels["nvidia.com/gpu.product"] = spec.gpuProduct;
  if (spec.gpuMemoryMiB !== undefined) labels["nvidia.com/gpu.memory"] = String(spec.gpuMemoryMiB);
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: spec.name,
      labels: { ...labels, ...spec.labels },
      annotations: { ...spec.annotations, [kwokNodeAnnotation.key]: kwokNodeAnnotation.value, "node.alpha.kubernetes.io/ttl": "0" },
    },
    spec: {
      ...(spec.taints && spec.taints.length > 0 ? { taints: spec.taints } : {}),
      ...(spec.podCIDR ? { podCIDR: spec.podCIDR, podCIDRs: [spec.podCIDR] } : {}),
    },
    status: { capacity: { ...resources }, allocatable: { ...resources } },
  };
}

/** True when the node's Ready condition is True and the not-ready/unreachable taints are gone. */
export function isNodeReadyAndSchedulable(node: V1Node): boolean {
  const ready = node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
  const blocked = (node.spec?.taints ?? []).some(
    (t) => t.key === "node.kubernetes.io/not-ready" || t.key === "node.kubernetes.io/unreachable",
  );
  return ready && !blocked;
}

function coreApi(kubeconfigPath: string): CoreV1Api {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return kc.makeApiClient(CoreV1Api);
}

function statusMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body = typeof err.body === "string" ? err.body : JSON.stringify(err.body);
    return `HTTP ${err.code}: ${body.slice(0, 500)}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * Creates fake nodes (plain POST create) for kwok to run, and by default waits until each is
 * Ready and schedulable (kwok's node-initialize Stage sets Ready; kube-controller-manager then
 * removes the `node.kubernetes.io/not-ready` taint TaintNodesByCondition added).
 *
 * @returns the node names, in spec order.
 * @throws Error naming the node when creation fails (e.g. it already exists: delete it with
 *   {@link deleteFakeNodes}), or WaitTimeoutError when a node is not Ready in time (is kwok running?).
 */
export async function createFakeNodes(
  kubeconfigPath: string,
  specs: FakeNodeSpec[] | FakeNodeSet,
  opts: CreateFakeNodesOptions = {},
): Promise<string[]> {
  const api = coreApi(kubeconfigPath);
  const list = expandFakeNodeSpecs(specs);
  for (const spec of list) {
    try {
      await api.createNode({ body: fakeNodeObject(spec) });
    } catch (err) {
      const hint = err instanceof ApiException && err.code === 409 ? " (it already exists: delete it with deleteFakeNodes or choose another name)" : "";
      throw new Error(`creating fake Node ${spec.name} failed${hint}: ${statusMessage(err)}`);
    }
  }
  const names = list.map((s) => s.name);
  if (opts.waitReady ?? true) {
    const pending = new Set(names);
    await waitFor(
      async () => {
        for (const name of [...pending]) {
          const node = await api.readNode({ name });
          if (isNodeReadyAndSchedulable(node)) pending.delete(name);
        }
        return pending.size === 0 ? true : undefined;
      },
      {
        timeoutMs: opts.timeoutMs ?? 60_000,
        intervalMs: 250,
        get description() {
          return `fake nodes ${[...pending].join(", ")} to become Ready and lose the not-ready taint (is the kwok controller running?)`;
        },
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
    );
  }
  return names;
}

/**
 * Deletes fake nodes by name, or every node labelled `kubeloop.dev/fake-node=true` when
 * `names` is omitted, and waits until they are gone. Missing nodes are ignored.
 * Pods bound to them are left to kube-controller-manager's pod garbage collector.
 *
 * @returns the names deleted.
 */
export async function deleteFakeNodes(
  kubeconfigPath: string,
  names?: string[],
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<string[]> {
  const api = coreApi(kubeconfigPath);
  const targets =
    names ??
    (await api.listNode({ labelSelector: `${fakeNodeLabel.key}=${fakeNodeLabel.value}` })).items.map((n) => n.metadata?.name ?? "");
  for (const name of targets) {
    try {
      await api.deleteNode({ name });
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) continue;
      throw new Error(`deleting fake Node ${name} failed: ${statusMessage(err)}`);
    }
  }
  await waitFor(
    async () => {
      for (const name of targets) {
        try {
          await api.readNode({ name });
          return undefined;
        } catch (err) {
          if (!(err instanceof ApiException && err.code === 404)) throw err;
        }
      }
      return true;
    },
    { timeoutMs: opts.timeoutMs ?? 30_000, description: `fake nodes ${targets.join(", ")} to be deleted`, ...(opts.signal ? { signal: opts.signal } : {}) },
  );
  return targets;
}
