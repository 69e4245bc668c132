import { test } from "node:test";
import assert from "node:assert/strict";
import { ApiError } from "../../../framework/client/index.ts";
import { resourceType, type KubeObject, type ObjectKey, type ResourceType } from "../../../framework/meta/index.ts";
import type { Patch } from "../../../framework/client/index.ts";
import { claimActionFor, claimPods, ClaimError } from "../../../operators/replicaset/claim.ts";
import { makePod, makeReplicaSet } from "./fixtures.ts";

type RS = ReturnType<typeof makeReplicaSet>;
const ReplicaSets = resourceType<RS>({ group: "apps.kubeloop.dev", version: "v1alpha1", kind: "ReplicaSet", plural: "replicasets", namespaced: true });

test("claimActionFor: every branch of ClaimObject", () => {
  const rs = makeReplicaSet();
  const deleting = makeReplicaSet({ deleting: true });
  assert.equal(claimActionFor(rs, makePod({ name: "mine", controllerUid: "rs-uid" }), true), "keep");
  assert.equal(claimActionFor(rs, makePod({ name: "mine", controllerUid: "rs-uid" }), false), "release");
  assert.equal(claimActionFor(deleting, makePod({ name: "mine", controllerUid: "rs-uid" }), false), "ignore", "a ReplicaSet being deleted releases nothing");
  assert.equal(claimActionFor(deleting, makePod({ name: "mine", controllerUid: "rs-uid" }), true), "keep");
  assert.equal(claimActionFor(rs, makePod({ name: "theirs", controllerUid: "other" }), true), "ignore");
  assert.equal(claimActionFor(rs, makePod({ name: "orphan" }), true), "adopt");
  assert.equal(claimActionFor(rs, makePod({ name: "orphan" }), false), "ignore");
  assert.equal(claimActionFor(deleting, makePod({ name: "orphan" }), true), "ignore", "a ReplicaSet being deleted adopts nothing");
  assert.equal(claimActionFor(rs, makePod({ name: "orphan", deleting: true }), true), "ignore");
  assert.equal(claimActionFor(rs, makePod({ name: "orphan", namespace: "elsewhere" }), true), "ignore");
  // A non-controller owner reference to the ReplicaSet is still an orphan: adopt.
  const owned = makePod({ name: "owned" });
  owned.metadata!.ownerReferences = [{ apiVersion: "apps.kubeloop.dev/v1alpha1", kind: "ReplicaSet", name: "rs", uid: "rs-uid" }];
  assert.equal(claimActionFor(rs, owned, true), "adopt");
});

interface Call { verb: string; key: ObjectKey; patch?: Patch }

function fakeClient(opts: { owner?: KubeObject; patchError?: (name: string) => unknown } = {}) {
  const calls: Call[] = [];
  return {
    calls,
    client: {
      async get<T extends KubeObject>(_type: ResourceType<T>, key: ObjectKey): Promise<T> {
        calls.push({ verb: "get", key });
        if (!opts.owner) throw new ApiError(404, { reason: "NotFound" }, { verb: "get" });
        return opts.owner as T;
      },
      async patch<T extends KubeObject>(_type: ResourceType<T>, key: ObjectKey, patch: Patch): Promise<T> {
        calls.push({ verb: "patch", key, patch });
        const err = opts.patchError?.(key.name);
        if (err) throw err;
        return { metadata: { name: key.name, namespace: key.namespace, patched: true } } as unknown as T;
      },
    },
  };
}

const matchesWeb = (pod: { metadata?: { labels?: Record<string, string> } }) => pod.metadata?.labels?.app === "web";

test("claimPods: keeps, adopts after one uncached owner GET, releases, ignores others", async () => {
  const rs = makeReplicaSet();
  const fake = fakeClient({ owner: rs });
  const pods = [
    makePod({ name: "mine", controllerUid: "rs-uid" }),
    makePod({ name: "orphan1", uid: "o1" }),
    makePod({ name: "orphan2", uid: "o2" }),
    makePod({ name: "stray", controllerUid: "rs-uid", uid: "s1", labels: { app: "db" } }),
    makePod({ name: "theirs", controllerUid: "other" }),
  ];
  const claimed = await claimPods(rs, pods, matchesWeb, { client: fake.client, ownerType: ReplicaSets });
  assert.deepEqual(claimed.map((p) => p.metadata?.name), ["mine", "orphan1", "orphan2"]);
  assert.equal(fake.calls.filter((c) => c.verb === "get").length, 1, "one owner GET for all adoptions");
  const adopt = fake.calls.find((c) => c.key.name === "orphan1")!.patch!;
  assert.deepEqual(adopt, {
    type: "strategic",
    body: { metadata: { ownerReferences: [{ apiVersion: "apps.kubeloop.dev/v1alpha1", kind: "ReplicaSet", name: "rs", uid: "rs-uid", controller: true, blockOwnerDeletion: true }], uid: "o1" } },
  });
  const release = fake.calls.find((c) => c.key.name === "stray")!.patch!;
  assert.deepEqual(release, { type: "strategic", body: { metadata: { ownerReferences: [{ $patch: "delete", uid: "rs-uid" }], uid: "s1" } } });
  assert.equal(fake.calls.some((c) => c.key.name === "theirs"), false);
});

test("claimPods: no adoption when the owner was recreated or is being deleted", async () => {
  const rs = makeReplicaSet();
  for (const owner of [{ ...rs, metadata: { ...rs.metadata, uid: "new-uid" } }, makeReplicaSet({ deleting: true })]) {
    const fake = fakeClient({ owner });
    await assert.rejects(claimPods(rs, [makePod({ name: "orphan" })], matchesWeb, { client: fake.client, ownerType: ReplicaSets }), ClaimError);
    assert.equal(fake.calls.filter((c) => c.verb === "patch").length, 0);
  }
  // The owner is gone (404): like upstream, the NotFound is not an error, and nothing is adopted.
  const fake = fakeClient({ owner: undefined });
  assert.deepEqual(await claimPods(rs, [makePod({ name: "orphan" })], matchesWeb, { client: fake.client, ownerType: ReplicaSets }), []);
  assert.equal(fake.calls.filter((c) => c.verb === "patch").length, 0);
});

test("claimPods: release ignores 404 and 422, adoption ignores 404, other errors fail the claim", async () => {
  const rs = makeReplicaSet();
  const gone = (name: string) => (name === "gone" || name === "orphan-gone" ? new ApiError(404, { reason: "NotFound" }, { verb: "patch" }) : undefined);
  const invalid = () => new ApiError(422, { reason: "Invalid" }, { verb: "patch" });
  const pods = [makePod({ name: "gone", controllerUid: "rs-uid", labels: {} }), makePod({ name: "orphan-gone" })];
  assert.deepEqual(await claimPods(rs, pods, matchesWeb, { client: fakeClient({ owner: rs, patchError: gone }).client, ownerType: ReplicaSets }), []);
  assert.deepEqual(await claimPods(rs, [pods[0]!], matchesWeb, { client: fakeClient({ owner: rs, patchError: invalid }).client, ownerType: ReplicaSets }), []);
  const boom = () => new ApiError(500, { reason: "InternalError" }, { verb: "patch" });
  await assert.rejects(
    claimPods(rs, [makePod({ name: "mine", controllerUid: "rs-uid" }), makePod({ name: "orphan" })], matchesWeb, { client: fakeClient({ owner: rs, patchError: boom }).client, ownerType: ReplicaSets }),
    (err: unknown) => err instanceof ClaimError && err.errors.length === 1,
  );
});
