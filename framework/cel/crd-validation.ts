import type { CelInput } from "@bufbuild/cel";
import { CelCompileError, compile, crdRuleEnvironment, type CelProgram } from "./compile.ts";
import { crdCostVerdict, type CostViolation } from "./crd-cost.ts";
import { formatGoFloat } from "./library/go-format.ts";
import { optionalNone, optionalOf } from "./library/optional.ts";
import { refusalOf } from "./library/refuse.ts";
import { hasListSemantics, toCelValue, withTypeAndObjectMeta, type SchemaNode, type ValidationRule } from "./values.ts";

/**
 * Evaluation of a CRD's `x-kubernetes-validations` against an object, as the API server does
 * on create and update. Mirrors k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/validation.go
 * in Kubernetes v1.36: rules run on every non-null node, top-down; transition rules (those
 * reading `oldSelf`) only where an old value correlates (object properties, map entries, items of
 * `x-kubernetes-list-type: map` lists by key); on update, failures of rules without `oldSelf` on a
 * node equal to its old value are ratcheted into warnings; messages in the 1.35+ format (no value
 * for objects and arrays).
 */

/** One failed rule, as the API server reports it (`field.Error`). */
export interface RuleFailure {
  /** `FieldValueInvalid`, `FieldValueForbidden`, `FieldValueRequired` or `FieldValueDuplicate`. */
  type: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
  /** The field path, e.g. `spec.replicas` (or `<nil>` for the root). */
  field: string;
  /** The cause's message (`ErrorBody`), e.g. `Invalid value: 3: must be even`. */
  body: string;
  /** `field: body`, as in the API server's aggregated message. */
  message: string;
}

/** A rule the in-process evaluator did not evaluate, and why. */
export interface RuleRefusal {
  field: string;
  rule: string;
  reason: string;
}

/** The outcome of `validateCustomResource`. */
export interface CustomResourceValidation {
  /** Errors: the API server refuses the object when there is one. */
  failures: RuleFailure[];
  /** Ratcheted failures (update, unchanged node): the API server returns them as warnings. */
  warnings: string[];
  /** Rules not evaluated in-process; when non-empty the verdict is not known. */
  refused: RuleRefusal[];
}

const programs = new WeakMap<ValidationRule, { rule: CelProgram | CelCompileError; message?: CelProgram | CelCompileError }>();

function compiled(rule: ValidationRule, schema: SchemaNode) {
  let c = programs.get(rule);
  if (!c) {
    const env = crdRuleEnvironment(schema, rule);
    const attempt = (expr: string) => {
      try {
        return compile(expr, env);
      } catch (e) {
        if (e instanceof CelCompileError) return e;
        throw e;
      }
    };
    c = { rule: attempt(rule.rule), ...(rule.messageExpression ? { message: attempt(rule.messageExpression) } : {}) };
    programs.set(rule, c);
  }
  return c;
}

function goValue(value: unknown, type: string | undefined): string | undefined {
  if (type === "object" || type === "array") return undefined;
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number") {
    if (Number.isInteger(value) && Math.abs(value) <= Number.MAX_SAFE_INTEGER) return String(value);
    return formatGoFloat(value);
  }
  return JSON.stringify(value);
}

function errorBody(type: RuleFailure["type"], value: unknown, schemaType: string | undefined, detail: string): string {
  switch (type) {
    case "FieldValueForbidden":
      return `Forbidden: ${detail}`;
    case "FieldValueRequired":
      return `Required value: ${detail}`;
    case "FieldValueDuplicate": {
      const v = goValue(value, schemaType);
      return v === undefined ? "Duplicate value" : `Duplicate value: ${v}`;
    }
    default: {
      const v = goValue(value, schemaType);
      return v === undefined ? `Invalid value: ${detail}` : `Invalid value: ${v}: ${detail}`;
    }
  }
}

/**
 * `ValidFieldPath(fieldPath, schema).String()`: `.a` and `['a']` name a property (a child, `a`)
 * where the schema has properties, a key (`[a]`) where it has additionalProperties.
 */
function normalizeFieldPath(fieldPath: string, schema: SchemaNode): string | undefined {
  const re = /\.([^.[\]']+)|\['((?:[^'\\]|\\.)*)'\]/y;
  let m: RegExpExecArray | null;
  let out = "";
  let pos = 0;
  let node: SchemaNode | undefined = schema;
  while ((m = re.exec(fieldPath))) {
    pos = re.lastIndex;
    const name = m[1] ?? m[2]!.replace(/\\(.)/g, "$1");
    if (!node) return undefined;
    if (node.properties) {
      out += out.length > 0 ? `.${name}` : name;
      node = node.properties[name];
      if (!node) return undefined;
    } else if (typeof node.additionalProperties === "object") {
      out += `[${name}]`;
      node = node.additionalProperties;
    } else {
      return undefined;
    }
  }
  if (pos !== fieldPath.length) return undefined;
  return out;
}

const NO_SUCH_OVERLOAD = "no such overload";

/**
 * cel-go's text of an evaluation error, from the engine's (or this package's libraries') text,
 * where the two are known to correspond (checked against the API server by the e2e corpus);
 * undefined otherwise (the caller refuses).
 */
function celGoErrorText(message: string): string | undefined {
  if (message === "int divide by zero") return "division by zero";
  if (message === "int modulus by zero") return "modulus by zero";
  if (/^int overflow during /.test(message)) return "integer overflow";
  const key = /^field not found: (.*)$/.exec(message);
  if (key) return `no such key: ${key[1]}`;
  if (/^found no matching overload for /.test(message)) return NO_SUCH_OVERLOAD;
  if (/^(min|max) called on empty list$/.test(message)) return message;
  if (/^insert failed: key .* already exists$/.test(message)) return message;
  // The engine's list index access (it reports a length of -1).
  const listIndex = /^index (-?\d+) out of bounds \[0, -1\)$/.exec(message);
  if (listIndex) return `index out of bounds: ${listIndex[1]}`;
  // cel-go's texts, from strings-fixes.
  if (/^index out of range: -?\d+$/.test(message) || /^invalid substring range\. start: -?\d+, end: -?\d+$/.test(message)) return message;
  if (/^quantities must match the regular expression /.test(message) || message === "unable to parse quantity's suffix") return message;
  if (message === "No Major.Minor.Patch elements found" || message === "Version string empty") return message;
  if (/^error parsing regexp: missing closing \): `/.test(message)) return message;
  if (/^type conversion error from 'string' to '(int|double)'$/.test(message)) return message;
  if (/^Failed to parse duration/.test(message)) return "type conversion error from 'string' to 'google.protobuf.Duration'";
  if (/^Failed to parse timestamp/.test(message)) return "type conversion error from 'string' to 'google.protobuf.Timestamp'";
  return undefined;
}

function childPath(parent: string | undefined, name: string): string {
  return parent === undefined ? name : `${parent}.${name}`;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((x, i) => deepEqual(x, (b as unknown[])[i]));
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Ratcheting state: `equal` is whether the nearest correlatable node (this one, or an ancestor) equals its old value. */
interface Correlation {
  correlatable: boolean;
  old: unknown;
  equal: boolean;
}

interface Ctx {
  out: CustomResourceValidation;
  update: boolean;
}

function validateNode(ctx: Ctx, path: string | undefined, schema: SchemaNode, value: unknown, old: unknown, corr: Correlation | undefined, root: boolean): void {
  if (value === null || value === undefined) return;
  const rules = schema["x-kubernetes-validations"] ?? [];
  if (rules.length > 0) validateRules(ctx, path, schema, rules, value, old, corr, root);
  if (Array.isArray(value) && schema.items) {
    const listType = schema["x-kubernetes-list-type"];
    const keys = schema["x-kubernetes-list-map-keys"] ?? [];
    const oldItems = Array.isArray(old) ? old : [];
    value.forEach((item, i) => {
      let oldItem: unknown;
      if (listType === "map") oldItem = oldItems.find((o) => keys.every((k) => deepEqual((o as Record<string, unknown>)?.[k], (item as Record<string, unknown>)?.[k])));
      let next: Correlation | undefined;
      if (corr?.correlatable && listType === "map") next = oldItem === undefined ? { correlatable: false, old: undefined, equal: false } : { correlatable: true, old: oldItem, equal: deepEqual(item, oldItem) };
      else if (corr?.correlatable && listType === "set" && schema.items?.["x-kubernetes-validations"]?.length) {
        ctx.out.refused.push({ field: `${path ?? ""}[${i}]`, rule: "(items of a set list)", reason: "ratcheting correlation of set-list items is not reproduced" });
        return;
      } else if (corr) next = { correlatable: false, old: undefined, equal: corr.equal };
      validateNode(ctx, `${path ?? ""}[${i}]`, schema.items!, item, oldItem, next, false);
    });
    return;
  }
  if (typeof value === "object" && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const oldObj = old !== null && typeof old === "object" && !Array.isArray(old) ? (old as Record<string, unknown>) : undefined;
    const nextCorr = (k: string): Correlation | undefined => {
      if (!corr) return undefined;
      if (!corr.correlatable) return corr;
      if (root && (k === "apiVersion" || k === "kind")) return undefined;
      const o = oldObj?.[k];
      return o === undefined ? { correlatable: false, old: undefined, equal: false } : { correlatable: true, old: o, equal: deepEqual(obj[k], o) };
    };
    if (schema.additionalProperties !== undefined && typeof schema.additionalProperties === "object") {
      for (const [k, v] of Object.entries(obj)) validateNode(ctx, `${path ?? ""}[${k}]`, schema.additionalProperties, v, oldObj?.[k], nextCorr(k), false);
    }
    if (schema.properties) {
      for (const [k, v] of Object.entries(obj)) {
        const sub = schema.properties[k];
        if (sub) validateNode(ctx, childPath(path, k), sub, v, oldObj?.[k], nextCorr(k), false);
      }
    }
  }
}

function validateRules(ctx: Ctx, path: string | undefined, schema: SchemaNode, rules: ValidationRule[], value: unknown, old: unknown, corr: Correlation | undefined, root: boolean): void {
  const field = path ?? "<nil>";
  let self: CelInput;
  let oldSelf: CelInput | undefined;
  try {
    self = toCelValue(value, schema, root);
    oldSelf = old === undefined || old === null ? undefined : toCelValue(old, schema, root);
  } catch (e) {
    for (const r of rules) ctx.out.refused.push({ field, rule: r.rule, reason: refusalOf(e) ?? (e as Error).message });
    return;
  }
  const listHazard = hasListSemantics(schema);
  const ratchet = ctx.update && corr !== undefined && corr.equal;

  const celSchema = root ? withTypeAndObjectMeta(schema) : schema;
  for (const rule of rules) {
    const c = compiled(rule, celSchema);
    if (c.rule instanceof CelCompileError) {
      ctx.out.refused.push({ field, rule: rule.rule, reason: `the rule does not compile: ${c.rule.reason}` });
      continue;
    }
    const program = c.rule;
    const usesOldSelf = program.references.has("oldSelf");
    if (usesOldSelf && oldSelf === undefined && !rule.optionalOldSelf) continue;

    if (listHazard && ["_==_", "_!=_", "_+_", "@in"].some((f) => program.functions.has(f) || (c.message instanceof Object && "functions" in c.message && c.message.functions.has(f)))) {
      ctx.out.refused.push({ field, rule: rule.rule, reason: "==, != , + or in over a list with x-kubernetes-list-type set/map (order-insensitive semantics) is not reproduced" });
      continue;
    }
    // The activation of the rule (oldSelf optional with optionalOldSelf) and of its
    // messageExpression (never optional: the API server compiles a messageExpression with
    // oldSelf optional, yet `oldSelf.hasValue() ? ... : ...` there falls back to the rule's
    // message on create and on update alike, as the corpus shows).
    const bindings: Record<string, CelInput> = { self, ...(oldSelf !== undefined ? { oldSelf } : {}) };
    const ruleBindings: Record<string, CelInput> = rule.optionalOldSelf ? { self, oldSelf: oldSelf !== undefined ? optionalOf(oldSelf as never) : optionalNone() } : bindings;
    const result = program.evaluate(ruleBindings);
    if (result.kind === "refused") {
      ctx.out.refused.push({ field, rule: rule.rule, reason: result.reason });
      continue;
    }
    if (result.kind === "error") {
      const text = celGoErrorText(result.message);
      if (text === undefined) {
        ctx.out.refused.push({ field, rule: rule.rule, reason: `the rule fails to evaluate (${result.message}); the API server's error text is not reproduced` });
        continue;
      }
      // Evaluation errors are reported with the schema type as the value, and never ratcheted.
      const ruleText = rule.message && rule.message.length > 0 ? rule.message.trim() : rule.rule.trim();
      const detail = text === NO_SUCH_OVERLOAD
        ? `'no such overload': call arguments did not match a supported operator, function or macro signature for rule: ${ruleText}`
        : `${text} evaluating rule: ${ruleText}`;
      const body = `Invalid value: ${JSON.stringify(schema.type ?? "")}: ${detail}`;
      ctx.out.failures.push({ type: "FieldValueInvalid", field, body, message: `${field}: ${body}` });
      continue;
    }
    if (result.value === true) continue;
    if (typeof result.value !== "boolean") {
      ctx.out.refused.push({ field, rule: rule.rule, reason: "the rule does not evaluate to a bool" });
      continue;
    }
    let detail: string | undefined;
    if (c.message) {
      if (c.message instanceof CelCompileError) {
        ctx.out.refused.push({ field, rule: rule.rule, reason: `messageExpression does not compile: ${c.message.reason}` });
        continue;
      }
      const m = c.message.evaluate(bindings);
      if (m.kind === "refused") {
        ctx.out.refused.push({ field, rule: rule.rule, reason: `messageExpression: ${m.reason}` });
        continue;
      }
      if (m.kind === "value" && typeof m.value === "string") {
        const t = m.value.trim();
        if (t.length > 0 && t.length <= 5120 && !t.includes("\n") && Buffer.byteLength(t) <= 5120) detail = t;
      }
    }
    detail ??= rule.message && rule.message.length > 0 ? rule.message.trim() : `failed rule: ${rule.rule.trim()}`;
    let failurePath = path;
    if (rule.fieldPath) {
      const normalized = normalizeFieldPath(rule.fieldPath, schema);
      if (normalized === undefined) {
        ctx.out.refused.push({ field, rule: rule.rule, reason: `fieldPath ${rule.fieldPath} is not understood` });
        continue;
      }
      if (normalized.length > 0) failurePath = childPath(path, normalized);
    }
    const type = rule.reason ?? "FieldValueInvalid";
    const body = errorBody(type, value, schema.type, detail);
    const failure: RuleFailure = { type, field: failurePath ?? "<nil>", body, message: `${failurePath ?? "<nil>"}: ${body}` };
    if (!usesOldSelf && ratchet && root) {
      // The API server compares the whole stored object with the new one, metadata it sets included.
      ctx.out.refused.push({ field, rule: rule.rule, reason: "ratcheting of a failing rule on the root depends on metadata the API server sets (resourceVersion, managedFields)" });
    } else if (!usesOldSelf && ratchet) ctx.out.warnings.push(failure.message);
    else ctx.out.failures.push(failure);
  }
}

const costVerdicts = new WeakMap<SchemaNode, CostViolation[]>();

/** The estimated-cost refusals of a CRD schema (`crdCostVerdict`), once per schema object. */
function costRefusals(schema: SchemaNode): CostViolation[] {
  let v = costVerdicts.get(schema);
  if (!v) {
    v = crdCostVerdict(schema).violations;
    costVerdicts.set(schema, v);
  }
  return v;
}

/**
 * Evaluates every `x-kubernetes-validations` rule of `schema` (the CRD version's
 * openAPIV3Schema) against `object`, and against `oldObject` for an update (transition rules,
 * ratcheting). Refused rules are listed in `refused`: the verdict is then unknown. A schema the
 * API server refuses for its rules' estimated cost (`crdCostVerdict`) validates nothing: every
 * cost violation is returned as a refusal.
 */
export function validateCustomResource(schema: SchemaNode, object: unknown, oldObject?: unknown): CustomResourceValidation {
  const out: CustomResourceValidation = { failures: [], warnings: [], refused: [] };
  const costViolations = costRefusals(schema);
  if (costViolations.length > 0) {
    // The API server refuses such a CRD: no object is ever validated against it.
    for (const v of costViolations) out.refused.push({ field: v.field, rule: v.expression ?? "", reason: `the API server refuses this schema: ${v.field}: Forbidden: ${v.detail}` });
    return out;
  }
  const update = oldObject !== undefined && oldObject !== null;
  const corr: Correlation | undefined = update ? { correlatable: true, old: oldObject, equal: deepEqual(object, oldObject) } : undefined;
  validateNode({ out, update }, undefined, schema, object, update ? oldObject : undefined, corr, true);
  return out;
}

/** The API server's aggregated message of field errors (`utilerrors.NewAggregate(...).Error()`). */
export function aggregateMessage(messages: readonly string[]): string {
  const seen: string[] = [];
  for (const m of messages) if (!seen.includes(m)) seen.push(m);
  return seen.length === 1 ? seen[0]! : `[${seen.join(", ")}]`;
}

/** The Status message of a refused create or update: `<Kind>.<group> "<name>" is invalid: <errors>`. */
export function invalidMessage(kind: string, group: string, name: string, failures: readonly RuleFailure[]): string {
  return `${kind}.${group} ${JSON.stringify(name)} is invalid: ${aggregateMessage(failures.map((f) => f.message))}`;
}
