/**
 * The Helm chart installed into the real API server, as a user installs it: `helm install` into a
 * namespace that enforces the restricted Pod Security Standard, with `--wait`. Every object of
 * the release is accepted and exists; the API server admits the Deployment's pods under
 * `restricted` (and refuses a privileged pod in the same namespace, so the label is in force);
 * kwok runs them. `helm upgrade` to 3 replicas rolls out; `helm uninstall` leaves none of the
 * release's objects, only the CRDs (Helm never deletes those). A wrong value is refused by
 * `values.schema.json` before anything is sent. Helm is v3.21.4 built from the Go module proxy
 * and cached, as the chart's unit test gets it. Needs a cluster (`KUBECONFIG`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { isForbidden, isNotFound } from "../../../framework/client/index.ts";
import { CustomResourceDefinitions, Namespaces, Pods, type KubeObject, type Pod } from "../../../framework/meta/index.ts";
import { ensureBinaries, waitFor } from "../../../framework/testing/index.ts";
import { allDefinitions } from "../../../operators/registry.ts";
import { useTestNamespace } from "../support/test-namespace.ts";
import { manifestObjects, manifestResourceType } from "../support/manifest.ts";
import { runBinary } from "../support/run-binary.ts";
import type { RequestOptions } from "node:https";
import { fetchMetricsText, sumSamples } from "../../bench/prometheus-text.ts";

const chartDir = fileURLToPath(new URL("../../../charts/kubeloop/", import.meta.url));
const env = useTestNamespace("kubeloop-helm");
const helmBinary = (await ensureBinaries({ components: ["helm"] })).helm;

/** Runs helm against the test cluster (5 min at most); resolves with stdout, rejects with stderr in the message. */
function helm(...args: string[]): Promise<string> {
  return runBinary(helmBinary, [...args, "--kubeconfig", env.kubeconfigPath], 300_000);
}

async function releaseObjects(release: string, namespace: string): Promise<KubeObject[]> {
  return manifestObjects(await helm("get", "manifest", release, "--namespace", namespace));
}

test("helm install into a restricted namespace, upgrade, uninstall: every object accepted, pods admitted and running, nothing left but the CRDs", { timeout: 600_000 }, async (t) => {
  const { client } = env;
  const namespace = `${env.namespace}-rel`;
  const release = `kl-${env.namespace.slice(-6)}`;
  await client.create(Namespaces, {
    apiVersion: "v1", kind: "Namespace",
    metadata: { name: namespace, labels: { "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest" } },
  });
  try {
    // The label is in force: a privileged pod is refused in this namespace.
    await assert.rejects(
      client.create(Pods, { apiVersion: "v1", kind: "Pod", metadata: { name: "privileged", namespace }, spec: { containers: [{ name: "c", image: "registry.k8s.io/pause:3.10", securityContext: { privileged: true } }] } }),
      (err: unknown) => isForbidden(err) && /violates PodSecurity "restricted:latest"/.test((err as Error).message),
    );

    await assert.rejects(helm("install", release, chartDir, "--namespace", namespace, "--set", "replicaCount=0"), /at '\/replicaCount': minimum: got 0, want 1/);

    // The optional NetworkPolicy, dashboard ConfigMap and admission policies too (the
    // ServiceMonitor needs the Prometheus Operator's CRD).
    // The webhooks only for the test's namespace: the API server cannot reach the kwok pods behind
    // the chart's webhook Service, and other test files create GPU pods at the same time.
    await helm("install", release, chartDir, "--namespace", namespace, "--set", "networkPolicy.enabled=true", "--set", "grafanaDashboard.enabled=true",
      "--set", "admissionPolicies.enabled=true", "--set-json", `webhooks.namespaceSelector={"matchLabels":{"kubernetes.io/metadata.name":"${env.namespace}"}}`,
      "--wait", "--timeout", "4m");
    const objects = await releaseObjects(release, namespace);
    const kinds = objects.map((o) => o.kind).sort();
    for (const kind of ["ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "Lease", "NetworkPolicy", "PodDisruptionBudget", "Role", "RoleBinding", "Secret", "Service", "ServiceAccount",
      "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding", "MutatingWebhookConfiguration"]) {
      assert.ok(kinds.includes(kind), `the release has a ${kind} (has ${kinds.join(", ")})`);
    }
    for (const obj of objects) {
      const found = await client.get(manifestResourceType(obj), { namespace: obj.metadata?.namespace, name: obj.metadata!.name! });
      assert.equal(found.metadata?.name, obj.metadata!.name, `${obj.kind} ${obj.metadata!.name} exists`);
    }
    // The shipped pod-group-scheduler policy is in force (in the test's own namespace: the release's
    // enforces the restricted Pod Security Standard, which would refuse this pod first).
    const groupPod: Pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "group-member", namespace: env.namespace, labels: { "scheduling.kubeloop.dev/pod-group": "g" } },
      spec: { containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }] } };
    const denial = await waitFor(async () => client.create(Pods, groupPod, { dryRun: true }).then(() => undefined, (err: unknown) => (isForbidden(err) ? (err as Error).message : undefined)),
      { timeoutMs: 30_000, description: "the API server to enforce the chart's pod-group-scheduler policy" });
    assert.match(denial, /ValidatingAdmissionPolicy 'pod-group-scheduler' with binding 'pod-group-scheduler' denied request: pod of PodGroup g must set spec.schedulerName to kubeloop-scheduler, not default-scheduler/);
    // The chart's scheduler-name webhook is failurePolicy Ignore: with no operator answering (kwok
    // runs no process), a GPU pod is still admitted, on default-scheduler. The shipped
    // gpu-toleration MutatingAdmissionPolicy adds its toleration all the same.
    const failOpen = async () => {
      const options: RequestOptions = {};
      await env.kubeConfig.applyToHTTPSOptions(options);
      const text = await fetchMetricsText(new URL("/metrics", env.kubeConfig.getCurrentCluster()!.server), options);
      assert.ok(text, "kube-apiserver's /metrics answers");
      return sumSamples(text, "apiserver_admission_webhook_fail_open_count", { name: "scheduler-name.gpu-placement.kubeloop.dev" });
    };
    const failedOpenBefore = await failOpen();
    const gpuPodStart = performance.now();
    const gpuPod = await client.create(Pods, { apiVersion: "v1", kind: "Pod", metadata: { name: "gpu-pod", namespace: env.namespace, labels: { app: "train" } },
      spec: { containers: [{ name: "c", image: "registry.k8s.io/pause:3.10", resources: { limits: { "nvidia.com/gpu": "1" } } }] } }, { dryRun: true });
    t.diagnostic(`a GPU pod admitted past the unreachable webhook in ${Math.round(performance.now() - gpuPodStart)} ms (its timeoutSeconds is 5)`);
    assert.equal(gpuPod.spec?.schedulerName, "default-scheduler");
    assert.equal(await failOpen(), failedOpenBefore + 1, "the API server called the chart's webhook, failed, and admitted the pod (apiserver_admission_webhook_fail_open_count)");
    const pods = (await client.list(Pods, { namespace })).items;
    assert.equal(pods.length, 2, "two operator pods (replicaCount 2) were admitted under restricted");
    for (const pod of pods) {
      assert.equal(pod.status?.phase, "Running", `${pod.metadata?.name} runs (kwok)`);
      assert.equal(pod.spec?.securityContext?.seccompProfile?.type, "RuntimeDefault");
      const c = pod.spec?.containers[0];
      assert.equal(c?.securityContext?.readOnlyRootFilesystem, true);
      assert.deepEqual(c?.securityContext?.capabilities?.drop, ["ALL"]);
    }

    await helm("upgrade", release, chartDir, "--namespace", namespace, "--set", "replicaCount=3", "--wait", "--timeout", "4m");
    await waitFor(async () => (await client.list(Pods, { namespace })).items.filter((p) => p.status?.phase === "Running").length === 3 || undefined,
      { timeoutMs: 60_000, description: "3 operator pods running after the upgrade" });

    await helm("uninstall", release, "--namespace", namespace, "--wait", "--timeout", "4m");
    for (const obj of objects) {
      await assert.rejects(client.get(manifestResourceType(obj), { namespace: obj.metadata?.namespace, name: obj.metadata!.name! }), isNotFound,
        `${obj.kind} ${obj.metadata!.name} is gone after helm uninstall`);
    }
    await waitFor(async () => (await client.list(Pods, { namespace })).items.length === 0 || undefined, { timeoutMs: 120_000, description: "the operator pods to go" });
    for (const def of allDefinitions) {
      const name = def.crd().metadata!.name!;
      assert.ok(await client.get(CustomResourceDefinitions, { name }), `CRD ${name} stays (Helm never deletes CRDs)`);
    }
  } finally {
    await helm("uninstall", release, "--namespace", namespace).catch(() => {});
    await client.delete(Namespaces, { name: namespace }).catch(() => {});
  }
});
