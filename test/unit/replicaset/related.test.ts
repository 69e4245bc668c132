// Ports of kubernetes v1.36 pkg/controller/replicaset/replica_set_test.go
// TestGetReplicaSetsWithSameController and TestRelatedPodsLookup, plus the cases the issue names:
// no controller, pods found by selector whoever owns them, invalid selectors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CONTROLLER_UID_INDEX } from "../../../framework/cache/index.ts";
import { Pods, resourceType, type Pod } from "../../../framework/meta/index.ts";
import { InMemoryApi } from "../../../framework/testing/index.ts";
import { indirectlyRelatedPods, replicaSetsWithSameController } from "../../../operators/replicaset/related.ts";
import type { ReplicaSetShape } from "../../../operators/replicaset/types.ts";
import { makePod } from "./fixtures.ts";

/** Upstream newReplicaSet: controlled by a Deployment with UID 123, selector = labels. */
function newReplicaSet(name: string, labels: Record<string, string>, ownerUid: string | null = "123", deleting = false): ReplicaSetShape {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name,
      namespace: "ns",
      uid: `${name}-uid`,
      ...(ownerUid ? { ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: "d", uid: ownerUid, controller: true }] } : {}),
      ...(deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
    },
    spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels } } },
  };
}

function newPod(name: string, rs: ReplicaSetShape): Pod {
  const pod = makePod({ name, labels: { ...rs.spec!.selector!.matchLabels } });
  pod.metadata!.ownerReferences = [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: rs.metadata!.name!, uid: rs.metadata!.uid!, controller: true }];
  return pod;
}

const someRS = newReplicaSet("rs1", { foo: "bar" });
const relatedRS = newReplicaSet("rs2", { foo: "baz" });
const unrelatedRS = newReplicaSet("rs3", { foo: "quux" }, "456");
const pendingDeletionRS = newReplicaSet("rs4", { foo: "xyzzy" }, "789", true);

const RS = resourceType<ReplicaSetShape>({ group: "apps", version: "v1", kind: "ReplicaSet", plural: "replicasets", namespaced: true });

/** A `Reader` (what `ctx.reader` is) over an in-memory API holding these ReplicaSets and pods. */
function cacheOf(rss: ReplicaSetShape[], pods: Pod[] = []) {
  const api = new InMemoryApi();
  for (const rs of rss) api.objects(RS).add(rs);
  for (const p of pods) api.objects(Pods).add(p);
  return api.reader();
}

const names = (objs: Array<{ metadata?: { name?: string } }>) => objs.map((o) => o.metadata!.name!).sort();

test("TestGetReplicaSetsWithSameController (with the controllerUID index and by scanning)", async () => {
  const cases: Array<[string, ReplicaSetShape[], ReplicaSetShape, string[]]> = [
    ["a ReplicaSet pending deletion is returned", [pendingDeletionRS, unrelatedRS], pendingDeletionRS, ["rs4"]],
    ["only the given ReplicaSet when nothing is related", [someRS, unrelatedRS], someRS, ["rs1"]],
    ["the given and the related ReplicaSet, not the unrelated one", [someRS, relatedRS, unrelatedRS], someRS, ["rs1", "rs2"]],
    ["none for a ReplicaSet without a controller", [newReplicaSet("solo", { a: "b" }, null), someRS], newReplicaSet("solo", { a: "b" }, null), []],
  ];
  for (const [name, rss, rs, want] of cases) {
    const reader = cacheOf(rss);
    assert.deepEqual(names(await replicaSetsWithSameController(rs, RS, reader, CONTROLLER_UID_INDEX)), want, name);
    assert.deepEqual(names(await replicaSetsWithSameController(rs, RS, reader)), want, `${name} (scan)`);
  }
});

test("TestRelatedPodsLookup", async () => {
  const pod1 = newPod("pod1", someRS);
  const pod2 = newPod("pod2", someRS);
  const pod3 = newPod("pod3", relatedRS);
  const pod4 = newPod("pod4", unrelatedRS);
  const cases: Array<[string, ReplicaSetShape[], Pod[], ReplicaSetShape, string[]]> = [
    ["a pod even if its ReplicaSet is pending deletion", [pendingDeletionRS, unrelatedRS], [newPod("pod", pendingDeletionRS)], pendingDeletionRS, ["pod"]],
    ["only own pods when nothing is related", [someRS, unrelatedRS], [pod1, pod2, pod4], someRS, ["pod1", "pod2"]],
    ["own pods and the related ReplicaSet's, not the unrelated one's", [someRS, relatedRS, unrelatedRS], [pod1, pod2, pod3, pod4], someRS, ["pod1", "pod2", "pod3"]],
  ];
  for (const [name, rss, pods, rs, want] of cases) {
    assert.deepEqual(names(await indirectlyRelatedPods(rs, RS, cacheOf(rss, pods), CONTROLLER_UID_INDEX)), want, name);
  }
});

test("related pods are found by selector: orphans and other owners' pods count, each once; none without a controller", async () => {
  const orphan = makePod({ name: "orphan", labels: { foo: "baz" } });
  const foreign = makePod({ name: "foreign", labels: { foo: "bar" }, controllerUid: "someone-else" });
  const overlapping = newReplicaSet("rs5", { foo: "bar" }); // selects the same pods as rs1
  const s = cacheOf([someRS, relatedRS, overlapping], [newPod("pod1", someRS), orphan, foreign, makePod({ name: "other", labels: { foo: "nope" } })]);
  assert.deepEqual(names(await indirectlyRelatedPods(someRS, RS, s, CONTROLLER_UID_INDEX)), ["foreign", "orphan", "pod1"]);
  const solo = newReplicaSet("solo", { foo: "bar" }, null);
  assert.deepEqual(await indirectlyRelatedPods(solo, RS, cacheOf([solo], [newPod("mine", solo)])), []);
});

test("a related ReplicaSet whose selector does not convert selects no pods", async () => {
  const broken = newReplicaSet("broken", { foo: "bar" });
  broken.spec!.selector = { matchExpressions: [{ key: "foo", operator: "Bogus", values: ["bar"] }] };
  const s = cacheOf([someRS, broken], [newPod("pod1", someRS), makePod({ name: "x", labels: { foo: "baz" } })]);
  assert.deepEqual(names(await indirectlyRelatedPods(someRS, RS, s)), ["pod1"]);
});
