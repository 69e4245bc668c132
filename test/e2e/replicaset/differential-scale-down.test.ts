/**
 * Differential scale-down: the same pods under an apps/v1 ReplicaSet (run by the real
 * kube-controller-manager) and under an apps.kubeloop.dev ReplicaSet (run by this operator) are
 * deleted in the same order, step by step.
 *
 * The pods are created as orphans, bound to Nodes this test creates (no kubelet, not managed by
 * kwok: their status changes only through the test), with a status that makes the ranking of
 * `controller.ActivePodsWithRanks` decisive at every step: unassigned, phase, readiness,
 * pod-deletion-cost, pods of related ReplicaSets on the same node, ready time in different log2
 * buckets, restarts of regular and of restartable init containers. Ties that upstream breaks by
 * UID or by creation time (random here) never decide which pods go. Each ReplicaSet adopts its
 * pods, then is scaled down one step at a time; the pods marked for deletion at each step must be
 * the same names on both sides.
 *
 * Needs a cluster with kube-controller-manager: `KUBECONFIG` or `KUBELOOP_CLUSTER_DIR`. The
 * whole test runs well inside the node monitor grace period (about 50 s), so the node lifecycle
 * controller never marks the test's Nodes or pods NotReady.
 */
import { test } from "node:test";
import { randomBytes } from "node:crypto";
import { AppsReplicaSets, ConfigMaps, Nodes, Pods, type KubeObject, type Pod, type ResourceType } from "../../../framework/meta/index.ts";
import { waitFor } from "../../../framework/testing/index.ts";
import { isConflict } from "../../../framework/client/index.ts";
import { ReplicaSets } from "../../../operators/replicaset/api.ts";
import {
  assert, TIMEOUT_MS, INTERVAL_MS, updatePodStatus, useOperatorSuite, waitOperatorSeesPods,
} from "./harness.ts";

const nodeNames: string[] = [];
const suffix = randomBytes(3).toString("hex");
const node = (i: number) => `rs-diff-${suffix}-n${i}`;

const suite = useOperatorSuite({
  setup: async ({ client }) => {
    for (let i = 0; i < 3; i++) {
      await client.create(Nodes, { apiVersion: "v1", kind: "Node", metadata: { name: node(i), labels: { "kubeloop.dev/test": "rs-diff" } } });
      nodeNames.push(node(i));
    }
  },
  // Pods bound to a node without a kubelet never finish a graceful delete: end them now.
  beforeNamespaceDelete: async ({ client }, ns) => {
    const pods = await client.list(Pods, { namespace: ns });
    await Promise.all(pods.items.map((p) => client.delete(Pods, { namespace: ns, name: p.metadata!.name! }, { gracePeriodSeconds: 0 }).catch(() => {})));
  },
  cleanup: async ({ client }) => {
    for (const name of nodeNames) await client.delete(Nodes, { name }).catch(() => {});
  },
});

/** What a test pod looks like: where it runs and the state the ranking reads. */
interface PodSpec {
  name: string;
  labels: Record<string, string>;
  node?: string;
  phase?: "Pending" | "Running" | "Unknown";
  /** Ready condition status; omitted: no Ready condition. */
  ready?: boolean;
  /** Ready since (lastTransitionTime), as an RFC 3339 time with seconds. */
  readySince?: string;
  cost?: string;
  restarts?: number;
  sidecarRestarts?: number;
}

const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

async function createPod(ns: string, p: PodSpec): Promise<void> {
  const pod: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: p.name, namespace: ns, labels: p.labels, ...(p.cost !== undefined ? { annotations: { "controller.kubernetes.io/pod-deletion-cost": p.cost } } : {}) },
    spec: {
      ...(p.node ? { nodeName: p.node } : { schedulerName: "kubeloop-e2e-unserved" }),
      initContainers: [{ name: "sidecar", image: "fakeimage", restartPolicy: "Always" }],
      containers: [{ name: "main", image: "fakeimage" }],
    },
  };
  await suite.client.create(Pods, pod);
  if (!p.phase) return;
  await updatePodStatus(suite.client, ns, p.name, (cur) => {
    cur.status = {
      phase: p.phase,
      conditions: p.ready === undefined ? [] : [{ type: "Ready", status: p.ready ? "True" : "False", lastTransitionTime: p.readySince ?? rfc3339(Date.now()) }],
      containerStatuses: [{ name: "main", image: "fakeimage", imageID: "", ready: p.ready ?? false, restartCount: p.restarts ?? 0, state: { running: {} } }],
      initContainerStatuses: [{ name: "sidecar", image: "fakeimage", imageID: "", ready: true, started: true, restartCount: p.sidecarRestarts ?? 0, state: { running: {} } }],
    };
  });
}

type Flavor = "apps/v1" | "kubeloop";

function replicaSetObject(flavor: Flavor, ns: string, name: string, replicas: number, labels: Record<string, string>, owner?: KubeObject): KubeObject {
  return {
    apiVersion: flavor === "apps/v1" ? "apps/v1" : ReplicaSets.apiVersion,
    kind: "ReplicaSet",
    metadata: {
      name,
      namespace: ns,
      ...(owner ? { ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: owner.metadata!.name!, uid: owner.metadata!.uid!, controller: true, blockOwnerDeletion: false }] } : {}),
    },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { schedulerName: "kubeloop-e2e-unserved", containers: [{ name: "main", image: "fakeimage" }] } },
    },
  } as KubeObject;
}

function typeOf(flavor: Flavor): ResourceType<KubeObject> {
  return (flavor === "apps/v1" ? AppsReplicaSets : ReplicaSets) as unknown as ResourceType<KubeObject>;
}

/** Sets spec.replicas (GET and PUT, again on a conflict with the controller's status writes). */
async function scale(type: ResourceType<KubeObject>, ns: string, name: string, replicas: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const rs = await suite.client.get(type, { namespace: ns, name });
    (rs as { spec: { replicas: number } }).spec.replicas = replicas;
    try {
      await suite.client.update(type, rs);
      return;
    } catch (err) {
      if (!isConflict(err) || attempt >= 10) throw err;
    }
  }
}

/** Pods of `ns` marked for deletion (or gone) among `names`. */
async function deletedPods(ns: string, names: string[]): Promise<Set<string>> {
  const pods = new Map((await suite.client.list(Pods, { namespace: ns })).items.map((p) => [p.metadata!.name!, p]));
  return new Set(names.filter((n) => !pods.has(n) || pods.get(n)!.metadata?.deletionTimestamp));
}

/**
 * Sets up the pods and ReplicaSets of one side, waits until the ReplicaSet `target` controls all
 * of its pods, then scales it down through `steps` and returns the pod names deleted at each step.
 */
async function run(
  flavor: Flavor,
  pods: PodSpec[],
  replicaSets: Array<{ name: string; labels: Record<string, string>; count: number }>,
  withOwner: boolean,
  target: string,
  steps: number[],
): Promise<string[][]> {
  const ns = await suite.namespace(`rs-diff-${flavor === "apps/v1" ? "builtin" : "ours"}`);
  const op = flavor === "kubeloop" ? await suite.operator(ns) : undefined;
  const owner = withOwner ? await suite.client.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "owner", namespace: ns } }) : undefined;
  for (const p of pods) await createPod(ns, p);
  if (op) await waitOperatorSeesPods(op, ns, pods.length);
  else await new Promise((resolve) => setTimeout(resolve, 1000)); // kube-controller-manager's pod informer sees them
  const type = typeOf(flavor);
  for (const rs of replicaSets) await suite.client.create(type, replicaSetObject(flavor, ns, rs.name, rs.count, rs.labels, owner));
  // Every pod adopted by its ReplicaSet, none created.
  await waitFor(async () => {
    const all = (await suite.client.list(Pods, { namespace: ns })).items;
    if (all.length !== pods.length) throw new Error(`${flavor}: ${all.length} pods, want ${pods.length}: the controller created or deleted pods on adoption`);
    return all.every((p) => p.metadata?.ownerReferences?.some((r) => r.controller)) || undefined;
  }, { timeoutMs: TIMEOUT_MS, intervalMs: INTERVAL_MS, description: `${flavor}: all pods adopted in ${ns}` });

  const names = pods.filter((p) => replicaSets.find((r) => r.name === target)!.labels.rs === p.labels.rs).map((p) => p.name);
  const order: string[][] = [];
  let before = new Set<string>();
  for (const replicas of steps) {
    await scale(type, ns, target, replicas);
    const want = names.length - replicas;
    const now = await waitFor(async () => {
      const d = await deletedPods(ns, names);
      if (d.size > want) throw new Error(`${flavor}: ${d.size} pods deleted, want ${want}`);
      return d.size === want ? d : undefined;
    }, { timeoutMs: TIMEOUT_MS, intervalMs: INTERVAL_MS, description: `${flavor}: ${want} pods of ${target} deleted in ${ns}` });
    order.push([...now].filter((n) => !before.has(n)).sort());
    before = now;
  }
  return order;
}

test("standalone ReplicaSet: kube-controller-manager and kubeloop delete the same pods at every step", async () => {
  const now = Date.now();
  const longAgo = rfc3339(now - 3_600_000);
  const labels = { rs: "solo" };
  // Expected order (upstream ActivePodsWithRanks.Less), all ranks equal: no controller, no related pods.
  const pods: PodSpec[] = [
    { name: "unassigned", labels, phase: "Pending" },
    { name: "pending", labels, node: node(0), phase: "Pending" },
    { name: "unknown", labels, node: node(0), phase: "Unknown" },
    { name: "not-ready", labels, node: node(1), phase: "Running", ready: false, readySince: longAgo },
    { name: "cheap", labels, node: node(2), phase: "Running", ready: true, readySince: longAgo, cost: "-10" },
    { name: "ready-recently", labels, node: node(1), phase: "Running", ready: true, readySince: rfc3339(now - 20_000) },
    { name: "restarts", labels, node: node(0), phase: "Running", ready: true, readySince: longAgo, restarts: 5 },
    { name: "sidecar-restarts", labels, node: node(2), phase: "Running", ready: true, readySince: longAgo, sidecarRestarts: 3 },
    { name: "plain", labels, node: node(1), phase: "Running", ready: true, readySince: longAgo },
    // "dear" shares n1 with "plain": were the ReplicaSet's own pods counted without a controller, plain
    // (2 on its node) would go before "restarts" (alone on n0) at the fourth step.
    { name: "dear", labels, node: node(1), phase: "Running", ready: true, readySince: longAgo, cost: "100" },
  ];
  const steps = [8, 6, 4, 2, 1];
  const rsList = [{ name: "solo", labels, count: pods.length }];
  const [builtIn, ours] = await Promise.all([
    run("apps/v1", pods, rsList, false, "solo", steps),
    run("kubeloop", pods, rsList, false, "solo", steps),
  ]);
  assert.deepEqual(builtIn, [["pending", "unassigned"], ["not-ready", "unknown"], ["cheap", "ready-recently"], ["restarts", "sidecar-restarts"], ["plain"]],
    "kube-controller-manager's order is the one this test was designed for");
  assert.deepEqual(ours, builtIn);
});

test("ReplicaSets with a common controller: pods of the sibling ReplicaSet count on each node, in both controllers", async () => {
  const longAgo = rfc3339(Date.now() - 3_600_000);
  const a = { rs: "a" };
  const b = { rs: "b" };
  const ready = { phase: "Running" as const, ready: true, readySince: longAgo };
  // a's pods: two on n0, one on n1, one on n2; b's (same controller): three on n1, one on n2.
  // With the sibling counted: ranks n1 4, n0 2, n2 2 -> a-n1 first, then restarts decide
  // between n0 and n2 (a-n0-x, 2 restarts), then a-n2 (rank 2 against a-n0-y's 1).
  // Without it (standalone) the order would start with a-n0-x.
  const pods: PodSpec[] = [
    { name: "a-n0-x", labels: a, node: node(0), ...ready, restarts: 2 },
    { name: "a-n0-y", labels: a, node: node(0), ...ready },
    { name: "a-n1", labels: a, node: node(1), ...ready },
    { name: "a-n2", labels: a, node: node(2), ...ready, restarts: 1 },
    { name: "b-n1-1", labels: b, node: node(1), ...ready },
    { name: "b-n1-2", labels: b, node: node(1), ...ready },
    { name: "b-n1-3", labels: b, node: node(1), ...ready },
    { name: "b-n2", labels: b, node: node(2), ...ready },
  ];
  const rsList = [{ name: "a", labels: a, count: 4 }, { name: "b", labels: b, count: 4 }];
  const steps = [3, 2, 1];
  const [builtIn, ours] = await Promise.all([
    run("apps/v1", pods, rsList, true, "a", steps),
    run("kubeloop", pods, rsList, true, "a", steps),
  ]);
  assert.deepEqual(builtIn, [["a-n1"], ["a-n0-x"], ["a-n2"]], "kube-controller-manager's order is the one this test was designed for");
  assert.deepEqual(ours, builtIn);
});
