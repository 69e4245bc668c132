/**
 * Step 8 of the demo: admission. The shipped `pod-group-scheduler` policy (operators/policies),
 * as a copy bound to the demo's namespace only (the rest of a shared cluster is untouched), is
 * installed on the API server; a pod of a PodGroup that names another scheduler is refused by the
 * API server, and `kubeloop/admission`'s in-process evaluation of the same policy gives the same
 * verdict and message; a pod naming kubeloop-scheduler is admitted by both. Then the shipped
 * `gpu-toleration` MutatingAdmissionPolicy, copied and bound the same way, adds the
 * `nvidia.com/gpu` NoSchedule toleration to a pod that requests a GPU (a dry-run create shows the
 * object the API server would store); the in-process evaluation of that policy is printed beside
 * it, with its reason when it declines to answer. Last, a CRD whose rule compares every pair of
 * items of an unbounded list is sent as a dry-run create: kube-apiserver refuses it for the rule's
 * estimated cost, and `kubeloop/cel`'s in-process estimate (`crdCostVerdict`) gives the same
 * refusal, word for word.
 */
import {
  evaluateMutatingPolicy, evaluateValidatingPolicy, installAdmissionPolicies, MutatingAdmissionPolicies, MutatingAdmissionPolicyBindings,
  ValidatingAdmissionPolicies, ValidatingAdmissionPolicyBindings, type AdmissionRequestInput, type MutatingPolicySet, type ValidatingPolicySet,
} from "../framework/admission/index.ts";
import { crdCostVerdict, type SchemaNode } from "../framework/cel/index.ts";
import { ApiError, isNotFound, type KubeClient } from "../framework/client/index.ts";
import { CustomResourceDefinitions, Pods, type Pod } from "../framework/meta/index.ts";
import { DEFAULT_SCHEDULER_NAME } from "../framework/scheduling/index.ts";
import { waitFor } from "../framework/testing/index.ts";
import { POD_GROUP_LABEL } from "./gang-scheduling/index.ts";
import { gpuTolerationPolicy, podGroupSchedulerPolicy } from "./policies/index.ts";

/** The demo's copy of `pod-group-scheduler`: named `<name>-demo`, its binding limited to `namespace`. */
export function demoPodGroupPolicy(namespace: string): ValidatingPolicySet {
  return demoCopy(podGroupSchedulerPolicy(), namespace);
}

/** The demo's copy of `gpu-toleration`: named `<name>-demo`, its binding limited to `namespace`. */
export function demoGpuTolerationPolicy(namespace: string): MutatingPolicySet {
  return demoCopy(gpuTolerationPolicy(), namespace);
}

/** A shipped policy set renamed `<name>-demo`, with one binding whose match is limited to `namespace`. */
function demoCopy<P extends { metadata: { name: string } }, B extends { metadata: { name: string }; spec: object }>(
  shipped: { policy: P; bindings: B[] }, namespace: string,
): { policy: P; bindings: B[] } {
  const name = `${shipped.policy.metadata.name}-demo`;
  const binding = shipped.bindings[0]!;
  return {
    policy: { ...shipped.policy, metadata: { ...shipped.policy.metadata, name } },
    bindings: [{
      ...binding, metadata: { ...binding.metadata, name },
      spec: { ...binding.spec, policyName: name, matchResources: { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } } } },
    }],
  };
}

function groupPod(namespace: string, name: string, schedulerName: string): Pod {
  return {
    apiVersion: "v1", kind: "Pod",
    metadata: { name, namespace, labels: { [POD_GROUP_LABEL]: "trainer" } },
    spec: { schedulerName, containers: [{ name: "main", image: "registry.k8s.io/pause:3.10" }] },
  };
}

function gpuPod(namespace: string): Pod {
  const gpu = { "nvidia.com/gpu": "1" };
  return {
    apiVersion: "v1", kind: "Pod",
    metadata: { name: "gpu-worker", namespace },
    spec: { containers: [{ name: "main", image: "registry.k8s.io/pause:3.10", resources: { requests: gpu, limits: gpu } }] },
  };
}

/** The pod's `nvidia.com/gpu` tolerations as `key:effect (operator)`; other admission plugins (DefaultTolerationSeconds) add their own, which are left out. */
const gpuTolerations = (pod: Pod | undefined): string =>
  (pod?.spec?.tolerations ?? []).filter((t) => t.key === "nvidia.com/gpu").map((t) => `${t.key}:${t.effect ?? ""} (${t.operator ?? "Equal"})`).join(", ") || "none";

/** The API server's answer to a dry-run create: undefined when admitted, else the Status message. */
async function serverVerdict(client: KubeClient, pod: Pod): Promise<string | undefined> {
  try {
    await client.create(Pods, pod, { dryRun: true });
    return undefined;
  } catch (err) {
    if (err instanceof ApiError && (err.statusCode === 403 || err.statusCode === 422)) return err.status.message ?? "";
    throw err;
  }
}

/** The admission request of a dry-run create of `pod` in `namespace`, as the API server builds it. */
function dryRunCreate(pod: Pod, namespace: string): AdmissionRequestInput {
  return {
    operation: "CREATE", resource: { group: "", version: "v1", resource: "pods" }, kind: { group: "", version: "v1", kind: "Pod" },
    namespace, name: pod.metadata!.name!, object: pod, dryRun: true,
  };
}

/** The in-process answer for the same request: undefined when admitted, else the message. @throws Error when the evaluation is refused. */
function inProcessVerdict(set: ValidatingPolicySet, pod: Pod, namespace: string): string | undefined {
  const verdict = evaluateValidatingPolicy(set.policy, set.bindings[0]!, dryRunCreate(pod, namespace));
  if (verdict.kind === "refused") throw new Error(`step 8: the in-process evaluation refused: ${verdict.reason}`);
  return verdict.kind === "evaluated" ? verdict.denied?.message : undefined;
}

/**
 * Runs step 8 (see the module comment), printing through `say`.
 * @throws Error when the API server does not enforce the policy within `timeoutMs`, or the in-process verdict differs from the server's.
 */
export async function admissionStory(client: KubeClient, namespace: string, say: (line: string) => void, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const set = demoPodGroupPolicy(namespace);
  say(`step 8: admission: install ValidatingAdmissionPolicy ${set.policy.metadata.name} (operators/policies pod-group-scheduler, bound to ${namespace}): ` +
    `a pod of a PodGroup must set schedulerName ${DEFAULT_SCHEDULER_NAME}`);
  await installAdmissionPolicies(client, [set], { fieldManager: "kubeloop-demo", signal });
  const wrong = groupPod(namespace, "trainer-wrong-scheduler", "default-scheduler");
  // The API server enforces a new policy once its own informer has it.
  const server = await waitFor(async () => serverVerdict(client, wrong), { timeoutMs, intervalMs: 250, description: "step 8: the API server to enforce the policy", signal });
  const local = inProcessVerdict(set, wrong, namespace);
  say(`step 8: a pod of PodGroup trainer with schedulerName default-scheduler (dry run):\n  kube-apiserver: ${server}\n  in-process:     ${local ?? "admitted"}`);
  if (local !== server) throw new Error("step 8: the in-process verdict differs from the API server's");
  const right = groupPod(namespace, "trainer-right-scheduler", DEFAULT_SCHEDULER_NAME);
  const [serverRight, localRight] = [await serverVerdict(client, right), inProcessVerdict(set, right, namespace)];
  if (serverRight !== undefined || localRight !== undefined) throw new Error(`step 8: a pod naming ${DEFAULT_SCHEDULER_NAME} was refused: ${serverRight ?? localRight}`);
  say(`step 8: with schedulerName ${DEFAULT_SCHEDULER_NAME}: admitted by both; same verdicts and message`);

  const mutating = demoGpuTolerationPolicy(namespace);
  say(`step 8: install MutatingAdmissionPolicy ${mutating.policy.metadata.name} (operators/policies gpu-toleration, bound to ${namespace}): ` +
    "a pod that requests nvidia.com/gpu gets the nvidia.com/gpu NoSchedule toleration, as the ExtendedResourceToleration admission plugin adds it");
  await installAdmissionPolicies(client, [mutating], { fieldManager: "kubeloop-demo", signal });
  const pod = gpuPod(namespace);
  const stored = await waitFor(async () => {
    const dryRun = await client.create(Pods, pod, { dryRun: true, signal });
    return gpuTolerations(dryRun) !== "none" ? dryRun : undefined;
  }, { timeoutMs, intervalMs: 250, description: "step 8: the API server to apply the mutating policy", signal });
  const mutation = evaluateMutatingPolicy(mutating.policy, mutating.bindings[0]!, dryRunCreate(pod, namespace));
  const inProcess = mutation.kind === "mutated" ? `nvidia.com/gpu tolerations ${gpuTolerations(mutation.object as Pod)}`
    : mutation.kind === "refused" ? `not evaluated: ${mutation.reason}` : mutation.kind;
  say(`step 8: a pod requesting nvidia.com/gpu: 1 with no toleration (dry run):\n  kube-apiserver: nvidia.com/gpu tolerations ${gpuTolerations(stored)}\n  in-process:     ${inProcess}`);
  if (mutation.kind === "mutated" && gpuTolerations(mutation.object as Pod) !== gpuTolerations(stored)) {
    throw new Error("step 8: the in-process mutation differs from the API server's");
  }
  await costLimitStory(client, say);
}

/** A CRD whose rule compares every pair of `tags`, a list without `maxItems`. */
function costlyCrd() {
  const openAPIV3Schema: SchemaNode = {
    type: "object",
    properties: {
      spec: {
        type: "object",
        properties: { tags: { type: "array", items: { type: "string", maxLength: 63 } } },
        "x-kubernetes-validations": [{ rule: "self.tags.all(a, self.tags.all(b, a == b || a != b))", message: "tags are compared pairwise" }],
      },
    },
  };
  return {
    apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name: "costlies.demo.kubeloop.dev" },
    spec: {
      group: "demo.kubeloop.dev", scope: "Namespaced", names: { kind: "Costly", plural: "costlies" },
      versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema } }],
    },
  };
}

/**
 * The estimated cost limits of CEL rules, in-process and on the API server: the costly CRD's
 * dry-run create is refused, and `crdCostVerdict` gives the same causes.
 * @throws Error when the API server accepts the CRD or the causes differ.
 */
async function costLimitStory(client: KubeClient, say: (line: string) => void): Promise<void> {
  const crd = costlyCrd();
  let server: string[] = [];
  try {
    await client.create(CustomResourceDefinitions, crd as never, { dryRun: true });
  } catch (err) {
    if (!(err instanceof ApiError) || err.statusCode !== 422) throw err;
    server = (err.status.details?.causes ?? []).map((c) => `${c.field}: ${c.message}`);
  }
  const local = crdCostVerdict(crd.spec.versions[0]!.schema.openAPIV3Schema).violations.map((v) => `spec.validation.${v.field}: Forbidden: ${v.detail}`);
  say(`step 8: a CRD whose rule compares every pair of an unbounded list (dry-run create):\n  kube-apiserver: ${server.join("\n                  ") || "accepted"}\n  in-process:     ${local.join("\n                  ") || "accepted"}`);
  if (server.length === 0) throw new Error("step 8: the API server accepted a CRD whose rule's estimated cost is over its limit");
  if ([...server].sort().join("\n") !== [...local].sort().join("\n")) throw new Error("step 8: the in-process cost verdict differs from the API server's");
}

/** Deletes what step 8 installed (on a cluster the demo did not start). */
export async function removeAdmissionStory(client: KubeClient, namespace: string): Promise<void> {
  const set = demoPodGroupPolicy(namespace);
  const ignoreGone = (err: unknown) => {
    if (!isNotFound(err)) throw err;
  };
  await client.delete(ValidatingAdmissionPolicyBindings, { name: set.bindings[0]!.metadata.name }).catch(ignoreGone);
  await client.delete(ValidatingAdmissionPolicies, { name: set.policy.metadata.name }).catch(ignoreGone);
  const mutating = demoGpuTolerationPolicy(namespace);
  await client.delete(MutatingAdmissionPolicyBindings, { name: mutating.bindings[0]!.metadata.name }).catch(ignoreGone);
  await client.delete(MutatingAdmissionPolicies, { name: mutating.policy.metadata.name }).catch(ignoreGone);
}
