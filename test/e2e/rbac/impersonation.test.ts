/**
 * The chart's RBAC rules, proven on the real API server. The operator process runs as the
 * chart starts it, but its client impersonates the chart's ServiceAccount (`as:` in its
 * kubeconfig: `Impersonate-User: system:serviceaccount:<ns>:<sa>`), bound to the ClusterRole and
 * leader-election Role that `helm template` renders from the generated rules. Every operator
 * reconciles a sample (a ReplicaSet scaled up and down, a Service's Endpoints and slices, a
 * gang bound by the kubeloop scheduler, a GPU policy's status, a GPU pod sent to the kubeloop
 * scheduler by the gpu-placement webhook, whose certificates the process keeps in a Secret and
 * whose CA it injects into the chart's configuration), so a missing rule fails here
 * (the operator's log names the refused verb and resource). Then the API server's audit log says
 * what the identity really did: every request must be allowed by the rendered rules, and every
 * granted verb that was never used is reported; one not in `NOT_EXERCISED` (each with its
 * reason) fails the test as an extra grant. The audit part needs the local control plane's
 * audit log (`auditLogOf`); on a cluster kubeloop did not start it is reported as skipped.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { CoreV1Api } from "@kubernetes/client-node";
import { isNotFound, type KubeClient } from "../../../framework/client/index.ts";
import { installCustomResourceDefinitions } from "../../../framework/api/index.ts";
import {
  Namespaces, Pods, Services, type KubeObject, type Pod,
} from "../../../framework/meta/index.ts";
import { rulesAllow, type PolicyRule } from "../../../framework/rbac/index.ts";
import { AUDITED_NAMESPACE, auditLogOf, pickFreePorts, waitFor } from "../../../framework/testing/index.ts";
import { DEFAULT_SCHEDULER_NAME } from "../../../framework/scheduling/index.ts";
import { KubeloopEndpoints } from "../../../operators/endpoints/index.ts";
import { POD_GROUP_LABEL, PodGroups } from "../../../operators/gang-scheduling/index.ts";
import { GPUPlacementPolicies, type GPUPlacementPolicy } from "../../../operators/gpu-placement/index.ts";
import { allDefinitions, operators } from "../../../operators/registry.ts";
import { ReplicaSets } from "../../../operators/replicaset/index.ts";
import { operatorPolicyRules } from "../../../operators/rbac.ts";
import { Manager } from "../../../framework/manager/index.ts";
import { startOperator } from "../support/operator-process.ts";
import { useTestNamespace } from "../support/test-namespace.ts";
import { manifestResourceType } from "../support/manifest.ts";
import { renderChartRbac, serviceAccountUser } from "../support/chart-rbac.ts";
import { MutatingWebhookConfigurations } from "../../../framework/admission/index.ts";
import { webhookPolicyRules } from "../../../operators/webhooks.ts";
import { localWebhookConfiguration } from "../support/local-webhooks.ts";


const env = useTestNamespace("kubeloop-rbac");
const RELEASE = "rbac-e2e";
const TIMEOUT_MS = 90_000;

/**
 * Rules the run does not exercise, and why. A granted verb that is neither used nor listed here
 * fails the test: it is an extra grant (or this run should exercise it).
 */
const NOT_EXERCISED: Record<string, string> = {
  "apps.kubeloop.dev replicasets/finalizers update": "checked only by the OwnerReferencesPermissionEnforcement admission plugin, off by default",
  "discovery.kubeloop.dev endpoints delete": "only for orphans and Services deleted while the operator was away",
  "discovery.kubeloop.dev endpointslices delete": "only when a port set or address family goes away",
  "scheduling.k8s.io podgroups/status patch": "written only for native PodGroups, which this run does not create",
  "events.k8s.io events patch": "an Event repeated within the correlator's window",
  " secrets update": "the webhook certificates' Secret, written again only to renew a certificate or rotate the CA",
};

/** The operators this test reconciles a sample of. */
const SAMPLED_OPERATORS = ["replicaset", "endpoints", "gang-scheduling", "gpu-placement"];

/** `group resource verb` of each verb the rules grant. */
function grantKeys(rules: readonly PolicyRule[]): string[] {
  return rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g} ${res} ${v}`))));
}

async function deleteIfPresent(client: KubeClient, obj: KubeObject): Promise<void> {
  await client.delete(manifestResourceType(obj), { namespace: obj.metadata?.namespace, name: obj.metadata!.name! }).catch((e: unknown) => { if (!isNotFound(e)) throw e; });
}

/** The audited namespace, fresh: a leftover from an earlier run on the same cluster is deleted first. */
async function freshAuditedNamespace(client: KubeClient): Promise<void> {
  await client.delete(Namespaces, { name: AUDITED_NAMESPACE }).catch((e: unknown) => { if (!isNotFound(e)) throw e; });
  await waitFor(async () => client.get(Namespaces, { name: AUDITED_NAMESPACE }).then(() => false, (e: unknown) => isNotFound(e)), {
    timeoutMs: TIMEOUT_MS, description: `namespace ${AUDITED_NAMESPACE} from an earlier run to be gone`,
  });
  await client.create(Namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: AUDITED_NAMESPACE } });
}

/** One request of the audit log, as RBAC sees it. */
interface AuditedRequest { group: string; resource: string; verb: string; code: number; message: string; uri: string; name?: string }

function auditedRequests(path: string, username: string): AuditedRequest[] {
  const out: AuditedRequest[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line) continue;
    const e = JSON.parse(line) as {
      impersonatedUser?: { username?: string }; objectRef?: { apiGroup?: string; resource?: string; subresource?: string; name?: string };
      verb: string; responseStatus?: { code?: number; message?: string }; requestURI: string; stage: string;
    };
    if (e.stage !== "ResponseComplete" && e.stage !== "ResponseStarted") continue;
    if (e.impersonatedUser?.username !== username || !e.objectRef?.resource) continue;
    const resource = e.objectRef.subresource ? `${e.objectRef.resource}/${e.objectRef.subresource}` : e.objectRef.resource;
    out.push({
      group: e.objectRef.apiGroup ?? "", resource, verb: e.verb, code: e.responseStatus?.code ?? 0, message: e.responseStatus?.message ?? "", uri: e.requestURI,
      ...(e.objectRef.name ? { name: e.objectRef.name } : {}),
    });
  }
  return out;
}

test("the operators run as the chart's ServiceAccount (impersonated) with the generated rules: nothing refused, no grant unused", { timeout: 600_000 }, async (t) => {
  const { client, namespace, kubeconfigPath } = env;
  await installCustomResourceDefinitions(client, allDefinitions.map((d) => d.crd()), { fieldManager: "kubeloop-rbac-e2e", timeoutMs: TIMEOUT_MS });
  await freshAuditedNamespace(client);
  const rbacObjects = await renderChartRbac({ release: RELEASE, namespace: AUDITED_NAMESPACE, operators: Object.keys(operators) });
  const serviceAccount = rbacObjects.find((o) => o.kind === "ServiceAccount")!.metadata!.name!;
  const username = serviceAccountUser(rbacObjects);
  const tmp = mkdtempSync(join(tmpdir(), "kubeloop-rbac-"));
  let operator: ReturnType<typeof startOperator> | undefined;
  try {
    for (const obj of rbacObjects) {
      await deleteIfPresent(client, obj);
      await client.create(manifestResourceType(obj), obj);
    }
    const rules = rbacObjects.filter((o) => o.kind === "ClusterRole" || o.kind === "Role").flatMap((o) => (o as KubeObject & { rules: PolicyRule[] }).rules);
    assert.deepEqual(
      rbacObjects.find((o) => o.kind === "ClusterRole")!.metadata!.name, `${RELEASE}-kubeloop`,
      "the ClusterRole the chart renders",
    );

    // The identity that impersonates: a service account of the audited namespace, allowed to
    // impersonate exactly the chart's one.
    const impersonator = { name: "impersonator", namespace: AUDITED_NAMESPACE };
    for (const obj of [
      { apiVersion: "v1", kind: "ServiceAccount", metadata: impersonator },
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: impersonator,
        rules: [{ apiGroups: [""], resources: ["serviceaccounts"], resourceNames: [serviceAccount], verbs: ["impersonate"] }] },
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: impersonator,
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "impersonator" }, subjects: [{ kind: "ServiceAccount", ...impersonator }] },
    ] as KubeObject[]) await client.create(manifestResourceType(obj), obj);
    const token = await waitFor(async () => (await env.kubeConfig.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
      name: "impersonator", namespace: AUDITED_NAMESPACE, body: { spec: { audiences: [], expirationSeconds: 3600 } },
    }).catch(() => undefined))?.status?.token, { timeoutMs: TIMEOUT_MS, description: "a token for the impersonator" });
    const admin = YAML.parse(readFileSync(kubeconfigPath, "utf8")) as { clusters: Array<{ cluster: Record<string, unknown> }> };
    const operatorKubeconfig = join(tmp, "kubeconfig");
    writeFileSync(operatorKubeconfig, YAML.stringify({
      apiVersion: "v1", kind: "Config", clusters: [{ name: "c", cluster: admin.clusters[0]!.cluster }],
      users: [{ name: "operator", user: { token, as: username } }],
      contexts: [{ name: "c", context: { cluster: "c", user: "operator" } }], "current-context": "c",
    }), { mode: 0o600 });

    // The chart's webhook configuration, as Helm creates it (no caBundle), but on 127.0.0.1 (the
    // local control plane reaches no Service) and only for this test's namespace.
    const webhookPort = (await pickFreePorts(1))[0]!;
    await deleteIfPresent(client, { apiVersion: "admissionregistration.k8s.io/v1", kind: "MutatingWebhookConfiguration", metadata: { name: `${RELEASE}-kubeloop` } });
    await client.create(MutatingWebhookConfigurations, localWebhookConfiguration("gpu-placement", `${RELEASE}-kubeloop`, webhookPort, namespace));

    operator = startOperator({
      kubeconfigPath: operatorKubeconfig, namespace: AUDITED_NAMESPACE, leaseId: "kubeloop-rbac-e2e", identity: "rbac-e2e-0",
      operators: Object.keys(operators).join(","),
      // The chart's webhook flags, without --webhook-service (URL mode).
      extraArgs: [`--webhook-bind-address=127.0.0.1:${webhookPort}`, `--webhook-configuration-name=${RELEASE}-kubeloop`, `--webhook-cert-secret=${RELEASE}-kubeloop-webhook-certificates`],
      env: { POD_NAMESPACE: AUDITED_NAMESPACE },
    });
    // A refused request fails the test at once, naming it (the controller logs the verb and resource).
    const forbiddenLines = () => operator!.stderr.split("\n").filter((l) => /forbidden/i.test(l)).slice(0, 5).join("\n");
    const refused = new AbortController();
    operator.child.stderr!.on("data", () => {
      if (!refused.signal.aborted && /forbidden/i.test(operator!.stderr)) refused.abort(new Error(`the operator was refused:\n${forbiddenLines()}`));
    });
    const signal = refused.signal;

    // ReplicaSet: pods created, status written; scaled down: a pod deleted.
    const labels = { app: "rbac-web" };
    await client.create(ReplicaSets, {
      apiVersion: ReplicaSets.apiVersion, kind: ReplicaSets.kind, metadata: { name: "web", namespace },
      spec: { replicas: 3, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }] } } },
    } as never);
    await client.create(Services, { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] } });
    await waitFor(async () => (await client.get(ReplicaSets, { namespace, name: "web" })).status?.readyReplicas === 3, { timeoutMs: TIMEOUT_MS, signal, description: "ReplicaSet web: 3 ready replicas (pods created, status written)" });
    await waitFor(async () => (await client.get(KubeloopEndpoints, { namespace, name: "web" }).catch(() => undefined))?.spec?.subsets?.[0]?.addresses?.length === 3, { timeoutMs: TIMEOUT_MS, signal, description: "our Endpoints web: 3 addresses" });
    await client.patch(ReplicaSets, { namespace, name: "web" }, { type: "merge", body: { spec: { replicas: 1 } } });
    const live = async (app: string) => (await client.list(Pods, { namespace, labelSelector: `app=${app}` })).items.filter((p) => !p.metadata?.deletionTimestamp);
    const [kept] = await waitFor(async () => { const pods = await live("rbac-web"); return pods.length === 1 ? pods : undefined; }, { timeoutMs: TIMEOUT_MS, signal, description: "ReplicaSet web scaled down to 1 pod" });
    // A pod relabelled out of the selector is released (its owner reference patched away) and
    // replaced; relabelled back, it is adopted (after a fresh read of the ReplicaSet) and the
    // surplus pod deleted.
    const relabel = (app: string) => client.patch(Pods, { namespace, name: kept!.metadata!.name! }, { type: "merge", body: { metadata: { labels: { app } } } });
    await relabel("rbac-out");
    await waitFor(async () => (await client.get(Pods, { namespace, name: kept!.metadata!.name! })).metadata?.ownerReferences === undefined && (await live("rbac-web")).length === 1, { timeoutMs: TIMEOUT_MS, signal, description: "the relabelled pod released and replaced" });
    await relabel("rbac-web");
    // Right after the relabel two pods match, one without an owner. Either may then be the
    // surplus one; the ReplicaSet deletes only pods it owns, so a deleted `kept` was adopted first.
    await waitFor(async () => {
      const pods = await live("rbac-web");
      return pods.length === 1 && pods[0]!.metadata?.ownerReferences?.[0]?.name === "web";
    }, { timeoutMs: TIMEOUT_MS, signal, description: "the pod adopted again and the surplus one deleted" });

    // Gang: two members bound by the kubeloop scheduler, the PodGroup's status written.
    await client.create(PodGroups, { apiVersion: PodGroups.apiVersion, kind: PodGroups.kind, metadata: { name: "gang", namespace }, spec: { minMember: 2 } } as never);
    for (const i of [0, 1]) {
      await client.create(Pods, { apiVersion: "v1", kind: "Pod", metadata: { name: `gang-${i}`, namespace, labels: { [POD_GROUP_LABEL]: "gang" } },
        spec: { schedulerName: DEFAULT_SCHEDULER_NAME, containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }] } } satisfies Pod);
    }
    await waitFor(async () => (await client.get(PodGroups, { namespace, name: "gang" })).status?.phase === "Running", { timeoutMs: TIMEOUT_MS, signal, description: "PodGroup gang Running (members bound)" });

    // GPU policy: its status written.
    const policy = YAML.parse(readFileSync(new URL("../../../operators/gpu-placement/samples/train-binpack.yaml", import.meta.url), "utf8")) as GPUPlacementPolicy;
    policy.metadata!.name = "rbac-e2e";
    await client.create(GPUPlacementPolicies, policy);
    await waitFor(async () => (await client.get(GPUPlacementPolicies, { name: "rbac-e2e" })).status?.eligibleNodes !== undefined, { timeoutMs: TIMEOUT_MS, signal, description: "GPUPlacementPolicy rbac-e2e status written" });

    // The scheduler-name webhook: its certificates in the Secret, its CA injected, and a GPU pod
    // the policy selects (app=train) sent to kubeloop-scheduler.
    const gpuPod: Pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "gpu-train", namespace, labels: { app: "train" } },
      spec: { containers: [{ name: "c", image: "registry.k8s.io/pause:3.10", resources: { limits: { "nvidia.com/gpu": "1" } } }] } };
    const routed = await waitFor(async () => {
      const dry = await client.create(Pods, gpuPod, { dryRun: true });
      return dry.spec?.schedulerName === DEFAULT_SCHEDULER_NAME ? dry : undefined;
    }, { timeoutMs: TIMEOUT_MS, signal, description: "a GPU pod of app=train sent to kubeloop-scheduler by the operator's webhook" });
    assert.equal(routed.metadata?.annotations?.["scheduling.kubeloop.dev/gpu-placement-policy"], "rbac-e2e");

    assert.doesNotMatch(operator.stderr, /forbidden/i, `the operator was refused:\n${forbiddenLines()}`);
    operator.child.kill("SIGTERM");
    assert.equal(await operator.exited, 0, `the operator exits 0 on SIGTERM; its log ends:\n${operator.stderr.slice(-2000)}`);
    operator = undefined;

    const auditLog = auditLogOf(env.plane);
    if (!auditLog || !existsSync(auditLog)) {
      t.skip("no audit log to compare with: the cluster is not a local control plane started by kubeloop");
      return;
    }
    const used = auditedRequests(auditLog, username);
    assert.ok(used.length > 0, `the audit log ${auditLog} has requests of ${username}`);
    // Refused by RBAC (the authorizer's "User ... cannot <verb> resource ..."), not a 403 of admission
    // (the operator reconciles every namespace, so an earlier test's namespace still terminating
    // refuses it pod creates: "... because it is being terminated").
    const denied = used.filter((r) => r.code === 403 && /cannot [a-z]+ resource/.test(r.message));
    assert.deepEqual(denied.map((r) => `${r.verb} ${r.uri}: ${r.message}`), [], "requests RBAC refused");
    const refusedOtherwise = used.filter((r) => r.code === 403 && !denied.includes(r));
    if (refusedOtherwise.length > 0) t.diagnostic(`refused with 403 but not by RBAC: ${refusedOtherwise.map((r) => `${r.verb} ${r.uri}: ${r.message}`).join("; ")}`);
    const requestKey = (r: AuditedRequest) => `${r.group} ${r.resource} ${r.verb}`;
    const notGranted = [...new Set(used.filter((r) => !rulesAllow(rules, r)).map(requestKey))];
    assert.deepEqual(notGranted, [], "requests the rules do not allow (an impersonated request is authorized as the service account, so this means a rule outside the chart allowed it)");
    const usedKeys = new Set(used.map(requestKey));
    const unused = grantKeys(rules).filter((k) => !usedKeys.has(k));
    t.diagnostic(`requests by ${username}: ${used.length}; granted verbs used: ${[...usedKeys].sort().join(", ")}`);
    t.diagnostic(`granted and not used in this run: ${[...new Set(unused)].sort().map((k) => `${k}${NOT_EXERCISED[k] ? ` (${NOT_EXERCISED[k]})` : ""}`).join("; ")}`);
    // Only the operators this test gives samples to must use every grant; a new operator's
    // rules (from `kubeloop create api`) are checked for refusals above, and listed here.
    const webhookRules = webhookPolicyRules();
    const sampled = new Set(grantKeys([...SAMPLED_OPERATORS.flatMap((name) => operatorPolicyRules(name)), ...Manager.leaderElectionRules(), ...webhookRules.namespaced, ...webhookRules.cluster]));
    assert.deepEqual([...new Set(unused.filter((k) => sampled.has(k) && !NOT_EXERCISED[k]))].sort(), [], "granted verbs this run never used and no reason lists: extra grants");
  } finally {
    if (operator) {
      operator.child.kill("SIGKILL");
      await operator.exited;
    }
    await client.delete(GPUPlacementPolicies, { name: "rbac-e2e" }).catch(() => undefined);
    await client.delete(MutatingWebhookConfigurations, { name: `${RELEASE}-kubeloop` }).catch(() => undefined);
    for (const obj of rbacObjects.filter((o) => o.kind === "ClusterRole" || o.kind === "ClusterRoleBinding")) await deleteIfPresent(client, obj);
    await client.delete(Namespaces, { name: AUDITED_NAMESPACE }).catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }
});
