/**
 * What ValidatingAdmissionPolicy and MutatingAdmissionPolicy evaluation share, as kube-apiserver
 * v1.36 does it (k8s.io/apiserver/pkg/admission/plugin/policy/generic and `policy/matching`,
 * `webhook/predicates/rules`): the request must match the policy's `matchConstraints` and the
 * binding's `matchResources`; every `matchCondition` must be true; `variables` are evaluated in
 * order, each seeing the earlier ones. Then the policy kind's own expressions run through `run`.
 */
import { compile, toCelValue, type CelProgram, type CompileEnvironment, type SchemaNode } from "../cel/index.ts";
import type { CelInput } from "@bufbuild/cel";
import { labelSelectorAsSelector, type KubeObject } from "../meta/index.ts";
import type { FailurePolicy, LabelSelector, MatchCondition, MatchResources, NamedRuleWithOperations, ParamRef, Variable } from "./types.ts";
import type { AdmissionRequestInput } from "./evaluate.ts";

/** The parts of a policy the frame reads. */
export interface FramedPolicy {
  metadata: { name: string };
  spec: { paramKind?: unknown; matchConstraints?: MatchResources; matchConditions?: MatchCondition[]; variables?: Variable[]; failurePolicy?: FailurePolicy };
}

/** The parts of a binding the frame reads. */
export interface FramedBinding {
  metadata: { name: string };
  spec: { policyName: string; matchResources?: MatchResources; paramRef?: ParamRef };
}

/**
 * The parameter objects an in-process evaluation may use: every object of the policy's
 * `paramKind` that the API server's informer would hold (all namespaces), and whether that kind
 * is namespaced.
 */
export interface ParamObjects {
  namespaced: boolean;
  objects: readonly KubeObject[];
}

/**
 * The params the API server hands one invocation each (policy/generic `CollectParams`): `[null]`
 * without paramKind or paramRef; the object named by `paramRef.name`, or those `paramRef.selector`
 * selects, in `paramRef.namespace` or else the request's namespace (namespaced kinds). A
 * `configurationError` is what the API server reports under the policy's failurePolicy
 * (`failed to configure binding: <error>`); refused when params are needed and not given.
 */
export function resolveParams(
  policy: FramedPolicy, binding: FramedBinding, request: AdmissionRequestInput, given: ParamObjects | undefined,
): { params: Array<KubeObject | null> } | { configurationError: string } | { refused: string } {
  const ref = binding.spec.paramRef;
  if (!policy.spec.paramKind || !ref) return { params: [null] };
  if (!given) return { refused: "the policy takes params (paramKind): give the objects of that kind to evaluate it in-process" };
  let namespace: string | undefined;
  if (given.namespaced) {
    namespace = ref.namespace || request.namespace;
    if (!namespace) return { configurationError: "cannot use namespaced paramRef in policy binding that matches cluster-scoped resources" };
  } else if (ref.namespace) {
    return { configurationError: "paramRef.namespace must not be provided for a cluster-scoped `paramKind`" };
  }
  const candidates = given.objects.filter((o) => (o.metadata?.namespace || undefined) === namespace);
  let params: KubeObject[];
  if (ref.name) {
    if (ref.selector) return { configurationError: "paramRef.name and paramRef.selector are mutually exclusive" };
    params = candidates.filter((o) => o.metadata?.name === ref.name);
  } else if (ref.selector) {
    params = candidates.filter((o) => selects(ref.selector, o.metadata?.labels));
  } else {
    return { configurationError: "one of name or selector must be provided" };
  }
  if (params.length === 0 && ref.parameterNotFoundAction === "Deny") return { configurationError: "no params found for policy binding with `Deny` parameterNotFoundAction" };
  return { params };
}

/**
 * `requestMatch`, then `resolveParams`: what both policy kinds do before their first expression.
 * A refusal comes back as `{ kind: "refused" }`.
 */
export function matchAndResolveParams(
  policy: FramedPolicy, binding: FramedBinding, request: AdmissionRequestInput, given: ParamObjects | undefined,
): { kind: "not-matched"; why: string } | { kind: "refused"; reason: string } | { kind: "configuration-error"; error: string } | { kind: "params"; params: Array<KubeObject | null> } {
  const matched = requestMatch(policy, binding, request);
  if (matched.kind !== "matched") return matched;
  const resolved = resolveParams(policy, binding, request, given);
  if ("refused" in resolved) return { kind: "refused", reason: resolved.refused };
  if ("configurationError" in resolved) return { kind: "configuration-error", error: resolved.configurationError };
  return { kind: "params", params: resolved.params };
}

/**
 * The Status message of a configuration error under failurePolicy Fail, as MutatingAdmissionPolicy
 * reports it (policy/generic `PolicyError`: no `<resource> is forbidden` prefix); undefined under
 * Ignore, where the API server drops it. Validating policies word it as their denials.
 */
export function configurationErrorMessage(policy: FramedPolicy, binding: FramedBinding, error: string): string | undefined {
  if (policy.spec.failurePolicy === "Ignore") return undefined;
  return `policy '${policy.metadata.name}' with binding '${binding.metadata.name}' denied request: failed to configure binding: ${error}`;
}

/** An expression's value, or why the in-process evaluator does not give it. */
export type FramedResult = { value: unknown } | { refused: string };

/** The request matched: run the policy's own expressions (with `object` ... `variables` bound). */
export interface PolicyFrame {
  kind: "matched";
  /**
   * Evaluates `expression` with the declared variables `declared` (plus `variables`); `object`,
   * when given, replaces the request's object (a mutation sees the earlier mutations' result).
   */
  run(expression: string, declared: readonly string[], object?: KubeObject): FramedResult;
}

/** The variables of admission expressions; `variables` is added once the policy's variables exist. */
export const ADMISSION_VARIABLES = ["object", "oldObject", "request", "params", "namespaceObject", "authorizer"] as const;

/** The variables of a policy's variables, validations and mutations: `ADMISSION_VARIABLES` and `variables`. */
export const POLICY_EXPRESSION_VARIABLES = [...ADMISSION_VARIABLES, "variables"] as const;

/** Compiled programs per policy object (policies are immutable once built). */
const compiledByPolicy = new WeakMap<object, Map<string, CelProgram>>();

function program(policy: object, expression: string, variables: readonly string[], env: CompileEnvironment): CelProgram {
  let cache = compiledByPolicy.get(policy);
  if (!cache) compiledByPolicy.set(policy, (cache = new Map()));
  const key = `${variables.join(",")}\n${expression}`;
  let p = cache.get(key);
  if (!p) cache.set(key, (p = compile(expression, { ...env, variables })));
  return p;
}

/**
 * Whether `request` is for `policy` through `binding` at all: the binding names the policy, and
 * the policy's `matchConstraints` and the binding's `matchResources` select the request.
 */
export function requestMatch(policy: FramedPolicy, binding: FramedBinding, request: AdmissionRequestInput): { kind: "matched" } | { kind: "not-matched"; why: string } | { kind: "refused"; reason: string } {
  if (binding.spec.policyName !== policy.metadata.name) return { kind: "not-matched", why: `binding ${binding.metadata.name} is for policy ${binding.spec.policyName}` };
  const namespaceObject = request.namespace ? (request.namespaceObject ?? defaultNamespace(request.namespace)) : undefined;
  for (const [what, match] of [["policy", policy.spec.matchConstraints], ["binding", binding.spec.matchResources]] as const) {
    if (!match) continue;
    const miss = matchMiss(match, request, namespaceObject);
    if (miss === "refused") return { kind: "refused", reason: `the ${what}'s matchPolicy Equivalent could match ${resourceString(request)} through another version, which is not reproduced` };
    if (miss) return { kind: "not-matched", why: `${what}: ${miss}` };
  }
  return { kind: "matched" };
}

/**
 * For a request that `matchAndResolveParams` matched: evaluates the matchConditions and the
 * variables with `param` as `params`, and returns the frame to run the policy's own expressions
 * in; or why a matchCondition excludes the request, or why it is refused (an expression refused
 * in-process or failing to evaluate, `authorizer` checks, a value not converted exactly).
 * @throws CelCompileError when an expression does not compile.
 */
export function policyFrame(
  policy: FramedPolicy, request: AdmissionRequestInput, schema: SchemaNode | undefined, env: CompileEnvironment,
  param: KubeObject | null = null,
): PolicyFrame | { kind: "not-matched"; why: string } | { kind: "refused"; reason: string } {
  const namespaceObject = request.namespace ? (request.namespaceObject ?? defaultNamespace(request.namespace)) : undefined;

  let bindings: Record<string, CelInput>;
  try {
    bindings = {
      object: celObject(request.object, schema),
      oldObject: celObject(request.oldObject, schema),
      request: requestValue(request),
      namespaceObject: namespaceObject ? toCelValue(namespaceObject, undefined) : null,
      params: param ? toCelValue(param, undefined) : null,
    };
  } catch (err) {
    return { kind: "refused", reason: (err as Error).message };
  }
  const variables = new Map<string, CelInput>();
  const run = (expression: string, declared: readonly string[], object?: KubeObject): FramedResult => {
    const p = program(policy, expression, declared, env);
    if (p.refusal) return { refused: `${JSON.stringify(expression)}: ${p.refusal}` };
    if (p.references.has("authorizer")) return { refused: `${JSON.stringify(expression)}: authorizer checks need the API server's authorizer` };
    let current = bindings;
    if (object) {
      try {
        current = { ...bindings, object: celObject(object, schema) };
      } catch (err) {
        return { refused: (err as Error).message };
      }
    }
    const r = p.evaluate({ ...current, variables });
    if (r.kind === "refused") return { refused: `${JSON.stringify(expression)}: ${r.reason}` };
    if (r.kind === "error") return { refused: `${JSON.stringify(expression)} failed to evaluate (${r.message}); the API server's error path (failurePolicy, message) is not reproduced` };
    return { value: r.value };
  };

  for (const condition of policy.spec.matchConditions ?? []) {
    const r = run(condition.expression, ADMISSION_VARIABLES);
    if ("refused" in r) return { kind: "refused", reason: `matchCondition ${condition.name}: ${r.refused}` };
    if (r.value !== true) return { kind: "not-matched", why: `matchCondition ${condition.name} is false` };
  }
  for (const variable of policy.spec.variables ?? []) {
    const r = run(variable.expression, POLICY_EXPRESSION_VARIABLES);
    if ("refused" in r) return { kind: "refused", reason: `variable ${variable.name}: ${r.refused}` };
    variables.set(variable.name, r.value as CelInput);
  }
  return { kind: "matched", run };
}

/** `<group>/<version>/<resource>[/<subresource>]` of a request. */
export function resourceString(request: AdmissionRequestInput): string {
  const { group, version, resource } = request.resource;
  return `${group ? `${group}/` : ""}${version}/${resource}${request.subResource ? `/${request.subResource}` : ""}`;
}

function defaultNamespace(name: string): KubeObject {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { "kubernetes.io/metadata.name": name } } };
}

/**
 * `object` / `oldObject`: typed by `schema` (a CRD's structural schema) except `metadata`, which
 * admission sees whole (the resource's OpenAPI has the full ObjectMeta there), untyped.
 */
function celObject(obj: KubeObject | null | undefined, schema: SchemaNode | undefined): CelInput {
  if (obj === null || obj === undefined) return null;
  if (!schema) return toCelValue(obj, undefined);
  const { metadata, ...rest } = obj;
  const typed = toCelValue(rest, schema);
  if (metadata !== undefined && typed instanceof Map) typed.set("metadata", toCelValue(metadata, undefined));
  return typed;
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
