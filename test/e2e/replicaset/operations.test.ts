/**
 * The ReplicaSet operator on a cluster with nodes (kwok), a scheduler and kube-controller-manager:
 * self-healing when pods are deleted or their node disappears, a template the API server refuses,
 * and garbage collection of pods with their ReplicaSet.
 * Needs a cluster with fake nodes: `KUBECONFIG` or `KUBELOOP_CLUSTER_DIR`.
 */
import { test } from "node:test";
import { randomBytes } from "node:crypto";
import { Events, Pods, resourceType, type KubeObject, type Pod } from "../../../framework/meta/index.ts";
import { createFakeNodes, deleteFakeNodes, waitFor } from "../../../framework/testing/index.ts";
import { ReplicaSets, type ReplicaSet } from "../../../operators/replicaset/api.ts";
import {
  assert, eventually, getPods, INTERVAL_MS, newRS, TIMEOUT_MS, updateRS, useOperatorSuite, waitRSStable, type Operator,
} from "./harness.ts";

const ResourceQuotas = resourceType<KubeObject & { status?: { hard?: Record<string, string> } }>({
  group: "", version: "v1", kind: "ResourceQuota", plural: "resourcequotas", namespaced: true,
});

const nodes: string[] = [];
const cluster = useOperatorSuite({
  cleanup: async ({ kubeconfigPath }) => {
    if (nodes.length) await deleteFakeNodes(kubeconfigPath, nodes).catch(() => {});
  },
});

async function namespaceWithOperator(prefix: string): Promise<{ ns: string; op: Operator }> {
  const ns = await cluster.namespace(prefix);
  return { ns, op: await cluster.operator(ns) };
}

/** Label and taint of the nodes this file creates: only its own pods land there. */
const POOL_KEY = "kubeloop.dev/e2e-pool";

/** A ReplicaSet whose pods the default scheduler places on kwok nodes (they turn Running and Ready). */
function scheduledRS(name: string, ns: string, replicas: number, nodeSelector?: Record<string, string>): ReplicaSet {
  const rs = newRS(name, ns, replicas);
  const spec = rs.spec.template.spec as NonNullable<Pod["spec"]>;
  delete spec.schedulerName;
  if (nodeSelector) {
    spec.nodeSelector = nodeSelector;
    spec.tolerations = [{ key: POOL_KEY, operator: "Exists", effect: "NoSchedule" }];
  }
  return rs;
}

const active = (pods: Pod[]) => pods.filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase !== "Failed" && p.status?.phase !== "Succeeded");

test("self-healing: deleted pods are replaced, and become ready on the nodes", async () => {
  const { ns } = await namespaceWithOperator("rs-self-healing");
  await cluster.client.create(ReplicaSets, scheduledRS("web", ns, 3));
  await eventually("3 ready replicas", async () => {
    const rs = await cluster.client.get(ReplicaSets, { namespace: ns, name: "web" });
    assert.equal(rs.status?.readyReplicas, 3);
  });
  const before = await getPods(cluster.client, ns);
  for (const pod of before.slice(0, 2)) await cluster.client.delete(Pods, { namespace: ns, name: pod.metadata!.name! });
  const gone = new Set(before.slice(0, 2).map((p) => p.metadata!.uid));
  await eventually("2 replacement pods, 3 ready replicas", async () => {
    const pods = active(await getPods(cluster.client, ns));
    assert.equal(pods.length, 3);
    assert.equal(pods.filter((p) => gone.has(p.metadata!.uid)).length, 0);
    const rs = await cluster.client.get(ReplicaSets, { namespace: ns, name: "web" });
    assert.equal(rs.status?.readyReplicas, 3);
    assert.equal(rs.status?.availableReplicas, 3);
  });
});

test("self-healing: pods of a deleted node are removed by the control plane and replaced elsewhere", async () => {
  const { ns } = await namespaceWithOperator("rs-node-loss");
  const pool = `rs-e2e-${randomBytes(3).toString("hex")}`;
  const taints = [{ key: POOL_KEY, value: pool, effect: "NoSchedule" }];
  const names = await createFakeNodes(cluster.kubeconfigPath, [
    { name: `${pool}-a`, labels: { [POOL_KEY]: pool }, taints },
    { name: `${pool}-b`, labels: { [POOL_KEY]: pool }, taints },
  ]);
  nodes.push(...names);
  await cluster.client.create(ReplicaSets, scheduledRS("web", ns, 4, { [POOL_KEY]: pool }));
  await eventually("4 ready replicas on the pool's nodes", async () => {
    const rs = await cluster.client.get(ReplicaSets, { namespace: ns, name: "web" });
    assert.equal(rs.status?.readyReplicas, 4);
  });
  // Lose the node holding the most pods.
  const placed = await getPods(cluster.client, ns);
  const countOn = (node: string) => placed.filter((p) => p.spec?.nodeName === node).length;
  const lost = countOn(names[0]!) >= countOn(names[1]!) ? names[0]! : names[1]!;
  const onVictim = placed.filter((p) => p.spec?.nodeName === lost);
  assert.ok(onVictim.length > 0);
  await deleteFakeNodes(cluster.kubeconfigPath, [lost]);
  const lostUids = new Set(onVictim.map((p) => p.metadata!.uid));
  // kube-controller-manager's pod GC deletes pods bound to a node that no longer exists (after
  // a 40 s quarantine); the operator then creates replacements, scheduled on the other node.
  await eventually(`pods of ${lost} to be replaced on the remaining node`, async () => {
    const pods = await getPods(cluster.client, ns);
    assert.equal(pods.filter((p) => lostUids.has(p.metadata!.uid)).length, 0, "pods of the deleted node are gone");
    const live = active(pods);
    assert.equal(live.length, 4);
    assert.ok(live.every((p) => p.spec?.nodeName && p.spec.nodeName !== lost));
    const rs = await cluster.client.get(ReplicaSets, { namespace: ns, name: "web" });
    assert.equal(rs.status?.readyReplicas, 4);
  }, 150_000);
});

test("a template the API server refuses: ReplicaFailure, a Warning event, and the operator keeps working", async () => {
  const { ns } = await namespaceWithOperator("rs-refused-template");
  const bad = newRS("bad", ns, 2);
  // The CRD keeps the pod template loose; the Pod API refuses an upper-case container name.
  (bad.spec.template.spec as NonNullable<Pod["spec"]>).containers = [{ name: "Not_A_DNS_Label", image: "fakeimage" }];
  await cluster.client.create(ReplicaSets, bad);
  await eventually("ReplicaFailure FailedCreate on the bad ReplicaSet", async () => {
    const rs = await cluster.client.get(ReplicaSets, { namespace: ns, name: "bad" });
    const cond = rs.status?.conditions?.find((c) => c.type === "ReplicaFailure");
    assert.equal(cond?.status, "True");
    assert.equal(cond?.reason, "FailedCreate");
    assert.match(cond?.message ?? "", /Invalid|invalid/);
  });
  await eventually("a Warning FailedCreate event about it", async () => {
    const events = (await cluster.client.list(Events, { namespace: ns })).items;
    assert.ok(events.some((e) => e.type === "Warning" && e.reason === "FailedCreate" && e.regarding?.name === "bad"), "Warning FailedCreate event");
  });
  assert.equal((await getPods(cluster.client, ns)).length, 0);
  // The operator is still healthy: another ReplicaSet in the namespace converges.
  await cluster.client.create(ReplicaSets, { ...newRS("good", ns, 2), spec: { ...newRS("good", ns, 2).spec, selector: { matchLabels: { app: "good" } }, template: { ...newRS("good", ns, 2).spec.template, metadata: { labels: { app: "good" } } } } } as ReplicaSet);
  await waitRSStable(cluster.client, ns, "good");
  // Fixing the template clears the condition and creates the pods.
  await waitFor(async () => {
    const rs = await cluster.client.get(ReplicaSets, { namespace: ns, name: "bad" });
    (rs.spec.template.spec as NonNullable<Pod["spec"]>).containers = [{ name: "fixed", image: "fakeimage" }];
    await cluster.client.update(ReplicaSets, rs);
    return true;
  }, { timeoutMs: TIMEOUT_MS, intervalMs: INTERVAL_MS, description: "the template fix to be written" });
  await eventually("the fixed ReplicaSet to converge and drop ReplicaFailure", async () => {
    const rs = await cluster.client.get(ReplicaSets, { namespace: ns, name: "bad" });
    assert.equal(rs.status?.replicas, 2);
    assert.equal(rs.status?.conditions?.find((c) => c.type === "ReplicaFailure"), undefined);
  }, 120_000);
});

test("garbage collection: deleting the ReplicaSet deletes its pods", async () => {
  const { ns } = await namespaceWithOperator("rs-gc");
  await cluster.client.create(ReplicaSets, newRS("rs", ns, 3));
  await waitRSStable(cluster.client, ns, "rs");
  assert.equal((await getPods(cluster.client, ns)).length, 3);
  await cluster.client.delete(ReplicaSets, { namespace: ns, name: "rs" }, { propagationPolicy: "Background" });
  await eventually("the garbage collector to delete the pods", async () => {
    assert.equal((await getPods(cluster.client, ns)).length, 0);
  });
  // Foreground deletion waits for the pods (blockOwnerDeletion) and the operator creates none meanwhile.
  await cluster.client.create(ReplicaSets, newRS("fg", ns, 2));
  await waitRSStable(cluster.client, ns, "fg");
  await cluster.client.delete(ReplicaSets, { namespace: ns, name: "fg" }, { propagationPolicy: "Foreground" });
  await eventually("foreground deletion to remove the pods and then the ReplicaSet", async () => {
    assert.equal((await getPods(cluster.client, ns)).length, 0);
    assert.equal((await cluster.client.list(ReplicaSets, { namespace: ns })).items.length, 0);
  });
});

test("ReplicaFailure on exceeded quota, cleared when the ReplicaSet fits (upstream e2e apps/replica_set.go)", async () => {
  const { ns } = await namespaceWithOperator("rs-quota");
  await cluster.client.create(ResourceQuotas, { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "condition-test", namespace: ns }, spec: { hard: { pods: "2" } } } as KubeObject);
  await waitFor(async () => (await cluster.client.get(ResourceQuotas, { namespace: ns, name: "condition-test" })).status?.hard?.pods === "2", {
    timeoutMs: TIMEOUT_MS, intervalMs: INTERVAL_MS, description: "the quota controller to compute the quota's status",
  });
  await cluster.client.create(ReplicaSets, newRS("condition-test", ns, 3));
  await eventually("ReplicaFailure FailedCreate mentioning the quota", async () => {
    const rs = await cluster.client.get(ReplicaSets, { namespace: ns, name: "condition-test" });
    const cond = rs.status?.conditions?.find((c) => c.type === "ReplicaFailure");
    assert.equal(cond?.reason, "FailedCreate");
    assert.match(cond?.message ?? "", /exceeded quota/);
  });
  await updateRS(cluster.client, ns, "condition-test", (rs) => { rs.spec.replicas = 2; });
  await eventually("the condition to be removed once 2 replicas fit", async () => {
    const rs = await cluster.client.get(ReplicaSets, { namespace: ns, name: "condition-test" });
    assert.equal(rs.status?.replicas, 2);
    assert.equal(rs.status?.conditions?.find((c) => c.type === "ReplicaFailure"), undefined);
  });
});

test("burst: 520 replicas (more than one 500-pod reconcile) converge without an extra pod", async () => {
  const { ns, op } = await namespaceWithOperator("rs-burst");
  await cluster.client.create(ReplicaSets, newRS("big", ns, 520));
  await eventually("520 replicas", async () => {
    const rs = await cluster.client.get(ReplicaSets, { namespace: ns, name: "big" });
    assert.equal(rs.status?.replicas, 520);
  }, 180_000);
  assert.equal((await getPods(cluster.client, ns)).length, 520, "no extra pod was created");
  assert.equal(op.handle.expectations.satisfied(`${ns}/big`), true);
  await updateRS(cluster.client, ns, "big", (rs) => { rs.spec.replicas = 0; });
  await waitRSStable(cluster.client, ns, "big");
});
