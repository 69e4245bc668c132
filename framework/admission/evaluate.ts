/**
 * A ValidatingAdmissionPolicy and its binding evaluated in-process, as kube-apiserver v1.36
 * evaluates them for one request: no cluster and no Go. Mirrors
 * k8s.io/apiserver/pkg/admission/plugin/policy/validating (`validator.go` `Validate`,
 * `dispatcher.go` `Dispatch`) and the matching of `policy/matching` and `predicates/rules`:
 * - the request must match the policy's `matchConstraints` and the binding's `matchResources`
 *   (resource rules with operations, groups, versions, resources and subresources, scope,
 *   `resourceNames`, `excludeResourceRules`, `namespaceSelector`, `objectSelector` on the new or
 *   the old object); then every `matchCondition` must be true;
 * - `variables` are evaluated in order, each seeing the earlier ones as `variables.<name>`;
 * - a validation that is not true denies with, in this order, its `messageExpression`'s string
 *   (trimmed; ignored when empty, over 5000 bytes or multi-line), its `message` (trimmed), or
 *   `failed expression: <expression>`; its `reason` (default `Invalid`) sets the status code;
 * - the binding's `validationActions` turn each denial into a rejection (`ValidatingAdmissionPolicy
 *   '<policy>' with binding '<binding>' denied request: <message>`, the first one wins), a
 *   warning (`Validation failed for ValidatingAdmissionPolicy '<policy>' with binding
 *   '<binding>': <message>`) or an audit record.
 *
 * What this cannot answer exactly is refused with the reason rather than answered differently:
 * policies with `paramKind`, `matchPolicy: Equivalent` requests that name another version of
 * the rule's resource, any CEL evaluation error (the API server's error text and the
 * failurePolicy path are not reproduced), an expression `kubeloop/cel` refuses, and
 * `authorizer` checks. `object` and `oldObject` are typed by `schema` when given (a CRD's
 * structural schema), else untyped (`dyn`, JSON integers as int), which is how the API server
 * sees fields without a schema; give a schema for fields whose types matter (date-time, double).
 */
import { compile, toCelValue, VALIDATING_POLICY_ENVIRONMENT, type CelProgram, type SchemaNode } from "../cel/index.ts";
import type { CelInput } from "@bufbuild/cel";
import { labelSelectorAsSelector, type KubeObject } from "../meta/index.ts";
import type { LabelSelector, MatchResources, NamedRuleWithOperations, ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding, ValidationReason } from "./types.ts";

/** One admission request, as the API server hands it to validating admission. */
export interface AdmissionRequestInput {
  operation: "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
  /** The resource requested, e.g. `{ group: "", version: "v1", resource: "pods" }`. */
  resource: { group: string; version: string; resource: string };
  subResource?: string;
  /** The object's kind, e.g. `{ group: "", version: "v1", kind: "Pod" }`. */
  kind: { group: string; version: string; kind: string };
  /** Namespace of the request; empty or absent for cluster-scoped resources. */
  namespace?: string;
  name?: string;
  /** The new object (CREATE, UPDATE); null for DELETE. */
  object?: KubeObject | null;
  /** The old object (UPDATE, DELETE). */
  oldObject?: KubeObject | null;
  /**
   * The request's namespace as the API server reads it: its labels decide `namespaceSelector`
   * and it is `namespaceObject` in CEL. Default: a namespace with only the
   * `kubernetes.io/metadata.name` label the API server sets on every namespace.
   */
  namespaceObject?: KubeObject;
  /** Who sends the request (`request.userInfo`). Default: `{ username: "kubernetes-admin", groups: ["system:masters", "system:authenticated"] }`. */
  userInfo?: { username: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  dryRun?: boolean;
}

/** What one policy and binding decided about one request. */
export type PolicyVerdict =
  | { kind: "not-matched"; why: string }
  | {
    kind: "evaluated";
    /** The rejection the API server would send: its Status message, reason and code; undefined when admitted. */
    denied?: { message: string; reason: ValidationReason; code: number };
    /** Warnings the API server would return (`Warn` action). */
    warnings: string[];
    /** Messages of failed validations recorded for audit (`Audit` action). */
    audit: string[];
  }
  | { kind: "refused"; reason: string };

const MAX_MESSAGE_BYTES = 5000;
const CODES: Record<ValidationReason, number> = { Invalid: 422, Forbidden: 403, RequestEntityTooLarge: 413 };

/** Compiled programs per policy object (policies are immutable once built). */
const compiledByPolicy = new WeakMap<ValidatingAdmissionPolicy, Map<string, CelProgram>>();

function program(policy: ValidatingAdmissionPolicy, expression: string, variables: readonly string[]): CelProgram {
  let cache = compiledByPolicy.get(policy);
  if (!cache) compiledByPolicy.set(policy, (cache = new Map()));
  const key = `${variables.join(",")}\n${expression}`;
  let p = cache.get(key);
  if (!p) cache.set(key, (p = compile(expression, { ...VALIDATING_POLICY_ENVIRONMENT, variables })));
  return p;
}

/**
 * Evaluates `policy` through `binding` for `request` (see the module comment for the rules).
 * @param schema structural schema of the request's kind, typing `object` and `oldObject`.
 * @throws CelCompileError when an expression does not compile (the API server would have refused the policy).
 */
export function evaluateValidatingPolicy(
  policy: ValidatingAdmissionPolicy, binding: ValidatingAdmissionPolicyBinding, request: AdmissionRequestInput, schema?: SchemaNode,
): PolicyVerdict {
  if (binding.spec.policyName !== policy.metadata.name) return { kind: "not-matched", why: `binding ${binding.metadata.name} is for policy ${binding.spec.policyName}` };
  if (policy.spec.paramKind) return { kind: "refused", reason: "policies with paramKind (params) are not evaluated in-process" };
  const namespaceObject = request.namespace ? (request.namespaceObject ?? defaultNamespace(request.namespace)) : undefined;
  for (const [what, match] of [["policy", policy.spec.matchConstraints], ["binding", binding.spec.matchResources]] as const) {
    if (!match) continue;
    const miss = matchMiss(match, request, namespaceObject);
    if (miss === "refused") return { kind: "refused", reason: `the ${what}'s matchPolicy Equivalent could match ${resourceString(request)} through another version, which is not reproduced` };
    if (miss) return { kind: "not-matched", why: `${what}: ${miss}` };
  }

  let bindings: Record<string, CelInput>;
  try {
    bindings = {
      object: celObject(request.object, schema),
      oldObject: celObject(request.oldObject, schema),
      request: requestValue(request),
      namespaceObject: namespaceObject ? toCelValue(namespaceObject, undefined) : null,
    };
  } catch (err) {
    return { kind: "refused", reason: (err as Error).message };
  }
  const run = (expression: string, declared: readonly string[], extra: Record<string, CelInput> = {}): { value: unknown } | { refused: string } => {
    const p = program(policy, expression, declared);
    if (p.refusal) return { refused: `${JSON.stringify(expression)}: ${p.refusal}` };
    if (p.references.has("authorizer")) return { refused: `${JSON.stringify(expression)}: authorizer checks need the API server's authorizer` };
    const r = p.evaluate({ ...bindings, ...extra });
    if (r.kind === "refused") return { refused: `${JSON.stringify(expression)}: ${r.reason}` };
    if (r.kind === "error") return { refused: `${JSON.stringify(expression)} failed to evaluate (${r.message}); the API server's error path (failurePolicy, message) is not reproduced` };
    return { value: r.value };
  };
  const base = ["object", "oldObject", "request", "namespaceObject", "authorizer"];

  for (const condition of policy.spec.matchConditions ?? []) {
    const r = run(condition.expression, base);
    if ("refused" in r) return { kind: "refused", reason: `matchCondition ${condition.name}: ${r.refused}` };
    if (r.value !== true) return { kind: "not-matched", why: `matchCondition ${condition.name} is false` };
  }

  const variables = new Map<string, CelInput>();
  const withVariables = [...base, "variables"];
  for (const variable of policy.spec.variables ?? []) {
    const r = run(variable.expression, withVariables, { variables });
    if ("refused" in r) return { kind: "refused", reason: `variable ${variable.name}: ${r.refused}` };
    variables.set(variable.name, r.value as CelInput);
  }

  const denials: Array<{ message: string; reason: ValidationReason }> = [];
  for (const validation of policy.spec.validations ?? []) {
    const r = run(validation.expression, withVariables, { variables });
    if ("refused" in r) return { kind: "refused", reason: `validation: ${r.refused}` };
    if (r.value === true) continue;
    let message = "";
    if (validation.messageExpression) {
      // messageExpression has no authorizer; its errors only fall back to the message.
      const m = run(validation.messageExpression, ["object", "oldObject", "request", "namespaceObject", "variables"], { variables });
      if ("value" in m && typeof m.value === "string") {
        message = m.value.trim();
        if (Buffer.byteLength(message) > MAX_MESSAGE_BYTES || message.includes("\n")) message = "";
      } else if ("refused" in m && !/failed to evaluate/.test(m.refused)) {
        return { kind: "refused", reason: `messageExpression: ${m.refused}` };
      }
    }
    if (message === "" && validation.message) message = validation.message.trim();
    if (message === "") message = `failed expression: ${validation.expression.trim()}`;
    denials.push({ message, reason: validation.reason ?? "Invalid" });
  }

  const prefix = `ValidatingAdmissionPolicy '${policy.metadata.name}' with binding '${binding.metadata.name}'`;
  const actions = binding.spec.validationActions;
  const verdict: Extract<PolicyVerdict, { kind: "evaluated" }> = { kind: "evaluated", warnings: [], audit: [] };
  for (const d of denials) {
    if (actions.includes("Deny") && !verdict.denied) {
      verdict.denied = { message: `${admissionTarget(request)} is forbidden: ${prefix} denied request: ${d.message}`, reason: d.reason, code: CODES[d.reason] };
    }
    if (actions.includes("Warn")) verdict.warnings.push(`Validation failed for ${prefix}: ${d.message}`);
    if (actions.includes("Audit")) verdict.audit.push(d.message);
  }
  return verdict;
}

/** `<resource> "<name>"` as admission.NewForbidden names the target (`<resource>.<group>` for groups, the subresource after a slash). */
function admissionTarget(request: AdmissionRequestInput): string {
  const r = request.resource.group ? `${request.resource.resource}.${request.resource.group}` : request.resource.resource;
  return `${r} "${request.name ?? ""}"`;
}

function resourceString(request: AdmissionRequestInput): string {
  const { group, version, resource } = request.resource;
  return `${group ? `${group}/` : ""}${version}/${resource}${request.subResource ? `/${request.subResource}` : ""}`;
}

function defaultNamespace(name: string): KubeObject {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { "kubernetes.io/metadata.name": name } } };
}

function celObject(obj: KubeObject | null | undefined, schema: SchemaNode | undefined): CelInput {
  if (obj === null || obj === undefined) return null;
  return toCelValue(obj, schema);
}

/** `request` as k8s.io/apiserver/pkg/admission/plugin/cel `CreateAdmissionRequest` builds it. */
function requestValue(request: AdmissionRequestInput): CelInput {
  const user = request.userInfo ?? { username: "kubernetes-admin", groups: ["system:masters", "system:authenticated"] };
  return toCelValue({
    kind: request.kind, resource: request.resource, subResource: request.subResource ?? "",
    requestKind: request.kind, requestResource: request.resource, requestSubResource: request.subResource ?? "",
    name: request.name ?? "", namespace: request.namespace ?? "", operation: request.operation,
    userInfo: { username: user.username, uid: user.uid ?? "", groups: user.groups ?? [], extra: user.extra ?? {} },
    dryRun: request.dryRun ?? false,
  }, undefined);
}

/**
 * Why `match` does not select the request, "" when it does, "refused" when matchPolicy
 * Equivalent could make it match through another version.
 */
function matchMiss(match: MatchResources, request: AdmissionRequestInput, namespaceObject: KubeObject | undefined): string {
  if (request.namespace && namespaceObject && !selects(match.namespaceSelector, namespaceObject.metadata?.labels)) return "namespaceSelector does not select the namespace";
  const objects = [request.object, request.oldObject].filter((o): o is KubeObject => Boolean(o));
  if (!objects.some((o) => selects(match.objectSelector, o.metadata?.labels))) return "objectSelector selects neither the object nor the old object";
  if ((match.excludeResourceRules ?? []).some((r) => ruleMatches(r, request))) return "excluded by excludeResourceRules";
  const rules = match.resourceRules ?? [];
  // No resourceRules (a binding's matchResources may have none): every resource matches (policy/matching `Matches`).
  if (rules.length === 0 || rules.some((r) => ruleMatches(r, request))) return "";
  const equivalent = (match.matchPolicy ?? "Equivalent") === "Equivalent";
  if (equivalent && rules.some((r) => ruleMatches({ ...r, apiVersions: ["*"] }, request))) return "refused";
  return `no resourceRule matches ${request.operation} ${resourceString(request)}`;
}

function selects(selector: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  return labelSelectorAsSelector(selector).matches(labels ?? {});
}

/** apiserver/pkg/admission/plugin/webhook/predicates/rules `Matcher.Matches` for one rule. */
function ruleMatches(rule: NamedRuleWithOperations, request: AdmissionRequestInput): boolean {
  const any = (list: readonly string[] | undefined, value: string) => (list ?? []).some((x) => x === "*" || x === value);
  if (!any(rule.operations, request.operation)) return false;
  if (!any(rule.apiGroups, request.resource.group)) return false;
  if (!any(rule.apiVersions, request.resource.version)) return false;
  const scope = rule.scope ?? "*";
  if (scope === "Cluster" && request.namespace) return false;
  if (scope === "Namespaced" && !request.namespace) return false;
  if (rule.resourceNames?.length && !rule.resourceNames.includes(request.name ?? "")) return false;
  const sub = request.subResource ?? "";
  const wanted = sub ? `${request.resource.resource}/${sub}` : request.resource.resource;
  return (rule.resources ?? []).some((r) => {
    if (r === "*/*" || r === wanted) return true;
    if (r === "*") return sub === "";
    const [res, s] = r.split("/");
    if (s === "*" && res === request.resource.resource) return true;
    return res === "*" && s !== undefined && s === sub;
  });
}
