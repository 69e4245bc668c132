/**
 * Differential: ValidatingAdmissionPolicies evaluated in-process (`evaluateValidatingPolicy`)
 * against kube-apiserver v1.36.3 enforcing the same policies on the same requests. Three
 * policies on ConfigMaps (matchConditions, variables, messageExpression with its fallbacks,
 * reason Forbidden, a namespaceSelector, an objectSelector, Deny / Warn / Audit bindings) are
 * installed; each ConfigMap of a corpus is sent to the server as a dry-run create, and the
 * server's verdict (admitted, or the Status code and message) and its warnings must equal the
 * in-process ones exactly. Needs a cluster (`KUBECONFIG`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { request as httpsRequest } from "node:https";
import {
  evaluateValidatingPolicy, installAdmissionPolicies, kubernetesCelCheck, validatingPolicy, ValidatingAdmissionPolicies,
  ValidatingAdmissionPolicyBindings, type AdmissionRequestInput, type ValidatingPolicySet,
} from "../../../framework/admission/index.ts";
import { Namespaces, type ConfigMap, type KubeObject } from "../../../framework/meta/index.ts";
import { useTestNamespace } from "../support/test-namespace.ts";
import { compareUntilAgreed, selfSubject, type UserInfo } from "../support/self-subject.ts";

const env = useTestNamespace("kubeloop-vap-eval", {
  cleanup: async ({ client }) => {
    for (const set of policies) {
      await client.delete(ValidatingAdmissionPolicyBindings, { name: set.bindings[0]!.metadata.name }).catch(() => {});
      await client.delete(ValidatingAdmissionPolicies, { name: set.policy.metadata.name }).catch(() => {});
    }
  },
});

const configMaps = { apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"], operations: ["CREATE" as const, "UPDATE" as const] };
const suffix = Math.random().toString(16).slice(2, 8);
const selected = { matchLabels: { [`vap-eval-${suffix}`]: "on" } };

const policies: ValidatingPolicySet[] = [
  validatingPolicy(`vap-eval-keys-${suffix}`)
    .forResources(configMaps)
    .inNamespaces(selected)
    .when("not-skipped", "!has(object.metadata.labels) || !('skip' in object.metadata.labels)")
    .variable("keys", "has(object.data) ? object.data.map(k, k) : []")
    .validate({ expression: "variables.keys.all(k, k.matches('^[a-z]+$'))", message: "  data keys must be lowercase letters  " })
    .validate({
      expression: "size(variables.keys) <= 3",
      messageExpression: "'too many keys: ' + string(size(variables.keys)) + ' > 3'",
      reason: "Forbidden",
    })
    .validate({ expression: "!has(object.data) || !('bad' in object.data) || object.data['bad'] != 'multi'", messageExpression: "'line one\\nline two'", message: "bad=multi is not allowed" })
    .validate({ expression: "object.metadata.name != 'no-message'" })
    .bind({ validationActions: ["Deny"] })
    .build({ cel: kubernetesCelCheck }),
  validatingPolicy(`vap-eval-warn-${suffix}`)
    .forResources(configMaps)
    .inNamespaces(selected)
    .forObjects({ matchLabels: { warn: "yes" } })
    .validate({ expression: "object.metadata.name.startsWith('cm-')", messageExpression: "'name ' + object.metadata.name + ' should start with cm-'" })
    .bind({ validationActions: ["Warn", "Audit"] })
    .build({ cel: kubernetesCelCheck }),
  validatingPolicy(`vap-eval-user-${suffix}`)
    .forResources(configMaps)
    .inNamespaces(selected)
    .validate({ expression: "request.operation != 'CREATE' || !has(object.data) || !('owner' in object.data) || object.data['owner'] == request.userInfo.username", message: "owner must be the requester" })
    .bind({ validationActions: ["Deny"] })
    .build({ cel: kubernetesCelCheck }),
];

function configMap(name: string, data?: Record<string, string>, labels?: Record<string, string>): ConfigMap {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: env.namespace, ...(labels ? { labels } : {}) }, ...(data ? { data } : {}) };
}

/** The corpus: each request once to the server and once in-process. */
const corpus = (user: UserInfo): ConfigMap[] => [
  configMap("plain"),
  configMap("good", { a: "1", b: "2" }),
  configMap("upper", { Key: "1" }),
  configMap("many", { a: "1", b: "2", c: "3", d: "4" }),
  configMap("upper-and-many", { A: "1", b: "2", c: "3", d: "4" }),
  configMap("skipped", { Key: "1" }, { skip: "true" }),
  configMap("multi", { bad: "multi" }),
  configMap("no-message"),
  configMap("warned", { a: "1" }, { warn: "yes" }),
  configMap("cm-warned", { a: "1" }, { warn: "yes" }),
  configMap("warned-and-denied", { Key: "1" }, { warn: "yes" }),
  configMap("owned", { owner: "someone-else" }),
  configMap("owned-by-me", { owner: user.username }),
];

/** The server's answer to a dry-run create, through HTTPS with the admin token so that the Warning headers are seen too. */
async function serverAnswer(obj: KubeObject): Promise<{ code: number; message?: string; reason?: string; warnings: string[] }> {
  const cluster = env.kubeConfig.getCurrentCluster()!;
  const user = env.kubeConfig.getCurrentUser()!;
  const url = new URL(`${cluster.server}/api/v1/namespaces/${env.namespace}/configmaps?dryRun=All`);
  const body = JSON.stringify(obj);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, {
      method: "POST", ca: cluster.caData ? Buffer.from(cluster.caData, "base64") : undefined, rejectUnauthorized: !cluster.skipTLSVerify,
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${user.token}`, "Content-Length": Buffer.byteLength(body) },
    }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => {
        const raw = res.headers["warning"];
        const warnings = (Array.isArray(raw) ? raw : raw ? [raw] : []).map((w) => /^299 - "(.*)"$/.exec(w)?.[1]?.replace(/\\"/g, "\"") ?? w);
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve({ code: status, warnings });
        const s = JSON.parse(text) as { message?: string; reason?: string };
        resolve({ code: status, ...(s.message !== undefined ? { message: s.message } : {}), ...(s.reason !== undefined ? { reason: s.reason } : {}), warnings });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** The in-process answer: every policy through its binding, the first denial wins (the server's order: policies by name). */
function inProcessAnswer(obj: ConfigMap, namespaceLabels: Record<string, string>, userInfo: UserInfo): { code: number; message?: string; reason?: string; warnings: string[] } {
  const request: AdmissionRequestInput = {
    userInfo,
    operation: "CREATE", resource: { group: "", version: "v1", resource: "configmaps" }, kind: { group: "", version: "v1", kind: "ConfigMap" },
    namespace: env.namespace, name: obj.metadata!.name!, object: obj, dryRun: true,
    namespaceObject: { apiVersion: "v1", kind: "Namespace", metadata: { name: env.namespace, labels: namespaceLabels } },
  };
  const warnings: string[] = [];
  let denied: { message: string; reason: string; code: number } | undefined;
  for (const set of [...policies].sort((a, b) => a.policy.metadata.name.localeCompare(b.policy.metadata.name))) {
    const v = evaluateValidatingPolicy(set.policy, set.bindings[0]!, request);
    assert.notEqual(v.kind, "refused", `${obj.metadata!.name} / ${set.policy.metadata.name}: ${v.kind === "refused" ? v.reason : ""}`);
    if (v.kind !== "evaluated") continue;
    warnings.push(...v.warnings);
    if (v.denied && !denied) denied = v.denied;
  }
  return denied ? { code: denied.code, message: denied.message, reason: denied.reason, warnings } : { code: 201, warnings };
}

test("in-process ValidatingAdmissionPolicy verdicts, messages, codes and warnings equal kube-apiserver's on a corpus of ConfigMaps", { timeout: 180_000 }, async () => {
  const { client, namespace } = env;
  const user = await selfSubject(client);
  const ns = await client.get(Namespaces, { name: namespace });
  await client.patch(Namespaces, { name: namespace }, { type: "merge", body: { metadata: { labels: selected.matchLabels } } });
  const namespaceLabels = { ...ns.metadata?.labels, ...selected.matchLabels };
  await installAdmissionPolicies(client, policies, { fieldManager: "kubeloop-vap-eval" });
  // The API server enforces a new policy once its own informer has it, each policy on its own
  // schedule: compare the whole corpus until both sides agree (a difference that persists for
  // 60 s fails).
  const compareCorpus = async () => {
    const differences: string[] = [];
    let denied = 0;
    let warned = 0;
    for (const obj of corpus(user)) {
      const server = await serverAnswer(obj);
      const local = inProcessAnswer(obj, namespaceLabels, user);
      if (server.code >= 400) denied++;
      if (server.warnings.length > 0) warned++;
      if (JSON.stringify(server) !== JSON.stringify(local)) {
        differences.push(`${obj.metadata!.name}:\n  server     ${JSON.stringify(server)}\n  in-process ${JSON.stringify(local)}`);
      }
    }
    return { differences, denied, warned };
  };
  const { differences, denied, warned } = await compareUntilAgreed(compareCorpus, "the API server to enforce every new policy");
  assert.deepEqual(differences, [], `in-process answers differ from the API server's:\n${differences.join("\n")}`);
  assert.ok(denied >= 6 && warned >= 2, `the corpus exercises denials (${denied}) and warnings (${warned})`);

  // Outside the selected namespaces nothing applies, on both sides.
  const other = inProcessAnswer(configMap("upper", { Key: "1" }), { "kubernetes.io/metadata.name": namespace }, user);
  assert.deepEqual(other, { code: 201, warnings: [] });
});
