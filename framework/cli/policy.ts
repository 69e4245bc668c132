import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import YAML from "yaml";
import fastJsonPatch from "fast-json-patch";
import {
  evaluateMutatingPolicy, evaluateValidatingPolicy, type AdmissionRequestInput, type MutatingAdmissionPolicy, type MutatingAdmissionPolicyBinding,
  type ValidatingAdmissionPolicy, type ValidatingAdmissionPolicyBinding,
} from "../admission/index.ts";
import { guessResourceName, type KubeObject } from "../meta/index.ts";
import { admissionPolicyTypeProblems } from "../testing/policy-typecheck.ts";

const usage = `usage: kubeloop policy test <policies.yaml> <objects.yaml> [options]

  Evaluates the admission policies (and their bindings) of the first file against each object of
  the second, offline, as kube-apiserver v1.36 would admit them: MutatingAdmissionPolicies first
  (each change printed as a JSON Patch), then ValidatingAdmissionPolicies on the mutated object,
  each verdict with the API server's message. Exit code: 0 every object admitted, 1 some object denied,
  3 none denied but some verdict could not be given exactly (the reason is printed), 4 the type
  checker warned (--typecheck; the verdicts are printed too), 2 usage.

options:
  --operation OP         CREATE (default) or UPDATE (the object is then also the old object)
  --namespace-labels L   labels of the objects' namespace for namespaceSelector, k=v,k2=v2
                         (kubernetes.io/metadata.name=<namespace> is always there, as the API
                         server sets it)
  --user NAME            request.userInfo.username (default kubernetes-admin)
  --groups G             request.userInfo.groups, comma-separated (default
                         system:masters,system:authenticated)
  --params FILE          the objects of the policies' paramKind (bindings with paramRef pick
                         theirs by name or selector); without it such policies cannot be told
  --params-cluster-scoped  the paramKind is cluster-scoped (default: namespaced)
  --typecheck            first type-check the ValidatingAdmissionPolicies against the kinds they
                         match with kube-controller-manager v1.36.3's own checker, as it fills
                         status.typeChecking (the kubeloop/testing binary, built with Go on first
                         use); prints each expression warning, which the in-process evaluation
                         may not see
  --crds FILE            CustomResourceDefinitions of the custom kinds the policies match, for
                         --typecheck (a custom kind without its CRD is not checked, as on a
                         cluster without it)
`;

async function readObjects(path: string): Promise<KubeObject[]> {
  const docs = YAML.parseAllDocuments(await readFile(path, "utf8"));
  const objects: KubeObject[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]!.message}`);
    const obj = doc.toJS() as KubeObject | null;
    if (obj === null) continue;
    if (obj.kind?.endsWith("List") && Array.isArray((obj as { items?: unknown }).items)) objects.push(...(obj as { items: KubeObject[] }).items);
    else objects.push(obj);
  }
  return objects;
}

function parseLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of (text ?? "").split(",").filter(Boolean)) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new Error(`--namespace-labels: ${JSON.stringify(pair)} is not key=value`);
    labels[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return labels;
}

/** `policy test`; resolves to the exit code (see the usage). */
export async function runPolicyCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== "test") {
    process.stderr.write(usage);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest, allowPositionals: true, strict: true,
      options: {
        operation: { type: "string", default: "CREATE" }, "namespace-labels": { type: "string" }, user: { type: "string" }, groups: { type: "string" },
        params: { type: "string" }, "params-cluster-scoped": { type: "boolean", default: false },
        typecheck: { type: "boolean", default: false }, crds: { type: "string" },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const operation = values.operation;
  if (positionals.length !== 2 || (operation !== "CREATE" && operation !== "UPDATE")) {
    process.stderr.write(usage);
    return 2;
  }
  const policyObjects = await readObjects(positionals[0]!);
  const policies = policyObjects.filter((o): o is ValidatingAdmissionPolicy => o.kind === "ValidatingAdmissionPolicy")
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const bindings = policyObjects.filter((o): o is ValidatingAdmissionPolicyBinding => o.kind === "ValidatingAdmissionPolicyBinding");
  const mutating = policyObjects.filter((o): o is MutatingAdmissionPolicy => o.kind === "MutatingAdmissionPolicy")
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const mutatingBindings = policyObjects.filter((o): o is MutatingAdmissionPolicyBinding => o.kind === "MutatingAdmissionPolicyBinding");
  const evaluated = new Set(["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"]);
  for (const o of policyObjects) {
    if (!evaluated.has(o.kind ?? "")) {
      process.stdout.write(`note: ${o.kind} ${o.metadata?.name ?? "?"} is not evaluated (only admission policies and their bindings are)\n`);
    }
  }
  const namespaceLabels = parseLabels(values["namespace-labels"]);
  const params = values.params ? { namespaced: !values["params-cluster-scoped"], objects: await readObjects(values.params) } : undefined;
  const options = params ? { params } : {};
  const userInfo = { username: values.user ?? "kubernetes-admin", groups: (values.groups ?? "system:masters,system:authenticated").split(",").filter(Boolean) };

  let typeWarnings = 0;
  if (values.typecheck) {
    const crds = values.crds ? await readObjects(values.crds) : [];
    for (const problem of await admissionPolicyTypeProblems(policies, crds)) {
      typeWarnings++;
      process.stdout.write(`type check: ${problem}\n`);
    }
  }

  let denied = 0;
  let refused = 0;
  for (const obj of await readObjects(positionals[1]!)) {
    const [group, version] = obj.apiVersion?.includes("/") ? obj.apiVersion.split("/") as [string, string] : ["", obj.apiVersion ?? "v1"];
    const namespace = obj.metadata?.namespace ?? "";
    const request: AdmissionRequestInput = {
      operation, resource: { group, version, resource: guessResourceName(obj.kind ?? "") }, kind: { group, version, kind: obj.kind ?? "" },
      namespace, name: obj.metadata?.name ?? "", object: obj, oldObject: operation === "UPDATE" ? obj : null, userInfo,
      ...(namespace ? { namespaceObject: { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace, labels: { ...namespaceLabels, "kubernetes.io/metadata.name": namespace } } } } : {}),
    };
    const what = `${obj.kind} ${namespace ? `${namespace}/` : ""}${obj.metadata?.name ?? "?"}`;
    const lines: string[] = [];
    let first: string | undefined;
    // The API server reports a binding's configuration error (params not found) only when no validation denied.
    let configurationError: string | undefined;
    let unknown = false;
    for (const policy of mutating) {
      for (const binding of mutatingBindings.filter((b) => b.spec.policyName === policy.metadata.name)) {
        const verdict = evaluateMutatingPolicy(policy, binding, request, options);
        if (verdict.kind === "refused") {
          unknown = true;
          lines.push(`  cannot tell what ${policy.metadata.name} / ${binding.metadata.name} changes: ${verdict.reason}`);
        } else if (verdict.kind === "denied") {
          first ??= `denied (403 Forbidden): ${verdict.message}`;
        } else if (verdict.kind === "mutated" && verdict.changed && verdict.object) {
          lines.push(`  mutated by ${policy.metadata.name} / ${binding.metadata.name}: ${JSON.stringify(fastJsonPatch.compare(request.object!, verdict.object))}`);
          request.object = verdict.object;
        }
      }
    }
    for (const policy of policies) {
      for (const binding of bindings.filter((b) => b.spec.policyName === policy.metadata.name)) {
        const verdict = evaluateValidatingPolicy(policy, binding, request, options);
        if (verdict.kind === "refused") {
          unknown = true;
          lines.push(`  cannot tell for ${policy.metadata.name} / ${binding.metadata.name}: ${verdict.reason}`);
        } else if (verdict.kind === "evaluated") {
          const denial = verdict.denied ? `denied (${verdict.denied.code} ${verdict.denied.reason}): ${verdict.denied.message}` : undefined;
          if (verdict.denied?.configurationError) configurationError ??= denial;
          else if (denial) first ??= denial;
          for (const w of verdict.warnings) lines.push(`  warning: ${w}`);
          for (const a of verdict.audit) lines.push(`  audit (${policy.metadata.name} / ${binding.metadata.name}): ${a}`);
        }
      }
    }
    first ??= configurationError;
    if (first !== undefined) denied++;
    else if (unknown) refused++;
    process.stdout.write(`${what}: ${first ?? (unknown ? "admitted unless a policy that cannot be evaluated here denies it" : "admitted")}\n${lines.map((l) => `${l}\n`).join("")}`);
  }
  return typeWarnings > 0 ? 4 : denied > 0 ? 1 : refused > 0 ? 3 : 0;
}
