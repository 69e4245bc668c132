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
 * - with `paramKind` and a binding's `paramRef`, each param object (by name or selector, in the
 *   paramRef's namespace or the request's) is one evaluation with `params` bound; none found
 *   with `parameterNotFoundAction: Deny` denies with `<resource> "<name>" is forbidden:
 *   ValidatingAdmissionPolicy '<policy>' with binding '<binding>' denied request: failed to
 *   configure binding: no params found ...` (422, under failurePolicy Fail).
 *
 * What this cannot answer exactly is refused with the reason rather than answered differently:
 * params not given (`params` option), several params whose denials differ (the API server's
 * order of params is its cache's), `matchPolicy: Equivalent` requests that name another version of
 * the rule's resource, any CEL evaluation error (the API server's error text and the
 * failurePolicy path are not reproduced), an expression `kubeloop/cel` refuses, and
 * `authorizer` checks. `object` and `oldObject` are typed by `schema` when given (a CRD's
 * structural schema), else untyped (`dyn`, JSON integers as int), which is how the API server
 * sees fields without a schema; give a schema for fields whose types matter (date-time, double).
 */
import { VALIDATING_POLICY_ENVIRONMENT, type SchemaNode } from "../cel/index.ts";
import type { KubeObject } from "../meta/index.ts";
import { matchAndResolveParams, policyFrame, POLICY_EXPRESSION_VARIABLES, type ParamObjects } from "./policy-frame.ts";
import type { ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding, ValidationReason } from "./types.ts";

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
    /**
     * The rejection the API server would send: its Status message, reason and code; undefined
     * when admitted. `configurationError` when it comes from the binding's params (no params
     * found with `parameterNotFoundAction: Deny`, ...), which the API server reports only when no
     * policy's validation denied the request.
     */
    denied?: { message: string; reason: ValidationReason; code: number; configurationError?: true };
    /** Warnings the API server would return (`Warn` action). */
    warnings: string[];
    /** Messages of failed validations recorded for audit (`Audit` action). */
    audit: string[];
  }
  | { kind: "refused"; reason: string };

const MAX_MESSAGE_BYTES = 5000;
const CODES: Record<ValidationReason, number> = { Invalid: 422, Forbidden: 403, RequestEntityTooLarge: 413 };

/** Options of `evaluateValidatingPolicy`. */
export interface EvaluationOptions {
  /** Structural schema of the request's kind (a CRD's `openAPIV3Schema`), typing `object` and `oldObject`. */
  schema?: SchemaNode;
  /** The objects of the policy's `paramKind` (needed when the binding has a `paramRef`). */
  params?: ParamObjects;
}

/**
 * Evaluates `policy` through `binding` for `request` (see the module comment for the rules).
 * @throws CelCompileError when an expression does not compile (the API server would have refused the policy).
 */
export function evaluateValidatingPolicy(
  policy: ValidatingAdmissionPolicy, binding: ValidatingAdmissionPolicyBinding, request: AdmissionRequestInput, options: EvaluationOptions = {},
): PolicyVerdict {
  const { schema, params } = options;
  const resolved = matchAndResolveParams(policy, binding, request, params);
  if (resolved.kind === "not-matched" || resolved.kind === "refused") return resolved;
  if (resolved.kind === "configuration-error") {
    // Under failurePolicy Fail: a denial of reason Invalid (validating/dispatcher.go), dropped under Ignore.
    if (policy.spec.failurePolicy === "Ignore") return { kind: "evaluated", warnings: [], audit: [] };
    const message = `${admissionTarget(request)} is forbidden: ValidatingAdmissionPolicy '${policy.metadata.name}' with binding '${binding.metadata.name}' denied request: failed to configure binding: ${resolved.error}`;
    return { kind: "evaluated", warnings: [], audit: [], denied: { message, reason: "Invalid", code: 422, configurationError: true } };
  }
  const denials: Array<{ message: string; reason: ValidationReason }> = [];
  const denyingParams = new Set<string>();
  for (const param of resolved.params) {
    const frame = policyFrame(policy, request, schema, VALIDATING_POLICY_ENVIRONMENT, param);
    if (frame.kind === "refused") return frame;
    if (frame.kind === "not-matched") {
      if (resolved.params.length === 1) return frame;
      continue;
    }
    const run = frame.run;
    for (const validation of policy.spec.validations ?? []) {
      const r = run(validation.expression, POLICY_EXPRESSION_VARIABLES);
      if ("refused" in r) return { kind: "refused", reason: `validation: ${r.refused}` };
      if (r.value === true) continue;
      let message = "";
      if (validation.messageExpression) {
        // messageExpression has no authorizer; its errors only fall back to the message.
        const m = run(validation.messageExpression, ["object", "oldObject", "request", "params", "namespaceObject", "variables"]);
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
      denyingParams.add(param?.metadata?.name ?? "");
    }
  }
  if (denyingParams.size > 1 && new Set(denials.map((d) => d.message)).size > 1) {
    return { kind: "refused", reason: "several params deny with different messages; the API server reports the first in its cache's order, which is not reproduced" };
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
