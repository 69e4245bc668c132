import { z } from "zod";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import { isLabelKey, isLabelValue, LABEL_MESSAGES, LABEL_PATTERNS } from "../meta/index.ts";
import { atomicMap, listMap, opaqueObject, withCel, type CelRule } from "./extensions.ts";

/** Longest label key: a 253-character DNS prefix, `/`, a 63-character name. */
const LABEL_KEY_MAX_LENGTH = 317;
/**
 * Schema bound of a label value. apps/v1 allows 63 bytes; the schema lets a little more through
 * so that the CEL rule, not `maxLength`, refuses 64..128 with apimachinery's message.
 */
const LABEL_VALUE_SCHEMA_MAX_LENGTH = 128;

function stringMap(maxProperties: number, keyMaxLength: number, valueMaxLength: number | undefined, what: string) {
  const value = valueMaxLength === undefined ? z.string() : z.string().max(valueMaxLength);
  return z
    .record(z.string().min(1).max(keyMaxLength), value)
    .refine((m) => Object.keys(m).length <= maxProperties, { message: `at most ${maxProperties} ${what}` })
    .meta({ maxProperties });
}

/** A CEL raw string literal (no escapes inside: the messages and patterns contain `\` and `'`). */
function celRaw(text: string): string {
  if (text.includes('"')) throw new Error(`celRaw: ${text} contains a double quote`);
  return `r"${text}"`;
}

/** CEL: the label key `k` (a CEL expression of type string) is valid (apimachinery `content.IsLabelKey`). */
export function labelKeyValidCel(k: string): string {
  const parts = `${k}.split('/')`;
  const nameOk = (name: string) => `(size(${name}) <= 63 && ${name}.matches(${celRaw(LABEL_PATTERNS.name)}))`;
  const prefix = `${parts}[0]`;
  return `(${parts}.size() == 1 ? ${nameOk(k)} : (${parts}.size() == 2 && size(${prefix}) > 0 && size(${prefix}) <= 253 && ` +
    `${prefix}.matches(${celRaw(LABEL_PATTERNS.prefix)}) && ${nameOk(`${parts}[1]`)}))`;
}

/** CEL: the first of apimachinery's messages for the invalid label key `k` (as `content.IsLabelKey` orders them). */
export function labelKeyMessageCel(k: string): string {
  const parts = `${k}.split('/')`;
  const two = `${parts}.size() == 2`;
  const prefix = `${parts}[0]`;
  const name = `(${two} ? ${parts}[1] : ${k})`;
  const m = LABEL_MESSAGES;
  return `(${parts}.size() > 2 ? ${celRaw(m.keyTooManyParts)} : ` +
    `${two} && size(${prefix}) == 0 ? ${celRaw(m.prefixEmpty)} : ` +
    `${two} && size(${prefix}) > 253 ? ${celRaw(m.prefixTooLong)} : ` +
    `${two} && !${prefix}.matches(${celRaw(LABEL_PATTERNS.prefix)}) ? ${celRaw(m.prefixInvalid)} : ` +
    `size(${name}) == 0 ? ${celRaw(m.nameEmpty)} : ` +
    `size(${name}) > 63 ? ${celRaw(m.nameTooLong)} : ${celRaw(m.nameInvalid)})`;
}

/** CEL: the label value `v` is valid (apimachinery `content.IsLabelValue`). */
export function labelValueValidCel(v: string): string {
  return `(size(${v}) <= 63 && ${v}.matches(${celRaw(LABEL_PATTERNS.value)}))`;
}

/** CEL: the first of apimachinery's messages for the invalid label value `v`. */
export function labelValueMessageCel(v: string): string {
  return `(size(${v}) > 63 ? ${celRaw(LABEL_MESSAGES.valueTooLong)} : ${celRaw(LABEL_MESSAGES.valueInvalid)})`;
}

/** CEL rules on a label map: every key and every value valid, with the first offender's apimachinery message. */
function labelMapRules(): CelRule[] {
  return [
    {
      rule: `self.all(k, ${labelKeyValidCel("k")})`,
      messageExpression: `self.filter(k, !${labelKeyValidCel("k")}).map(k, ${labelKeyMessageCel("k")})[0]`,
    },
    {
      rule: `self.all(k, ${labelValueValidCel("self[k]")})`,
      messageExpression: `self.filter(k, !${labelValueValidCel("self[k]")}).map(k, ${labelValueMessageCel("self[k]")})[0]`,
    },
  ];
}

/**
 * A label map (`map[string]string`), at most `maxProperties` entries (default 64; the bound keeps
 * CEL cost estimates within budget). Keys and values are validated as apimachinery's
 * `ValidateLabels` does (`content.IsLabelKey`, `content.IsLabelValue`: syntax and length) by CEL
 * rules with its messages; `parse()` runs the same checks.
 */
export function labels(maxProperties = 64) {
  const map = stringMap(maxProperties, LABEL_KEY_MAX_LENGTH, LABEL_VALUE_SCHEMA_MAX_LENGTH, "labels").superRefine((m, ctx) => {
    for (const [k, v] of Object.entries(m)) {
      for (const message of isLabelKey(k)) ctx.addIssue({ code: "custom", path: [k], message });
      for (const message of isLabelValue(v)) ctx.addIssue({ code: "custom", path: [k], message });
    }
  });
  return withCel(map, labelMapRules());
}

/** An annotation map (`map[string]string`), at most `maxProperties` entries (default 64). */
export function annotations(maxProperties = 64) {
  return stringMap(maxProperties, LABEL_KEY_MAX_LENGTH, undefined, "annotations");
}

/** A label key field: validated as `content.IsLabelKey` (CEL with apimachinery's messages; `parse()` too). */
function labelKey() {
  const key = z.string().min(1).max(LABEL_KEY_MAX_LENGTH).superRefine((k, ctx) => {
    for (const message of isLabelKey(k)) ctx.addIssue({ code: "custom", message });
  });
  return withCel(key, [{ rule: labelKeyValidCel("self"), messageExpression: labelKeyMessageCel("self") }]);
}

/** A label value field: validated as `content.IsLabelValue` (CEL with apimachinery's messages; `parse()` too). */
function labelValue() {
  const value = z.string().max(LABEL_VALUE_SCHEMA_MAX_LENGTH).superRefine((v, ctx) => {
    for (const message of isLabelValue(v)) ctx.addIssue({ code: "custom", message });
  });
  return withCel(value, [{ rule: labelValueValidCel("self"), messageExpression: labelValueMessageCel("self") }]);
}

/**
 * One `LabelSelectorRequirement`. Mirrors apimachinery `ValidateLabelSelectorRequirement`:
 * `values` must be non-empty for `In`/`NotIn` and empty for `Exists`/`DoesNotExist`; the key
 * is a valid label key and every value a valid label value (apimachinery's messages).
 */
export function labelSelectorRequirement() {
  const requirement = z.object({
    key: labelKey(),
    operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
    values: z.array(labelValue()).max(64).optional(),
  });
  return withCel(
    requirement.superRefine((r, ctx) => {
      const n = r.values?.length ?? 0;
      if ((r.operator === "In" || r.operator === "NotIn") && n === 0) {
        ctx.addIssue({ code: "custom", path: ["values"], message: "must be specified when `operator` is 'In' or 'NotIn'" });
      }
      if ((r.operator === "Exists" || r.operator === "DoesNotExist") && n > 0) {
        ctx.addIssue({ code: "custom", path: ["values"], message: "may not be specified when `operator` is 'Exists' or 'DoesNotExist'" });
      }
    }),
    [
      {
        rule: "!(self.operator in ['In', 'NotIn']) || (has(self.values) && size(self.values) > 0)",
        message: "must be specified when `operator` is 'In' or 'NotIn'",
        fieldPath: ".values",
        reason: "FieldValueRequired",
      },
      {
        rule: "!(self.operator in ['Exists', 'DoesNotExist']) || !has(self.values) || size(self.values) == 0",
        message: "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        fieldPath: ".values",
        reason: "FieldValueForbidden",
      },
    ],
  );
}

/**
 * A metav1 `LabelSelector`: `matchLabels` (ANDed equalities) and `matchExpressions` (at most 32),
 * `x-kubernetes-map-type: atomic` as in the Kubernetes OpenAPI (an apply replaces it whole).
 * Empty matches everything; callers that forbid that add a CEL rule (see `nonEmptySelectorRule`).
 */
export function labelSelector() {
  return atomicMap(z.object({
    matchLabels: labels().optional(),
    matchExpressions: z.array(labelSelectorRequirement()).max(32).optional(),
  }));
}

/** CEL on a LabelSelector field: it selects something (apps/v1 rejects an empty selector with this message). */
export const nonEmptySelectorRule = {
  rule: "(has(self.matchLabels) && size(self.matchLabels) > 0) || (has(self.matchExpressions) && size(self.matchExpressions) > 0)",
  message: "empty selector is invalid for deployment",
} as const;

/**
 * A CEL expression, true when the label selector at `selector` (a CEL path such as
 * `self.selector`) matches the label map at `labelsPath` (such as `self.template.metadata.labels`),
 * with `labelsParentPath` the object holding it (absence of either means no labels).
 * Mirrors apimachinery `labels.Selector.Matches`: every matchLabels entry present with an equal
 * value; In (key present, value listed), NotIn (key absent or value not listed), Exists,
 * DoesNotExist.
 */
export function selectorMatchesLabelsCel(selector: string, labelsParentPath: string, labelsPath: string): string {
  const hasLabels = `(has(${labelsParentPath}) && has(${labelsPath}))`;
  const present = (key: string) => `(${hasLabels} && ${key} in ${labelsPath})`;
  const matchLabels =
    `(!has(${selector}.matchLabels) || ${selector}.matchLabels.all(k, ${present("k")} && ${labelsPath}[k] == ${selector}.matchLabels[k]))`;
  const listed = `(has(e.values) && e.values.exists(v, v == ${labelsPath}[e.key]))`;
  const matchExpressions =
    `(!has(${selector}.matchExpressions) || ${selector}.matchExpressions.all(e, ` +
    `e.operator == 'In' ? (${present("e.key")} && ${listed}) : ` +
    `e.operator == 'NotIn' ? (!${present("e.key")} || !${listed}) : ` +
    `e.operator == 'Exists' ? ${present("e.key")} : ` +
    `!${present("e.key")}))`;
  return `${matchLabels} && ${matchExpressions}`;
}

/** The metadata of a pod template: labels, annotations, finalizers, name, generateName. */
export function templateMetadata() {
  return z.object({
    name: z.string().max(253).optional(),
    generateName: z.string().max(253).optional(),
    labels: labels().optional(),
    annotations: annotations().optional(),
    finalizers: z.array(z.string().max(317)).max(32).optional(),
  });
}

/**
 * A core/v1 `PodTemplateSpec`: typed metadata and the pod spec kept opaque in the CRD
 * (`x-kubernetes-preserve-unknown-fields`; the API server validates it when pods are created),
 * typed as kubernetes-models' `IPodSpec` in TypeScript.
 */
export function podTemplateSpec() {
  return z.object({
    metadata: templateMetadata().optional(),
    spec: opaqueObject<IPodSpec>("Specification of the desired behavior of the pod (core/v1 PodSpec; not checked by this CRD's schema)."),
  });
}

/**
 * A list of status conditions like the apps/v1 ones (`type`, `status`, `lastTransitionTime`,
 * `reason`, `message`), keyed by `type` (`x-kubernetes-list-type: map`).
 */
export function conditions() {
  return listMap(
    z.array(
      z.object({
        type: z.string().min(1).max(316).describe("Type of the condition."),
        status: z.enum(["True", "False", "Unknown"]).describe("Status of the condition: True, False or Unknown."),
        lastTransitionTime: z.iso.datetime().optional().describe("Last time the condition changed status (RFC 3339)."),
        reason: z.string().max(1024).optional().describe("One-word CamelCase reason for the last transition."),
        message: z.string().max(32768).optional().describe("Human-readable details of the last transition."),
      }),
    ).max(32),
    ["type"],
  );
}
