import { test } from "node:test";
import assert from "node:assert/strict";
import { ApiError } from "../../../framework/client/index.ts";
import { controllerRefFor, isNamespaceTerminating, podFromTemplate, slowStartBatch } from "../../../operators/replicaset/pods.ts";
import { makeReplicaSet } from "./fixtures.ts";

test("slowStartBatch: batches of 1, 2, 4, ... run in parallel inside a batch", async () => {
  const batches: number[] = [];
  let inFlight = 0;
  let current = 0;
  const result = await slowStartBatch(10, 1, async () => {
    inFlight++;
    current++;
    await new Promise((r) => setImmediate(r));
    if (inFlight > 0) { batches.push(current); current = 0; inFlight = 0; }
  });
  assert.deepEqual(result, { successes: 10 });
  // Each batch starts all its calls before any settles: 1, 2, 4, then the 3 remaining.
  assert.deepEqual(batches.filter((n) => n > 0), [1, 2, 4, 3]);
});

test("slowStartBatch: stops after the first failing batch and reports the first error", async () => {
  let calls = 0;
  const result = await slowStartBatch(20, 1, async () => {
    calls++;
    // Calls 1..3 (batches 1 and 2) succeed; call 5 in the third batch fails.
    if (calls === 5) throw new Error("quota exceeded");
  });
  assert.equal(calls, 7, "the third batch (4 calls) runs to the end, no fourth batch starts");
  assert.equal(result.successes, 6);
  assert.match(String((result.error as Error).message), /quota/);
});

test("slowStartBatch: every call failing stops after the first one", async () => {
  let calls = 0;
  const result = await slowStartBatch(500, 1, async () => { calls++; throw new Error("no"); });
  assert.equal(calls, 1);
  assert.equal(result.successes, 0);
});

test("slowStartBatch: zero does nothing", async () => {
  let calls = 0;
  assert.deepEqual(await slowStartBatch(0, 1, async () => { calls++; }), { successes: 0 });
  assert.equal(calls, 0);
});

test("podFromTemplate copies labels, annotations, finalizers and spec and sets the controller ref", () => {
  const rs = makeReplicaSet();
  const template = rs.spec.template as { metadata: Record<string, unknown>; spec: { containers: Array<{ name: string; image: string }> } };
  template.metadata.annotations = { a: "1" };
  template.metadata.finalizers = ["example.com/f"];
  const ref = controllerRefFor(rs, { apiVersion: "apps.kubeloop.dev/v1alpha1", kind: "ReplicaSet" });
  const pod = podFromTemplate(rs, ref);
  assert.equal(pod.metadata?.generateName, "rs-");
  assert.equal(pod.metadata?.namespace, "ns");
  assert.deepEqual(pod.metadata?.labels, { app: "web" });
  assert.deepEqual(pod.metadata?.annotations, { a: "1" });
  assert.deepEqual(pod.metadata?.finalizers, ["example.com/f"]);
  assert.deepEqual(pod.metadata?.ownerReferences, [{ apiVersion: "apps.kubeloop.dev/v1alpha1", kind: "ReplicaSet", name: "rs", uid: "rs-uid", controller: true, blockOwnerDeletion: true }]);
  assert.deepEqual(pod.spec, template.spec);
  pod.spec!.containers[0]!.image = "changed";
  assert.equal(template.spec.containers[0]!.image, "i", "the spec is a deep copy");
});

test("isNamespaceTerminating reads the NamespaceTerminating cause", () => {
  const err = new ApiError(403, { reason: "Forbidden", message: "namespace is being terminated", details: { causes: [{ reason: "NamespaceTerminating" }] } }, { verb: "create" });
  assert.equal(isNamespaceTerminating(err), true);
  assert.equal(isNamespaceTerminating(new ApiError(403, { reason: "Forbidden" }, { verb: "create" })), false);
  assert.equal(isNamespaceTerminating(new Error("x")), false);
});
