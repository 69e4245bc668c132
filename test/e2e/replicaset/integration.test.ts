/**
 * Ports of kubernetes `test/integration/replicaset/replicaset_test.go`, run against a real
 * control plane with the kubeloop ReplicaSet operator in this process. Each test has its own
 * namespace; pods are never scheduled, so their status changes only through the test, as in the
 * upstream integration environment.
 * Needs a cluster: `KUBECONFIG` or `KUBELOOP_CLUSTER_DIR`.
 */
import { describe, test } from "node:test";
import { isInvalid } from "../../../framework/client/index.ts";
import { ConfigMaps, Nodes, Pods, type OwnerReference, type Pod } from "../../../framework/meta/index.ts";
import { waitFor } from "../../../framework/testing/index.ts";
import { ReplicaSets, type ReplicaSet } from "../../../operators/replicaset/api.ts";
import {
  assert, controllerRefOf, eventually, getPods, INTERVAL_MS, labelMap, newMatchingPod,
  newRS, scaleRS, TIMEOUT_MS, updatePod, updatePodStatus, updateRS, useOperatorSuite, waitRSStable,
} from "./harness.ts";

const suite = useOperatorSuite();
/** A namespace of this file's own (deleted after it). */
const namespace = (prefix: string) => suite.namespace(prefix);
/** Starts an operator for `ns` (upstream `runControllerAndInformers`); stopped after the file. */
const run = (ns: string) => suite.operator(ns);

async function createRS(rs: ReplicaSet): Promise<ReplicaSet> {
  return suite.client.create(ReplicaSets, rs);
}

/** Ready condition set to `status` with the given transition time, phase Running (upstream `setPodsReadyCondition`). */
async function setPodReady(pod: Pod, status: "True" | "False", lastTransitionTime: Date): Promise<void> {
  await updatePodStatus(suite.client, pod.metadata!.namespace!, pod.metadata!.name!, (p) => {
    p.status = {
      ...p.status,
      phase: "Running",
      conditions: [
        ...(p.status?.conditions ?? []).filter((c) => c.type !== "Ready"),
        { type: "Ready", status, lastTransitionTime: lastTransitionTime.toISOString().replace(/\.\d{3}Z$/, "Z") },
      ],
    };
  });
}

describe("TestAdoption", () => {
  type Other = { uid: string; name: string };
  const cases: Array<{ name: string; existing: (rs: ReplicaSet, other: Other) => OwnerReference[]; expected: (rs: ReplicaSet, other: Other) => OwnerReference[] }> = [
    {
      name: "pod refers rs as an owner, not a controller",
      existing: (rs) => [{ uid: rs.metadata!.uid!, name: rs.metadata!.name!, apiVersion: ReplicaSets.apiVersion, kind: "ReplicaSet" }],
      expected: (rs) => [{ uid: rs.metadata!.uid!, name: rs.metadata!.name!, apiVersion: ReplicaSets.apiVersion, kind: "ReplicaSet", controller: true, blockOwnerDeletion: true }],
    },
    {
      name: "pod doesn't have owner references",
      existing: () => [],
      expected: (rs) => [{ uid: rs.metadata!.uid!, name: rs.metadata!.name!, apiVersion: ReplicaSets.apiVersion, kind: "ReplicaSet", controller: true, blockOwnerDeletion: true }],
    },
    {
      name: "pod refers rs as a controller",
      existing: (rs) => [{ uid: rs.metadata!.uid!, name: rs.metadata!.name!, apiVersion: ReplicaSets.apiVersion, kind: "ReplicaSet", controller: true }],
      expected: (rs) => [{ uid: rs.metadata!.uid!, name: rs.metadata!.name!, apiVersion: ReplicaSets.apiVersion, kind: "ReplicaSet", controller: true }],
    },
    {
      // Upstream names a controller with UID "1" that does not exist; with a garbage collector
      // running (upstream's integration test has none) that dangling reference would be
      // removed, so the other controller here is a real object.
      name: "pod refers other rs as the controller, refers the rs as an owner",
      existing: (rs, other) => [
        { uid: other.uid, name: other.name, apiVersion: "v1", kind: "ConfigMap", controller: true },
        { uid: rs.metadata!.uid!, name: rs.metadata!.name!, apiVersion: ReplicaSets.apiVersion, kind: "ReplicaSet" },
      ],
      expected: (rs, other) => [
        { uid: other.uid, name: other.name, apiVersion: "v1", kind: "ConfigMap", controller: true },
        { uid: rs.metadata!.uid!, name: rs.metadata!.name!, apiVersion: ReplicaSets.apiVersion, kind: "ReplicaSet" },
      ],
    },
  ];
  cases.forEach((tc, i) => {
    test(tc.name, async () => {
      const ns = await namespace(`rs-adoption-${i}`);
      const rs = await createRS(newRS("rs", ns, 1));
      const cm = await suite.client.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "another-controller", namespace: ns } });
      const other = { uid: cm.metadata!.uid!, name: "another-controller" };
      const pod = newMatchingPod(`pod${i}`, ns);
      pod.metadata!.ownerReferences = tc.existing(rs, other);
      await suite.client.create(Pods, pod);
      await run(ns);
      await eventually(`owner references of ${ns}/${pod.metadata!.name}`, async () => {
        const got = await suite.client.get(Pods, { namespace: ns, name: pod.metadata!.name! });
        assert.deepEqual(got.metadata?.ownerReferences ?? [], tc.expected(rs, other));
      });
      // Once the ReplicaSet is stable the pod still has exactly the expected references.
      await waitRSStable(suite.client, ns, "rs");
      const settled = await suite.client.get(Pods, { namespace: ns, name: pod.metadata!.name! });
      assert.deepEqual(settled.metadata?.ownerReferences ?? [], tc.expected(rs, other));
    });
  });
});

test("TestRSSelectorImmutability", async () => {
  const ns = await namespace("rs-selector-immutability");
  await createRS(newRS("rs", ns, 0));
  const rs = await suite.client.get(ReplicaSets, { namespace: ns, name: "rs" });
  const changed = { changed_name_apps_v1: "changed_test_apps_v1" };
  rs.spec.selector = { matchLabels: changed };
  rs.spec.template.metadata = { ...rs.spec.template.metadata, labels: changed };
  await assert.rejects(suite.client.update(ReplicaSets, rs), (err: unknown) => {
    assert.ok(isInvalid(err), `want 422 Invalid, got ${String(err)}`);
    assert.match((err as Error).message, /field is immutable/);
    return true;
  });
});

test("TestSpecReplicasChange", async () => {
  const ns = await namespace("test-spec-replicas-change");
  await run(ns);
  await createRS(newRS("rs", ns, 2));
  await waitRSStable(suite.client, ns, "rs");
  await scaleRS(suite.client, ns, "rs", 3);
  await scaleRS(suite.client, ns, "rs", 0);
  await scaleRS(suite.client, ns, "rs", 2);

  // A template change without a replicas change still moves observedGeneration.
  let oldGeneration = 0;
  const updated = await updateRS(suite.client, ns, "rs", (rs) => {
    oldGeneration = rs.metadata!.generation!;
    rs.spec.template.metadata = { ...rs.spec.template.metadata, annotations: { test: "annotation" } };
  });
  const savedGeneration = updated.metadata!.generation!;
  assert.notEqual(savedGeneration, oldGeneration, ".metadata.generation must increase");
  await waitFor(async () => {
    const rs = await suite.client.get(ReplicaSets, { namespace: ns, name: "rs" });
    return (rs.status?.observedGeneration ?? 0) >= savedGeneration;
  }, { timeoutMs: TIMEOUT_MS, intervalMs: INTERVAL_MS, description: "status.observedGeneration to catch up" });
});

test("TestDeletingAndFailedPods", async () => {
  const ns = await namespace("test-deleting-and-failed-pods");
  await run(ns);
  await createRS(newRS("rs", ns, 2));
  await waitRSStable(suite.client, ns, "rs");
  const pods = await getPods(suite.client, ns);
  assert.equal(pods.length, 2);

  const deletingPod = pods[0]!;
  // Upstream's integration run has no pod garbage collector; this cluster's does, and it marks an
  // unscheduled terminating pod Failed within its 20 s period (podgc gcUnscheduledTerminating),
  // which would end the pod's "terminating" state under the test. Bound to a node that no kubelet
  // (and no kwok) serves, the pod stays terminating until the test lets it go.
  const nodeName = `${ns}-no-kubelet`;
  // Unschedulable and tainted, so no scheduler of another test file places a pod there meanwhile.
  await suite.client.create(Nodes, {
    apiVersion: "v1", kind: "Node", metadata: { name: nodeName },
    spec: { unschedulable: true, taints: [{ key: "kubeloop.dev/no-kubelet", effect: "NoSchedule" }] },
  });
  try {
    await suite.client.bind({ namespace: ns, name: deletingPod.metadata!.name! }, nodeName);
    await deletingAndFailedPods(ns, deletingPod, pods[1]!);
  } finally {
    await suite.client.delete(Nodes, { name: nodeName }).catch(() => undefined);
  }
});

async function deletingAndFailedPods(ns: string, deletingPod: Pod, failedPod: Pod): Promise<void> {
  await updatePod(suite.client, ns, deletingPod.metadata!.name!, (p) => { p.metadata!.finalizers = ["fake.example.com/blockDeletion"]; });
  await suite.client.delete(Pods, { namespace: ns, name: deletingPod.metadata!.name! });
  await updatePodStatus(suite.client, ns, failedPod.metadata!.name!, (p) => { p.status = { ...p.status, phase: "Failed" }; });

  let all: Pod[] = [];
  await waitFor(async () => {
    all = await getPods(suite.client, ns);
    return all.length === 4;
  }, { timeoutMs: TIMEOUT_MS, intervalMs: INTERVAL_MS, description: "2 new pods replacing the deleting and the failed pod (4 pods)" });
  const uids = new Set(all.map((p) => p.metadata?.uid));
  assert.ok(uids.has(deletingPod.metadata!.uid), "the deleting pod is still there (not deleted again)");
  assert.ok(uids.has(failedPod.metadata!.uid), "the failed pod is still there (not deleted)");
  await eventually("terminatingReplicas to count the deleting pod", async () => {
    const rs = await suite.client.get(ReplicaSets, { namespace: ns, name: "rs" });
    assert.equal(rs.status?.terminatingReplicas, 1);
    assert.equal(rs.status?.replicas, 2);
  });
  await updatePod(suite.client, ns, deletingPod.metadata!.name!, (p) => { p.metadata!.finalizers = []; });
  // No kubelet finishes the graceful deletion: finish it here.
  await suite.client.delete(Pods, { namespace: ns, name: deletingPod.metadata!.name! }, { gracePeriodSeconds: 0 });
}

describe("TestPodDeletionCost", () => {
  const cases = [
    { name: "enabled-with-different-costs", costs: ["1000", "100"], restarts: [5, 0], remainingPodIndex: 0 },
    { name: "enabled-with-same-costs", costs: ["100", "100"], restarts: [5, 0], remainingPodIndex: 1 },
    { name: "enabled-with-no-costs", costs: [] as string[], restarts: [5, 0], remainingPodIndex: 1 },
  ];
  for (const tc of cases) {
    test(tc.name, async () => {
      const ns = await namespace(tc.name);
      const op = await run(ns);
      await createRS(newRS("rs", ns, 2));
      await waitRSStable(suite.client, ns, "rs");
      let pods: Pod[] = [];
      await waitFor(async () => (pods = await getPods(suite.client, ns)).length === 2, {
        timeoutMs: TIMEOUT_MS, intervalMs: INTERVAL_MS, description: "2 pods",
      });
      const remainingUid = pods[tc.remainingPodIndex]!.metadata!.uid;
      for (const [i, pod] of pods.entries()) {
        const name = pod.metadata!.name!;
        if (tc.costs.length) {
          await updatePod(suite.client, ns, name, (p) => { p.metadata!.annotations = { "controller.kubernetes.io/pod-deletion-cost": tc.costs[i]! }; });
        }
        await updatePodStatus(suite.client, ns, name, (p) => {
          p.status = { ...p.status, containerStatuses: [{ name: "fake-name", image: "fakeimage", imageID: "", ready: false, restartCount: tc.restarts[i]! }] };
        });
      }
      // The operator must see the updates before the scale-down ranks the pods.
      const store = op.cache.informerFor(Pods).store;
      await waitFor(async () => pods.every((p, i) => {
        const cached = store.get(`${ns}/${p.metadata!.name}`);
        return cached?.status?.containerStatuses?.[0]?.restartCount === tc.restarts[i] &&
          (tc.costs.length === 0 || cached?.metadata?.annotations?.["controller.kubernetes.io/pod-deletion-cost"] === tc.costs[i]);
      }), { timeoutMs: TIMEOUT_MS, intervalMs: INTERVAL_MS, description: "the operator's cache to see the pod updates" });

      await updateRS(suite.client, ns, "rs", (rs) => { rs.spec.replicas = 1; });
      await waitFor(async () => (pods = await getPods(suite.client, ns)).length === 1, {
        timeoutMs: TIMEOUT_MS, intervalMs: INTERVAL_MS, description: "the ReplicaSet to scale down to 1 pod",
      });
      assert.equal(pods[0]!.metadata!.uid, remainingUid, `expected the pod with UID ${remainingUid} to remain`);
    });
  }
});

test("TestOverlappingRSs", async () => {
  const ns = await namespace("test-overlapping-rss");
  await run(ns);
  for (let i = 0; i < 2; i++) {
    await createRS(newRS(`rs-${i + 1}`, ns, i + 1));
    await waitRSStable(suite.client, ns, `rs-${i + 1}`);
  }
  assert.equal((await getPods(suite.client, ns)).length, 3);
  for (let i = 0; i < 2; i++) {
    const rs = await suite.client.get(ReplicaSets, { namespace: ns, name: `rs-${i + 1}` });
    assert.equal(rs.status?.replicas, rs.spec.replicas);
  }
});

test("TestPodOrphaningAndAdoptionWhenLabelsChange", async () => {
  const ns = await namespace("test-pod-orphaning-and-adoption");
  await run(ns);
  const rs = await createRS(newRS("rs", ns, 1));
  await waitRSStable(suite.client, ns, "rs");
  const pods = await getPods(suite.client, ns);
  assert.equal(pods.length, 1);
  let pod = pods[0]!;
  assert.ok(controllerRefOf(pod), "the pod has a controller ref");

  // Orphaning: labels no longer match, the RS removes its controller ref.
  await updatePod(suite.client, ns, pod.metadata!.name!, (p) => { p.metadata!.labels = { "new-foo": "new-bar" }; });
  await waitFor(async () => {
    pod = await suite.client.get(Pods, { namespace: ns, name: pod.metadata!.name! });
    return controllerRefOf(pod) === undefined;
  }, { timeoutMs: TIMEOUT_MS, intervalMs: INTERVAL_MS, description: "the released pod's controller ref to be removed" });

  // Adoption: labels match again; the RS adopts it (and may delete it as an extra pod).
  await updatePod(suite.client, ns, pod.metadata!.name!, (p) => { p.metadata!.labels = labelMap(); });
  let adopted: Pod | undefined;
  await waitFor(async () => {
    try {
      const got = await suite.client.get(Pods, { namespace: ns, name: pod.metadata!.name! });
      if (!controllerRefOf(got)) return false;
      adopted = got;
      return true;
    } catch {
      const left = (await getPods(suite.client, ns)).filter((p) => !p.metadata?.deletionTimestamp);
      if (left.length !== 1) return false;
      adopted = left[0];
      return true;
    }
  }, { timeoutMs: TIMEOUT_MS, intervalMs: INTERVAL_MS, description: "the pod to be adopted again" });
  assert.equal(controllerRefOf(adopted!)?.uid, rs.metadata!.uid);
});

test("TestGeneralPodAdoption", async () => {
  const ns = await namespace("test-general-pod-adoption");
  await run(ns);
  const rs = await createRS(newRS("rs", ns, 1));
  await waitRSStable(suite.client, ns, "rs");
  const pods = await getPods(suite.client, ns);
  assert.equal(pods.length, 1);
  const name = pods[0]!.metadata!.name!;

  const patchAndCheck = async (ref: OwnerReference, expectedRefs: number) => {
    await updatePod(suite.client, ns, name, (p) => { p.metadata!.ownerReferences = [ref]; });
    let got: Pod | undefined;
    await waitFor(async () => {
      got = await suite.client.get(Pods, { namespace: ns, name });
      return controllerRefOf(got) !== undefined;
    }, { timeoutMs: TIMEOUT_MS, intervalMs: INTERVAL_MS, description: `a controller ref on ${ns}/${name}` });
    assert.equal(controllerRefOf(got!)?.uid, rs.metadata!.uid);
    assert.equal(got!.metadata?.ownerReferences?.length, expectedRefs);
  };
  // Only owner: another kind, controller=false: the RS adds its own controller ref (2 refs).
  // Upstream names a StatefulSet with a random UID; with a garbage collector running (upstream's
  // integration test has none) a pod whose only owner does not exist is deleted, so the owner
  // here is a real ConfigMap.
  const owner = await suite.client.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "rs", namespace: ns } });
  await patchAndCheck({ uid: owner.metadata!.uid!, apiVersion: "v1", kind: "ConfigMap", name: "rs", controller: false }, 2);
  // Only owner: the RS itself with controller=false: it becomes the controller ref (1 ref).
  await patchAndCheck({ uid: rs.metadata!.uid!, apiVersion: ReplicaSets.apiVersion, kind: "ReplicaSet", name: "rs", controller: false }, 1);
});

test("TestReadyAndAvailableReplicas", async () => {
  const ns = await namespace("test-ready-and-available-replicas");
  await run(ns);
  const spec = newRS("rs", ns, 3);
  spec.spec.minReadySeconds = 3600;
  await createRS(spec);
  const rs = await waitRSStable(suite.client, ns, "rs");
  assert.equal(rs.status?.availableReplicas ?? 0, 0);
  const pods = await getPods(suite.client, ns);
  assert.equal(pods.length, 3);
  await setPodReady(pods[0]!, "False", new Date());
  await setPodReady(pods[1]!, "True", new Date());
  await setPodReady(pods[2]!, "True", new Date(Date.now() - 120 * 60 * 1000));
  await eventually("3 replicas, 2 ready, 1 available", async () => {
    const got = await suite.client.get(ReplicaSets, { namespace: ns, name: "rs" });
    assert.equal(got.status?.replicas, 3);
    assert.equal(got.status?.readyReplicas, 2);
    assert.equal(got.status?.availableReplicas, 1);
  });
});

test("TestRSScaleSubresource", async () => {
  const ns = await namespace("test-rs-scale-subresource");
  await run(ns);
  await createRS(newRS("rs", ns, 1));
  await waitRSStable(suite.client, ns, "rs");
  for (const replicas of [3, 0]) {
    const rs = await suite.client.get(ReplicaSets, { namespace: ns, name: "rs" });
    const scale = await suite.client.getScale(ReplicaSets, { namespace: ns, name: "rs" });
    assert.equal(scale.spec?.replicas, rs.spec.replicas, "scale.spec.replicas matches spec.replicas");
    await suite.client.patch(ReplicaSets, { namespace: ns, name: "rs" }, { type: "merge", body: { spec: { replicas } } }, { subresource: "scale" });
    const after = await suite.client.get(ReplicaSets, { namespace: ns, name: "rs" });
    assert.equal(after.spec.replicas, replicas, "spec.replicas follows the scale subresource");
    await waitRSStable(suite.client, ns, "rs");
    const stable = await suite.client.getScale(ReplicaSets, { namespace: ns, name: "rs" });
    assert.equal(stable.status?.replicas, replicas);
    assert.equal(stable.status?.selector, "foo=bar", "the scale subresource reports the selector (HPA reads it)");
  }
});

test("TestExtraPodsAdoptionAndDeletion", async () => {
  const ns = await namespace("test-extra-pods-adoption-and-deletion");
  const rs = await createRS(newRS("rs", ns, 2));
  for (let i = 0; i < 3; i++) await suite.client.create(Pods, newMatchingPod(`pod-${i + 1}`, ns));
  await run(ns);
  await waitRSStable(suite.client, ns, "rs");
  await waitFor(async () => {
    const pods = (await getPods(suite.client, ns)).filter((p) => !p.metadata?.deletionTimestamp);
    return pods.length === 2 && pods.every((p) => controllerRefOf(p)?.uid === rs.metadata!.uid);
  }, { timeoutMs: TIMEOUT_MS, intervalMs: INTERVAL_MS, description: "2 adopted pods left (the extra one deleted)" });
  const names = (await getPods(suite.client, ns)).map((p) => p.metadata!.name!).sort();
  assert.ok(names.every((n) => n.startsWith("pod-")), `no new pod was created, got ${names.join(", ")}`);
});

test("TestFullyLabeledReplicas", async () => {
  const ns = await namespace("test-fully-labeled-replicas");
  await run(ns);
  const extra = { foo: "bar", extraKey: "extraValue" };
  await createRS(newRS("rs", ns, 2));
  await waitRSStable(suite.client, ns, "rs");
  await updateRS(suite.client, ns, "rs", (rs) => { rs.spec.template.metadata = { ...rs.spec.template.metadata, labels: extra }; });
  const pods = await getPods(suite.client, ns);
  assert.equal(pods.length, 2);
  await updatePod(suite.client, ns, pods[0]!.metadata!.name!, (p) => { p.metadata!.labels = extra; });
  await eventually("2 replicas, 1 fully labeled", async () => {
    const rs = await suite.client.get(ReplicaSets, { namespace: ns, name: "rs" });
    assert.equal(rs.status?.replicas, 2);
    assert.equal(rs.status?.fullyLabeledReplicas, 1);
  });
});
