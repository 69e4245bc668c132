import type { SchemaNode, ValidationRule } from "../../../../framework/cel/index.ts";

/**
 * One differential case: a field of a test CRD with `schema` (carrying the rules), set to
 * `value` in a dry-run create, or changed from `old` to `value` in a dry-run update.
 */
export interface CelCase {
  library: string;
  schema: SchemaNode;
  value: unknown;
  old?: unknown;
}

/** A boolean rule with a fixed message. */
export function ruleCase(library: string, schema: SchemaNode, rule: string, value: unknown, extra: Partial<ValidationRule> = {}, old?: unknown): CelCase {
  return { library, schema: { ...schema, "x-kubernetes-validations": [{ rule, message: "rule failed", ...extra }] }, value, ...(old !== undefined ? { old } : {}) };
}

/**
 * A value case: the rule is `false` and the message is `string(<expr>)`, so the API server's
 * message carries the expression's value (or the fixed message when it fails to evaluate).
 */
export function valueCase(library: string, schema: SchemaNode, expr: string, value: unknown): CelCase {
  return {
    library,
    schema: { ...schema, "x-kubernetes-validations": [{ rule: "false", message: "evaluation failed", messageExpression: `string(${expr})` }] },
    value,
  };
}

export const STRING: SchemaNode = { type: "string", maxLength: 64 };
export const INT: SchemaNode = { type: "integer", format: "int64" };
export const NUMBER: SchemaNode = { type: "number" };
export const INT_LIST: SchemaNode = { type: "array", maxItems: 16, items: { type: "integer", format: "int64" } };
export const STRING_LIST: SchemaNode = { type: "array", maxItems: 16, items: { type: "string", maxLength: 32 } };

/** Every expression against every value. */
export function cross(library: string, schema: SchemaNode, exprs: string[], values: unknown[]): CelCase[] {
  return exprs.flatMap((e) => values.map((v) => valueCase(library, schema, e, v)));
}
