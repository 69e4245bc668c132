/**
 * The API server's create-time validation of admission policies and bindings, run when a policy
 * is built, so what the server would refuse never leaves the process.
 * Mirrors pkg/apis/admissionregistration/validation/validation.go in Kubernetes v1.36
 * (`ValidateValidatingAdmissionPolicy`, `ValidateMutatingAdmissionPolicy`, the two binding
 * validations, `validateMatchResources`, `validateRuleWithOperations`, `validateResources`,
 * `validateMatchConditions`, `validateValidation`, `validateAuditAnnotation`, `validateParamRef`,
 * `validateValidationActions`, `validateMutation`), after the defaults of
 * pkg/apis/admissionregistration/v1/defaults.go (failurePolicy Fail, matchPolicy Equivalent,
 * selectors `{}`).
 *
 * CEL: the server compiles every expression; here a `CelCheck` does it when one is given.
 */
import { FieldErrors } from "./field-errors.ts";
import { dns1123SubdomainErrors, isCelIdentifier, pathSegmentNameErrors, qualifiedNameErrors } from "./names.ts";
import type {
  LabelSelector, MatchCondition, MatchResources, MutatingAdmissionPolicy, MutatingAdmissionPolicyBinding, NamedRuleWithOperations,
  ParamKind, ParamRef, ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding, Variable,
} from "./types.ts";

/** Where an expression sits, which decides its CEL environment on the server. */
export type ExpressionKind = "matchCondition" | "variable" | "validation" | "messageExpression" | "auditAnnotation" | "applyConfiguration" | "jsonPatch";

/**
 * Compiles one CEL expression as the API server would (kube-apiserver's environment for
 * `kind`), returning the compiler's reason when it does not compile, else `undefined`.
 */
export type CelCheck = (expression: string, context: { kind: ExpressionKind; hasParams: boolean; variables: readonly string[] }) => string | undefined;

const failurePolicies = ["Fail", "Ignore"];
const matchPolicies = ["Equivalent", "Exact"];
const operations = ["*", "CONNECT", "CREATE", "DELETE", "UPDATE"];
const mutatingOperations = ["*", "CONNECT", "CREATE", "UPDATE"];
const scopes = ["*", "Cluster", "Namespaced"];
const reasons = ["Forbidden", "Invalid", "RequestEntityTooLarge"];
const validationActions = ["Audit", "Deny", "Warn"];
const reinvocationPolicies = ["IfNeeded", "Never"];
const patchTypes = ["ApplyConfiguration", "JSONPatch"];
/** `maxAuditAnnotations`, `maxAuditAnnotationValueExpressionLength`. */
const maxAuditAnnotations = 20;
const maxAuditAnnotationValueExpressionBytes = 5 * 1024;
/** `validateMatchConditions`: at most 64. */
export const maxMatchConditions = 64;

const newline = /[\n\r]+/;

function validateName(errs: FieldErrors, name: string | undefined): void {
  if (!name) {
    errs.required("metadata.name", "name or generateName is required");
    return;
  }
  for (const msg of dns1123SubdomainErrors(name)) errs.invalid("metadata.name", name, msg);
}

function validateSelector(errs: FieldErrors, sel: LabelSelector | undefined, path: string): void {
  if (!sel) return;
  (sel.matchExpressions ?? []).forEach((req, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    if ((req.operator === "In" || req.operator === "NotIn") && (req.values ?? []).length === 0) {
      errs.required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'");
    }
    if ((req.operator === "Exists" || req.operator === "DoesNotExist") && (req.values ?? []).length > 0) {
      errs.forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    }
    for (const msg of qualifiedNameErrors(req.key)) errs.invalid(`${p}.key`, req.key, msg);
  });
  for (const [k] of Object.entries(sel.matchLabels ?? {})) {
    for (const msg of qualifiedNameErrors(k)) errs.invalid(`${path}.matchLabels`, k, msg);
  }
}

function validateResources(errs: FieldErrors, resources: readonly string[], path: string): void {
  if (resources.length === 0) errs.required(path);
  const wildcardSub = new Set<string>();
  const wildcardRes = new Set<string>();
  let doubleWildcard = false;
  let singleWildcard = false;
  let withoutSub = false;
  resources.forEach((r, i) => {
    if (r === "") {
      errs.required(`${path}[${i}]`);
      return;
    }
    if (r === "*/*") doubleWildcard = true;
    if (r === "*") singleWildcard = true;
    const slash = r.indexOf("/");
    if (slash < 0) {
      withoutSub = r !== "*";
      return;
    }
    const res = r.slice(0, slash);
    const sub = r.slice(slash + 1);
    if (wildcardSub.has(res)) errs.invalid(`${path}[${i}]`, r, `if '${res}/*' is present, must not specify ${r}`);
    if (wildcardRes.has(sub)) errs.invalid(`${path}[${i}]`, r, `if '*/${sub}' is present, must not specify ${r}`);
    if (sub === "*") wildcardSub.add(res);
    if (res === "*") wildcardRes.add(sub);
  });
  if (resources.length > 1 && doubleWildcard) errs.invalid(path, resources, "if '*/*' is present, must not specify other resources");
  if (singleWildcard && withoutSub) errs.invalid(path, resources, "if '*' is present, must not specify other resources without subresources");
}

function validateRule(errs: FieldErrors, rule: NamedRuleWithOperations, path: string): void {
  const names = new Set<string>();
  (rule.resourceNames ?? []).forEach((n, i) => {
    for (const msg of pathSegmentNameErrors(n)) errs.invalid(`${path}.resourceNames[${i}]`, n, msg);
    if (names.has(n)) errs.duplicate(`${path}.resourceNames[${i}]`, n);
    names.add(n);
  });
  validateRuleOperations(errs, rule.operations ?? [], path);
  const groups = rule.apiGroups ?? [];
  if (groups.length === 0) errs.required(`${path}.apiGroups`);
  if (groups.length > 1 && groups.includes("*")) errs.invalid(`${path}.apiGroups`, groups, "if '*' is present, must not specify other API groups");
  const versions = rule.apiVersions ?? [];
  if (versions.length === 0) errs.required(`${path}.apiVersions`);
  if (versions.length > 1 && versions.includes("*")) errs.invalid(`${path}.apiVersions`, versions, "if '*' is present, must not specify other API versions");
  versions.forEach((v, i) => {
    if (v === "") errs.required(`${path}.apiVersions[${i}]`);
  });
  validateResources(errs, rule.resources ?? [], `${path}.resources`);
  if (rule.scope !== undefined && !scopes.includes(rule.scope)) errs.notSupported(`${path}.scope`, rule.scope, scopes);
}

/** The operations checks of `validateRuleWithOperations` (webhook rules share them). */
export function validateRuleOperations(errs: FieldErrors, ops: readonly string[], path: string): void {
  if (ops.length === 0) errs.required(`${path}.operations`);
  if (ops.length > 1 && ops.includes("*")) errs.invalid(`${path}.operations`, ops, "if '*' is present, must not specify other operations");
  ops.forEach((op, i) => {
    if (!operations.includes(op)) errs.notSupported(`${path}.operations[${i}]`, op, operations);
  });
}

function validateMatchResources(errs: FieldErrors, mr: MatchResources | undefined, path: string): void {
  if (!mr) return;
  const matchPolicy = mr.matchPolicy ?? "Equivalent";
  if (!matchPolicies.includes(matchPolicy)) errs.notSupported(`${path}.matchPolicy`, matchPolicy, matchPolicies);
  validateSelector(errs, mr.namespaceSelector, `${path}.namespaceSelector`);
  validateSelector(errs, mr.objectSelector, `${path}.objectSelector`);
  (mr.resourceRules ?? []).forEach((r, i) => validateRule(errs, r, `${path}.resourceRules[${i}]`));
  (mr.excludeResourceRules ?? []).forEach((r, i) => validateRule(errs, r, `${path}.excludeResourceRules[${i}]`));
}

function validateCel(errs: FieldErrors, cel: CelCheck | undefined, expression: string, field: string, kind: ExpressionKind, hasParams: boolean, variables: readonly string[]): void {
  if (!cel) return;
  const reason = cel(expression, { kind, hasParams, variables });
  if (reason !== undefined) errs.invalid(field, expression, reason);
}

/** `validateMatchConditions` (webhooks share it). */
export function validateMatchConditions(errs: FieldErrors, conditions: readonly MatchCondition[] | undefined, path: string, hasParams: boolean, cel?: CelCheck): void {
  const list = conditions ?? [];
  if (list.length > maxMatchConditions) errs.tooMany(path, list.length, maxMatchConditions);
  const names = new Set<string>();
  list.forEach((c, i) => {
    const p = `${path}[${i}]`;
    if ((c.expression ?? "").trim() === "") errs.required(`${p}.expression`);
    else validateCel(errs, cel, c.expression.trim(), `${p}.expression`, "matchCondition", hasParams, []);
    if (!c.name) errs.required(`${p}.name`);
    else for (const msg of qualifiedNameErrors(c.name)) errs.invalid(`${p}.name`, c.name, msg);
    if (c.name) {
      if (names.has(c.name)) errs.duplicate(`${p}.name`, c.name);
      names.add(c.name);
    }
  });
}

function validateVariables(errs: FieldErrors, variables: readonly Variable[] | undefined, hasParams: boolean, cel?: CelCheck): string[] {
  const seen: string[] = [];
  (variables ?? []).forEach((v, i) => {
    const p = `spec.variables[${i}]`;
    if (!v.name || v.name.trim() === "") errs.required(`${p}.name`, "name is not specified");
    else if (!isCelIdentifier(v.name)) errs.invalid(`${p}.name`, v.name, "must be a valid CEL identifier");
    if (!v.expression || v.expression.trim() === "") errs.required(`${p}.expression`, "expression is not specified");
    else validateCel(errs, cel, v.expression, `${p}.expression`, "variable", hasParams, seen);
    seen.push(v.name);
  });
  return seen;
}

function validateParamKind(errs: FieldErrors, pk: ParamKind | undefined): void {
  if (!pk) return;
  const path = "spec.paramKind";
  if (!pk.apiVersion) errs.required(`${path}.apiVersion`);
  else {
    const parts = pk.apiVersion.split("/");
    if (parts.length > 2) errs.invalid(`${path}.apiVersion`, pk.apiVersion, `unexpected GroupVersion string: ${pk.apiVersion}`);
    else {
      const [g, v] = parts.length === 2 ? [parts[0]!, parts[1]!] : ["", parts[0]!];
      if (g) {
        const e = dns1123SubdomainErrors(g);
        if (e.length) errs.invalid(`${path}.apiVersion`, g, e.join(","));
      }
      if (!v) errs.invalid(`${path}.apiVersion`, pk.apiVersion, "version must be specified");
    }
  }
  if (!pk.kind) errs.required(`${path}.kind`);
}

function validateParamRef(errs: FieldErrors, pr: ParamRef | undefined): void {
  if (!pr) return;
  const path = "spec.paramRef";
  if (pr.name) for (const msg of pathSegmentNameErrors(pr.name)) errs.invalid(`${path}.name`, pr.name, msg);
  if (pr.name && pr.selector) {
    errs.forbidden(`${path}.name`, "name and selector are mutually exclusive");
    errs.forbidden(`${path}.selector`, "name and selector are mutually exclusive");
  }
  if (pr.selector) validateSelector(errs, pr.selector, `${path}.selector`);
  if (!pr.name && !pr.selector) errs.required(path, "one of name or selector must be specified");
  if (!pr.parameterNotFoundAction) errs.required(`${path}.parameterNotFoundAction`);
  else if (pr.parameterNotFoundAction !== "Allow" && pr.parameterNotFoundAction !== "Deny") {
    errs.notSupported(`${path}.parameterNotFoundAction`, pr.parameterNotFoundAction, ["Deny", "Allow"]); // unsorted, as upstream
  }
}

function validateConstraints(errs: FieldErrors, mc: MatchResources | undefined, mutating: boolean): void {
  if (!mc) {
    errs.required("spec.matchConstraints");
    return;
  }
  validateMatchResources(errs, mc, "spec.matchConstraints");
  if ((mc.resourceRules ?? []).length === 0) errs.required("spec.matchConstraints.resourceRules");
  if (mutating) checkMutatingOperations(errs, mc, "spec.matchConstraints.resourceRules.operations");
}

function checkMutatingOperations(errs: FieldErrors, mr: MatchResources, path: string): void {
  for (const rule of mr.resourceRules ?? []) {
    for (const op of rule.operations ?? []) {
      if (!mutatingOperations.includes(op)) errs.notSupported(path, op, mutatingOperations);
    }
  }
}

function validateFailurePolicy(errs: FieldErrors, fp: string | undefined): void {
  if (fp !== undefined && !failurePolicies.includes(fp)) errs.notSupported("spec.failurePolicy", fp, failurePolicies);
}

/** Field errors of a ValidatingAdmissionPolicy; empty when the API server would accept it. */
export function validatingAdmissionPolicyErrors(p: ValidatingAdmissionPolicy, cel?: CelCheck): FieldErrors {
  const errs = new FieldErrors();
  validateName(errs, p.metadata?.name);
  const spec = p.spec;
  validateFailurePolicy(errs, spec.failurePolicy);
  validateParamKind(errs, spec.paramKind);
  const hasParams = spec.paramKind !== undefined;
  validateConstraints(errs, spec.matchConstraints, false);
  validateMatchConditions(errs, spec.matchConditions, "spec.matchConditions", hasParams, cel);
  const vars = validateVariables(errs, spec.variables, hasParams, cel);
  const validations = spec.validations ?? [];
  const audits = spec.auditAnnotations ?? [];
  if (validations.length === 0 && audits.length === 0) {
    errs.required("spec.validations", "validations or auditAnnotations must contain at least one item");
    errs.required("spec.auditAnnotations", "validations or auditAnnotations must contain at least one item");
    return errs;
  }
  validations.forEach((v, i) => {
    const p = `spec.validations[${i}]`;
    if ((v.expression ?? "").trim() === "") errs.required(`${p}.expression`, "expression is not specified");
    else validateCel(errs, cel, v.expression, `${p}.expression`, "validation", hasParams, vars);
    if (v.messageExpression !== undefined && v.messageExpression.length > 0 && v.messageExpression.trim() === "") {
      errs.invalid(`${p}.messageExpression`, v.messageExpression, "must be non-empty if specified");
    } else if (v.messageExpression && v.messageExpression.trim() !== "") {
      validateCel(errs, cel, v.messageExpression, `${p}.messageExpression`, "messageExpression", hasParams, vars);
    }
    const msg = v.message ?? "";
    if (msg.length > 0 && msg.trim() === "") errs.invalid(`${p}.message`, msg, "must be non-empty if specified");
    else if (newline.test(msg.trim())) errs.invalid(`${p}.message`, msg, "must not contain line breaks");
    if (v.reason !== undefined && !reasons.includes(v.reason)) errs.notSupported(`${p}.reason`, v.reason, reasons);
  });
  if (audits.length > maxAuditAnnotations) {
    // The server prints its internal type, whose fields have no JSON tags.
    errs.invalid("spec.auditAnnotations", audits.map((a) => ({ Key: a.key, ValueExpression: a.valueExpression })), `must not have more than ${maxAuditAnnotations} auditAnnotations`);
  }
  const keys = new Set<string>();
  const name = p.metadata?.name;
  audits.forEach((a, i) => {
    const path = `spec.auditAnnotations[${i}]`;
    if (name) for (const msg of qualifiedNameErrors(`${name}/${a.key}`)) errs.invalid(`${path}.key`, `${name}/${a.key}`, msg);
    else errs.invalid(`${path}.key`, a.key, "requires metadata.name be non-empty");
    const expr = (a.valueExpression ?? "").trim();
    if (expr === "") errs.required(`${path}.valueExpression`, "valueExpression is not specified");
    else if (Buffer.byteLength(expr) > maxAuditAnnotationValueExpressionBytes) {
      errs.required(`${path}.valueExpression`, `must not exceed ${maxAuditAnnotationValueExpressionBytes} bytes in length`);
    } else validateCel(errs, cel, expr, `${path}.valueExpression`, "auditAnnotation", hasParams, vars);
    if (keys.has(a.key)) errs.duplicate(`${path}.key`, a.key);
    keys.add(a.key);
  });
  return errs;
}

/** Field errors of a MutatingAdmissionPolicy; empty when the API server would accept it. */
export function mutatingAdmissionPolicyErrors(p: MutatingAdmissionPolicy, cel?: CelCheck): FieldErrors {
  const errs = new FieldErrors();
  validateName(errs, p.metadata?.name);
  const spec = p.spec;
  validateFailurePolicy(errs, spec.failurePolicy);
  validateParamKind(errs, spec.paramKind);
  const hasParams = spec.paramKind !== undefined;
  validateConstraints(errs, spec.matchConstraints, true);
  validateMatchConditions(errs, spec.matchConditions, "spec.matchConditions", hasParams, cel);
  const vars = validateVariables(errs, spec.variables, hasParams, cel);
  const mutations = spec.mutations ?? [];
  if (mutations.length === 0) errs.required("spec.mutations", "mutations must contain at least one item");
  mutations.forEach((m, i) => {
    const path = `spec.mutations[${i}]`;
    const patchType: string | undefined = m.patchType;
    if (!patchType) {
      errs.required(`${path}.patchType`);
      return;
    }
    if (!patchTypes.includes(patchType)) {
      errs.notSupported(`${path}.patchType`, patchType, patchTypes);
      return;
    }
    const own = patchType === "JSONPatch" ? "jsonPatch" : "applyConfiguration";
    const other = patchType === "JSONPatch" ? "applyConfiguration" : "jsonPatch";
    const body = (m as unknown as Record<string, { expression?: string } | undefined>)[own];
    if (!body) errs.required(`${path}.${own}`, `must be specified when patchType is ${patchType}`);
    else if ((body.expression ?? "").trim() === "") errs.required(`${path}.${own}.expression`);
    else validateCel(errs, cel, body.expression!.trim(), `${path}.${own}.expression`, own, hasParams, vars);
    if ((m as unknown as Record<string, unknown>)[other] !== undefined) errs.invalid(`${path}.${other}`, `{${other}}`, `must not be specified when patchType is ${patchType}`);
  });
  const rp: string | undefined = spec.reinvocationPolicy;
  if (!rp) errs.required("spec.reinvocationPolicy");
  else if (!reinvocationPolicies.includes(rp)) errs.notSupported("spec.reinvocationPolicy", rp, reinvocationPolicies);
  return errs;
}

function validatePolicyName(errs: FieldErrors, policyName: string | undefined): void {
  if (!policyName) errs.required("spec.policyName");
  else for (const msg of dns1123SubdomainErrors(policyName)) errs.invalid("spec.policyName", policyName, msg);
}

/** Field errors of a ValidatingAdmissionPolicyBinding; empty when the API server would accept it. */
export function validatingAdmissionPolicyBindingErrors(b: ValidatingAdmissionPolicyBinding): FieldErrors {
  const errs = new FieldErrors();
  validateName(errs, b.metadata?.name);
  validatePolicyName(errs, b.spec.policyName);
  validateParamRef(errs, b.spec.paramRef);
  validateMatchResources(errs, b.spec.matchResources, "spec.matchResources");
  const actions: string[] = b.spec.validationActions ?? [];
  const seen = new Set<string>();
  actions.forEach((a, i) => {
    if (!validationActions.includes(a)) errs.notSupported(`spec.validationActions[${i}]`, a, validationActions);
    if (seen.has(a)) errs.duplicate(`spec.validationActions[${i}]`, a);
    seen.add(a);
  });
  if (seen.has("Deny") && seen.has("Warn")) {
    errs.invalid("spec.validationActions", actions, "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)");
  }
  if (seen.size === 0) errs.required("spec.validationActions", "at least one validation action is required");
  return errs;
}

/** Field errors of a MutatingAdmissionPolicyBinding; empty when the API server would accept it. */
export function mutatingAdmissionPolicyBindingErrors(b: MutatingAdmissionPolicyBinding): FieldErrors {
  const errs = new FieldErrors();
  validateName(errs, b.metadata?.name);
  validatePolicyName(errs, b.spec.policyName);
  validateParamRef(errs, b.spec.paramRef);
  validateMatchResources(errs, b.spec.matchResources, "spec.matchResources");
  if (b.spec.matchResources) checkMutatingOperations(errs, b.spec.matchResources, "spec.matchResources.resourceRules.operations");
  return errs;
}
