import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadKwokStages } from "../../../framework/testing/index.ts";

describe("kwok Stages", () => {
  it("ships node initialise and heartbeat, pod ready, complete and delete", async () => {
    const stages = await loadKwokStages();
    const byName = new Map(stages.map((s) => [s.name, s.kind]));
    assert.deepEqual(
      [...byName.entries()].sort(),
      [
        ["node-heartbeat", "Node"],
        ["node-initialize", "Node"],
        ["pod-complete", "Pod"],
        ["pod-delete", "Pod"],
        ["pod-ready", "Pod"],
      ],
    );
    const heartbeat = stages.find((s) => s.name === "node-heartbeat")?.document as { spec: { delay: { durationMilliseconds: number; jitterDurationMilliseconds: number } } };
    // kube-controller-manager marks a node NotReady after 50 s without a heartbeat.
    assert.ok(heartbeat.spec.delay.jitterDurationMilliseconds < 50_000);
    const podDelete = stages.find((s) => s.name === "pod-delete")?.document as { spec: { next: { delete?: boolean } } };
    assert.equal(podDelete.spec.next.delete, true);
  });

  it("rejects a file that is not a Stage, naming the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kubeloop-stages-"));
    try {
      await writeFile(join(dir, "ok.yaml"), "apiVersion: kwok.x-k8s.io/v1alpha1\nkind: Stage\nmetadata: {name: a}\nspec: {resourceRef: {kind: Pod}, next: {delete: true}}\n");
      await writeFile(join(dir, "bad.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n");
      await assert.rejects(loadKwokStages(dir), /bad\.yaml \(document 0\) is v1\/ConfigMap, expected kwok\.x-k8s\.io\/v1alpha1 Stage/);
      await writeFile(join(dir, "bad.yaml"), "apiVersion: kwok.x-k8s.io/v1alpha1\nkind: Stage\nmetadata: {name: a}\nspec: {resourceRef: {kind: Pod}, next: {}}\n");
      await assert.rejects(loadKwokStages(dir), /Stage name a is used twice/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
