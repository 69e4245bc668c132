import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { ApiException, CoreV1Api, KubeConfig, VersionApi, type V1Pod } from "@kubernetes/client-node";
import {
  createFakeNodes,
  deleteFakeNodes,
  testControlPlane,
  waitFor,
  type ControlPlane,
} from "../../../framework/testing/index.ts";

const suffix = randomBytes(3).toString("hex");
const nodeName = `e2e-controlplane-${suffix}`;
const podName = `e2e-controlplane-${suffix}`;

function isNotFound(err: unknown): boolean {
  return err instanceof ApiException && err.code === 404;
}

describe("control plane", () => {
  let plane: ControlPlane;
  let core: CoreV1Api;
  let version: VersionApi;

  before(async () => {
    plane = await testControlPlane();
    const kc = new KubeConfig();
    kc.loadFromFile(plane.kubeconfigPath);
    core = kc.makeApiClient(CoreV1Api);
    version = kc.makeApiClient(VersionApi);
  });

  after(async () => {
    if (!core) return;
    await core.deleteNamespacedPod({ name: podName, namespace: "default", gracePeriodSeconds: 0 }).catch(() => {});
    await deleteFakeNodes(plane.kubeconfigPath, [nodeName]).catch(() => {});
  });

  it("serves /version of the pinned Kubernetes release", async () => {
    const info = await version.getCode();
    if (plane.local) {
      assert.equal(info.gitVersion, "v1.36.3");
      assert.equal(info.major, "1");
      assert.equal(info.minor, "36");
    } else {
      assert.match(info.gitVersion, /^v1\.\d+\.\d+/);
    }
  });

  it("makes a fake GPU node Ready with the given capacity", async () => {
    const names = await createFakeNodes(plane.kubeconfigPath, [
      { name: nodeName, cpu: "16", memory: "64Gi", gpus: 4, gpuProduct: "NVIDIA-A100-SXM4-80GB" },
    ]);
    assert.deepEqual(names, [nodeName]);
    const node = await core.readNode({ name: nodeName });
    const ready = node.status?.conditions?.find((c) => c.type === "Ready");
    assert.equal(ready?.status, "True");
    assert.equal(node.status?.allocatable?.["nvidia.com/gpu"], "4");
    assert.equal(node.status?.allocatable?.cpu, "16");
    assert.equal(node.metadata?.labels?.["nvidia.com/gpu.product"], "NVIDIA-A100-SXM4-80GB");
  });

  it("schedules a pod onto the kwok node and kwok runs it", async () => {
    const pod: V1Pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: podName, namespace: "default" },
      spec: {
        nodeSelector: { "kubernetes.io/hostname": nodeName },
        containers: [{ name: "app", image: "registry.invalid/app:1", resources: { limits: { "nvidia.com/gpu": "1" } } }],
      },
    };
    await core.createNamespacedPod({ namespace: "default", body: pod });
    const running = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: podName, namespace: "default" });
        return p.status?.phase === "Running" ? p : undefined;
      },
      { timeoutMs: 60_000, description: `pod default/${podName} to be scheduled and Running` },
    );
    assert.equal(running.spec?.nodeName, nodeName, "kube-scheduler bound the pod to the selected kwok node");
    assert.equal(running.status?.conditions?.find((c) => c.type === "PodScheduled")?.status, "True");
    assert.equal(running.status?.conditions?.find((c) => c.type === "Ready")?.status, "True");
    assert.ok(running.status?.podIP, "kwok assigned a pod IP");
  });

  it("removes a deleted pod (kwok plays the kubelet's part of deletion)", async () => {
    await core.deleteNamespacedPod({ name: podName, namespace: "default" });
    await waitFor(
      async () => {
        try {
          await core.readNamespacedPod({ name: podName, namespace: "default" });
          return undefined;
        } catch (err) {
          if (isNotFound(err)) return true;
          throw err;
        }
      },
      { timeoutMs: 60_000, description: `pod default/${podName} to be gone after delete` },
    );
  });

  it("restarts kube-apiserver and serves again, with the data kept", async (t) => {
    if (!plane.local) {
      t.skip("restart needs a local control plane (KUBELOOP_CLUSTER_DIR); this cluster comes from KUBECONFIG");
      return;
    }
    const before = plane.processes.find((p) => p.name === "kube-apiserver")?.pid;
    await plane.restart("kube-apiserver");
    const afterPid = plane.processes.find((p) => p.name === "kube-apiserver")?.pid;
    assert.notEqual(afterPid, before, "a new kube-apiserver process runs");
    const info = await waitFor(async () => version.getCode(), { timeoutMs: 30_000, description: "/version after the restart" });
    assert.equal(info.gitVersion, "v1.36.3");
    const node = await core.readNode({ name: nodeName });
    assert.equal(node.metadata?.name, nodeName, "the node created before the restart is still stored in etcd");
  });

  it("deletes the fake node", async () => {
    assert.deepEqual(await deleteFakeNodes(plane.kubeconfigPath, [nodeName]), [nodeName]);
    await assert.rejects(core.readNode({ name: nodeName }), (err: unknown) => isNotFound(err));
  });
});
