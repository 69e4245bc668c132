/**
 * The README's main job, `npm run demo -- --exit-after-convergence`, against the test cluster:
 * it installs the CRDs, runs the operators, applies the samples and walks every step (converge,
 * scale up through /scale, heal a deleted pod, scale down) to convergence, the scheduling steps,
 * and step 8 (the API server and the in-process evaluation refuse the same pod with the same
 * message; the API server's MutatingAdmissionPolicy adds the GPU toleration), then exits 0 and leaves nothing of its own on a cluster it did not start.
 * Needs a cluster with schedulable nodes: `KUBECONFIG` (set by `test/run.ts`).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { MutatingAdmissionPolicies, MutatingWebhookConfigurations, ValidatingAdmissionPolicies } from "../../../framework/admission/index.ts";
import { Nodes, resourceType, type KubeObject } from "../../../framework/meta/index.ts";
import { deleteTestNamespace, testEnvironment } from "../../../framework/testing/index.ts";
import { GPUPlacementPolicies } from "../../../operators/gpu-placement/index.ts";

const demo = fileURLToPath(new URL("../../../operators/demo.ts", import.meta.url));
const DEMO_NAMESPACE = "kubeloop-demo";

after(async () => {
  const { client } = await testEnvironment();
  await deleteTestNamespace(client, DEMO_NAMESPACE);
  client.close();
});

test("npm run demo -- --exit-after-convergence converges every step and exits 0", { timeout: 600_000 }, async () => {
  const { plane, client } = await testEnvironment();
  const gpuNodes = ["gpu-a100-0", "gpu-a100-1", "gpu-t4-0"];
  const existedBefore = new Set((await client.list(Nodes)).items.map((n) => n.metadata!.name!).filter((n) => gpuNodes.includes(n)));
  const child = spawn(process.execPath, [demo, "--exit-after-convergence", "--step-timeout-seconds", "120"], {
    env: { ...process.env, KUBECONFIG: plane.kubeconfigPath },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => { output += chunk.toString("utf8"); });
  child.stderr.on("data", (chunk: Buffer) => { output += chunk.toString("utf8"); });
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  assert.equal(code, 0, `the demo exited ${code}:\n${output}`);
  for (const step of ["step 1", "step 2", "step 3", "step 4"]) {
    assert.match(output, new RegExp(`${step}: [^\\n]*:\\n`), `${step} printed its table`);
  }
  assert.equal(output.match(/converged in/g)?.length, 4, `each of the 4 steps converged:\n${output}`);
  assert.match(output, /every step converged; exiting/);
  assert.match(output, /the operators act as system:serviceaccount:kubeloop-demo:kubeloop-demo-operators \(impersonated\), allowed only the \d+ rules generated from their code/,
    "the operators ran as the least-privilege ServiceAccount");
  assert.doesNotMatch(output, /cannot [a-z]+ resource/, `no request of the operators was refused by RBAC:\n${output}`);
  assert.match(output, /web +desired=2 current=2 ready=2 available=2/, "the last table shows web scaled down to 2");
  // On a cluster it did not start, the demo removes the GPU nodes and the policy it added.
  const left = (await client.list(Nodes)).items.map((n) => n.metadata!.name!).filter((n) => gpuNodes.includes(n) && !existedBefore.has(n));
  assert.deepEqual(left, [], `GPU nodes the demo created are gone:\n${output}`);
  assert.equal((await client.list(GPUPlacementPolicies)).items.some((p) => p.metadata?.name === "train-binpack"), false, "the demo's policy is gone");
  // Step 8: the API server and the in-process evaluation refuse the same pod with the same message.
  assert.match(output, /step 8: a pod of PodGroup trainer with schedulerName default-scheduler \(dry run\):\n  kube-apiserver: (pods "trainer-wrong-scheduler" is forbidden: [^\n]+)\n  in-process: +\1\n/, `step 8 printed two equal verdicts:\n${output}`);
  assert.match(output, /step 8: with schedulerName kubeloop-scheduler: admitted by both/);
  // Step 8, mutating: the API server's copy of gpu-toleration added the toleration to the dry-run pod.
  assert.match(output, /step 8: a pod requesting nvidia\.com\/gpu: 1 with no toleration \(dry run\):\n  kube-apiserver: nvidia\.com\/gpu tolerations nvidia\.com\/gpu:NoSchedule \(Exists\)\n  in-process: +(nvidia\.com\/gpu tolerations nvidia\.com\/gpu:NoSchedule \(Exists\)|not evaluated: [^\n]+)\n/, `step 8 printed the mutation:\n${output}`);
  // Step 8, estimated cost: the API server refuses the costly CRD, and the in-process verdict has the same causes (the demo fails otherwise).
  assert.match(output, /step 8: a CRD whose rule compares every pair of an unbounded list \(dry-run create\):\n  kube-apiserver: spec\.validation\.openAPIV3Schema\.properties\[spec\]\.x-kubernetes-validations\[0\]\.rule: Forbidden: estimated rule cost exceeds budget by factor of [^\n]+\n(?: {18}[^\n]+\n)*  in-process: +spec\.validation\.openAPIV3Schema\.properties\[spec\]\.x-kubernetes-validations\[0\]\.rule: Forbidden: estimated rule cost exceeds budget/, `step 8 printed the cost verdicts:\n${output}`);
  assert.equal((await client.list(ValidatingAdmissionPolicies)).items.some((p) => p.metadata?.name === "pod-group-scheduler-demo"), false, "the demo's admission policy is gone");
  assert.equal((await client.list(MutatingAdmissionPolicies)).items.some((p) => p.metadata?.name === "gpu-toleration-demo"), false, "the demo's mutating policy is gone");
  // Step 7: the gpu-placement webhook, served by the demo's operators, sent a pod that named no scheduler to kubeloop-scheduler.
  assert.match(output, /admission webhook scheduler-name\.gpu-placement\.kubeloop\.dev served on https:\/\/127\.0\.0\.1:\d+ /);
  assert.match(output, /step 7: admission webhook scheduler-name\.gpu-placement\.kubeloop\.dev set schedulerName kubeloop-scheduler \(scheduling\.kubeloop\.dev\/gpu-placement-policy: train-binpack\)/, `step 7 printed the webhook's answer:\n${output}`);
  assert.equal((await client.list(MutatingWebhookConfigurations)).items.some((c) => c.metadata?.name === "kubeloop-demo-webhooks"), false, "the demo's webhook configuration is gone");
  const clusterRoles = resourceType<KubeObject>({ group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRole", plural: "clusterroles", namespaced: false });
  assert.equal((await client.list(clusterRoles)).items.some((r) => r.metadata?.name === "kubeloop-demo-operators"), false, "the operators' demo ClusterRole is gone");
  client.close();
});
