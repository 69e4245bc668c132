import { z } from "zod";

/**
 * One CEL validation rule as a CRD carries it in `x-kubernetes-validations`
 * (apiextensions.k8s.io/v1 `ValidationRule`).
 * - `rule`: a CEL expression over `self` (and `oldSelf` for a transition rule, which the API
 *   server only evaluates on update).
 * - `message` / `messageExpression`: the error text (a fixed string, or a CEL expression that
 *   yields one).
 * - `reason`: `FieldValueInvalid` (default), `FieldValueForbidden`, `FieldValueRequired` or
 *   `FieldValueDuplicate`; the HTTP 422 status cause type.
 * - `fieldPath`: a JSON path relative to the field carrying the rule (e.g. `.template.metadata.labels`)
 *   that the error is reported on.
 * - `optionalOldSelf`: evaluate the transition rule on create too, with `oldSelf` absent.
 */
export interface CelRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
  fieldPath?: string;
  optionalOldSelf?: boolean;
}

/** Keys this module writes into zod's global registry (`schema.meta()`); they are copied into the CRD schema as they are. */
interface KubeMeta {
  "x-kubernetes-validations"?: CelRule[];
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-map-type"?: "atomic" | "granular";
  "x-kubernetes-preserve-unknown-fields"?: true;
  "x-kubernetes-int-or-string"?: true;
  "x-kubernetes-embedded-resource"?: true;
}

function currentMeta(schema: z.ZodType): Record<string, unknown> {
  return (schema.meta() as Record<string, unknown> | undefined) ?? {};
}

function withMeta<S extends z.ZodType>(schema: S, meta: KubeMeta): S {
  return schema.meta({ ...currentMeta(schema), ...meta }) as S;
}

/**
 * Attaches CEL validation rules to a field (appended to rules already attached). The rules land
 * in the CRD as `x-kubernetes-validations` on that field and are evaluated by the API server;
 * `parse()` does not evaluate CEL. Returns a new schema (zod schemas are immutable).
 */
export function withCel<S extends z.ZodType>(schema: S, rules: CelRule[]): S {
  const existing = (currentMeta(schema)["x-kubernetes-validations"] as CelRule[] | undefined) ?? [];
  return withMeta(schema, { "x-kubernetes-validations": [...existing, ...rules] });
}

/**
 * Marks an array as a list map keyed by `keys` (`x-kubernetes-list-type: map`), so server-side
 * apply merges items by key. Every key must be a required (or defaulted) scalar of the items.
 */
export function listMap<S extends z.ZodArray>(schema: S, keys: string[]): S {
  return withMeta(schema, { "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": keys });
}

/** Marks an array as a set (`x-kubernetes-list-type: set`, scalar items, unique) or atomic (replaced whole). */
export function listType<S extends z.ZodArray>(schema: S, type: "set" | "atomic"): S {
  return withMeta(schema, { "x-kubernetes-list-type": type });
}

/**
 * Bounds a map (`z.record`) to `count` entries: `maxProperties` in the CRD (zod has no record
 * bound of its own, so the generator cannot derive it) and the same check in `parse()`. The
 * bound keeps the API server's estimated cost of CEL rules over the map within its limits.
 */
export function maxProperties<S extends z.ZodType<Record<string, unknown>>>(schema: S, count: number): S {
  const checked = schema.refine((m) => Object.keys(m).length <= count, { message: `must have at most ${count} entries` }) as unknown as S;
  return checked.meta({ ...currentMeta(schema), maxProperties: count } as never) as S;
}

/** Marks an object or map as atomic (`x-kubernetes-map-type: atomic`): replaced whole on apply. */
export function atomicMap<S extends z.ZodType>(schema: S): S {
  return withMeta(schema, { "x-kubernetes-map-type": "atomic" });
}

/**
 * An opaque object whose fields the API server keeps without checking
 * (`type: object`, `x-kubernetes-preserve-unknown-fields: true`); `T` is its TypeScript type,
 * e.g. `opaqueObject<IPodSpec>()`. `parse()` only checks that the value is a JSON object.
 */
export function opaqueObject<T extends object>(description?: string): z.ZodType<T> {
  return z
    .custom<T>((value) => typeof value === "object" && value !== null && !Array.isArray(value), {
      message: "expected an object",
    })
    .meta({ type: "object", "x-kubernetes-preserve-unknown-fields": true, ...(description ? { description } : {}) });
}

/** A value that is an integer or a string (`x-kubernetes-int-or-string`), like apimachinery's `IntOrString`. */
export function intOrString(): z.ZodType<number | string> {
  return z.union([z.int(), z.string()]).meta({ "x-kubernetes-int-or-string": true });
}
