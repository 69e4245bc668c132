import { test } from "node:test";
import assert from "node:assert/strict";
import { isNotFound } from "../../../framework/client/index.ts";
import { Pods, deepCopy, type Pod } from "../../../framework/meta/index.ts";
import { ensureFinalizer, finalizer, hasFinalizer, removeFinalizer, requeueAfter } from "../../../framework/controller/index.ts";
import { FakeClient } from "../../../framework/testing/index.ts";

const F = "example.dev/cleanup";
const key = { namespace: "ns", name: "p" };
const pod = (finalizers?: string[], deleting = false): Pod => ({
  apiVersion: "v1", kind: "Pod",
  metadata: { name: "p", namespace: "ns", ...(finalizers ? { finalizers } : {}), ...(deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}) },
});

/** A fake API holding the pod; returns the pod as a reconciler would read it (with its resourceVersion). */
function setup(finalizers?: string[], deleting = false) {
  const fake = new FakeClient();
  const current = (): Pod => deepCopy(fake.api.objects(Pods).get("ns/p")!);
  fake.api.objects(Pods).add(pod(finalizers, deleting));
  return { fake, current };
}

test("ensureFinalizer patches the full list locked on resourceVersion; a no-op when present", async () => {
  const { fake, current } = setup(["other/x"]);
  const before = current();
  const out = await ensureFinalizer(fake, Pods, before, F);
  assert.deepEqual(fake.actionsOf("patch")[0]!.patch, { type: "merge", body: { metadata: { finalizers: ["other/x", F], resourceVersion: before.metadata!.resourceVersion } } });
  assert.equal(hasFinalizer(out, F), true);
  assert.deepEqual(current().metadata?.finalizers, ["other/x", F]);
  await ensureFinalizer(fake, Pods, current(), F);
  assert.equal(fake.actionsOf("patch").length, 1);
});

test("removeFinalizer keeps the others, nulls an empty list, ignores 404, surfaces 409", async () => {
  const { fake, current } = setup(["other/x", F]);
  const before = current();
  await removeFinalizer(fake, Pods, before, F);
  assert.deepEqual(fake.actionsOf("patch")[0]!.patch, { type: "merge", body: { metadata: { finalizers: ["other/x"], resourceVersion: before.metadata!.resourceVersion } } });
  fake.api.objects(Pods).add(pod([F]));
  const only = current();
  await removeFinalizer(fake, Pods, only, F);
  assert.deepEqual(fake.actionsOf("patch")[1]!.patch, { type: "merge", body: { metadata: { finalizers: null, resourceVersion: only.metadata!.resourceVersion } } });
  assert.equal(current().metadata?.finalizers, undefined);
  fake.api.objects(Pods).remove("ns/p");
  await removeFinalizer(fake, Pods, only, F);
  assert.ok(isNotFound(fake.actionsOf("patch")[2]!.error), "the 404 was ignored");
  fake.api.objects(Pods).add(pod([F]));
  const stale = current();
  fake.api.objects(Pods).add({ ...pod([F]), metadata: { ...pod([F]).metadata, labels: { changed: "yes" } } });
  await assert.rejects(removeFinalizer(fake, Pods, stale, F), /409 Conflict/);
});

test("finalizer(): adds then applies; applies; cleans up then removes; keeps it when cleanup throws", async () => {
  const calls: string[] = [];
  const handlers = {
    apply: async (p: Pod) => { calls.push(`apply:${p.metadata?.finalizers?.join(",")}`); return requeueAfter(1000); },
    cleanup: async () => { calls.push("cleanup"); },
  };
  const { fake, current } = setup();
  const patches = () => fake.succeeded("patch").length;
  assert.deepEqual(await finalizer(fake, Pods, current(), F, handlers), { requeueAfterMs: 1000 });
  assert.deepEqual(calls, [`apply:${F}`], "applied to the patched object");
  assert.equal(patches(), 1);
  await finalizer(fake, Pods, current(), F, handlers);
  assert.equal(patches(), 1, "no patch when present");
  await fake.delete(Pods, key);
  assert.ok(current().metadata?.deletionTimestamp, "the finalizer holds the pod");
  await finalizer(fake, Pods, current(), F, handlers);
  assert.deepEqual(calls.slice(2), ["cleanup"]);
  assert.equal(patches(), 2, "removed after cleanup");
  assert.equal(fake.api.objects(Pods).get("ns/p"), undefined, "and the pod is gone");
  await finalizer(fake, Pods, pod([], true), F, handlers);
  assert.equal(calls.length, 3, "deleting without our finalizer: nothing");
  fake.api.objects(Pods).add(pod([F], true));
  const failing = { ...handlers, cleanup: async () => { throw new Error("bucket still has objects"); } };
  await assert.rejects(finalizer(fake, Pods, current(), F, failing), /bucket/);
  assert.equal(patches(), 2, "finalizer kept when cleanup fails");
  await assert.rejects(finalizer(fake, Pods, pod(), "cleanup", handlers), /domain-qualified/);
});
