import { test } from "node:test";
import assert from "node:assert/strict";
import { Pods, type Pod } from "../../../framework/meta/index.ts";
import { ensureFinalizer, finalizer, hasFinalizer, removeFinalizer, requeueAfter } from "../../../framework/controller/index.ts";
import { FakeClient, apiError } from "./fake-client.ts";

const F = "example.dev/cleanup";
const pod = (finalizers?: string[], deleting = false): Pod => ({
  apiVersion: "v1", kind: "Pod",
  metadata: { name: "p", namespace: "ns", resourceVersion: "5", ...(finalizers ? { finalizers } : {}), ...(deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}) },
});

test("ensureFinalizer patches the full list locked on resourceVersion; a no-op when present", async () => {
  const fake = new FakeClient();
  const out = await ensureFinalizer(fake.asClient(), Pods, pod(["other/x"]), F);
  assert.deepEqual(fake.patched[0]!.patch, { type: "merge", body: { metadata: { finalizers: ["other/x", F], resourceVersion: "5" } } });
  assert.equal(hasFinalizer(out, F), true);
  await ensureFinalizer(fake.asClient(), Pods, pod([F]), F);
  assert.equal(fake.patched.length, 1);
});

test("removeFinalizer keeps the others, nulls an empty list, ignores 404, surfaces 409", async () => {
  const fake = new FakeClient();
  await removeFinalizer(fake.asClient(), Pods, pod(["other/x", F]), F);
  assert.deepEqual(fake.patched[0]!.patch, { type: "merge", body: { metadata: { finalizers: ["other/x"], resourceVersion: "5" } } });
  await removeFinalizer(fake.asClient(), Pods, pod([F]), F);
  assert.deepEqual(fake.patched[1]!.patch, { type: "merge", body: { metadata: { finalizers: null, resourceVersion: "5" } } });
  fake.failPatch = () => apiError(404);
  await removeFinalizer(fake.asClient(), Pods, pod([F]), F);
  fake.failPatch = () => apiError(409, "conflict");
  await assert.rejects(removeFinalizer(fake.asClient(), Pods, pod([F]), F), /conflict/);
});

test("finalizer(): adds then applies; applies; cleans up then removes; keeps it when cleanup throws", async () => {
  const calls: string[] = [];
  const handlers = {
    apply: async (p: Pod) => { calls.push(`apply:${p.metadata?.finalizers?.join(",")}`); return requeueAfter(1000); },
    cleanup: async () => { calls.push("cleanup"); },
  };
  const fake = new FakeClient();
  const client = fake.asClient();
  assert.deepEqual(await finalizer(client, Pods, pod(), F, handlers), { requeueAfterMs: 1000 });
  assert.deepEqual(calls, [`apply:${F}`], "applied to the patched object");
  assert.equal(fake.patched.length, 1);
  await finalizer(client, Pods, pod([F]), F, handlers);
  assert.equal(fake.patched.length, 1, "no patch when present");
  await finalizer(client, Pods, pod([F], true), F, handlers);
  assert.deepEqual(calls.slice(2), ["cleanup"]);
  assert.equal(fake.patched.length, 2, "removed after cleanup");
  await finalizer(client, Pods, pod([], true), F, handlers);
  assert.equal(calls.length, 3, "deleting without our finalizer: nothing");
  const failing = { ...handlers, cleanup: async () => { throw new Error("bucket still has objects"); } };
  await assert.rejects(finalizer(client, Pods, pod([F], true), F, failing), /bucket/);
  assert.equal(fake.patched.length, 2, "finalizer kept when cleanup fails");
  await assert.rejects(finalizer(client, Pods, pod(), "cleanup", handlers), /domain-qualified/);
});
