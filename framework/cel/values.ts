import { create } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import type { CelInput } from "@bufbuild/cel";
import { escapePropertyName } from "./escaping.ts";
import { refuse } from "./library/refuse.ts";

/** One `x-kubernetes-validations` rule (apiextensions.k8s.io/v1 ValidationRule). */
export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
  fieldPath?: string;
  optionalOldSelf?: boolean;
}

/** The parts of a structural OpenAPI v3 schema (`JSONSchemaProps`) that CEL typing reads. */
export interface SchemaNode {
  type?: string;
  format?: string;
  nullable?: boolean;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  "x-kubernetes-validations"?: ValidationRule[];
  "x-kubernetes-list-type"?: string;
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-map-type"?: string;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
  [key: string]: unknown;
}

/** JSON (as JSON.parse gives it, integral numbers as int) to a CEL value, untyped (`dyn`). */
function dynValue(value: unknown): CelInput {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") return Number.isInteger(value) ? BigInt(value) : value;
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (Array.isArray(value)) return value.map(dynValue);
  if (typeof value === "object") {
    const m = new Map<string, CelInput>();
    for (const [k, v] of Object.entries(value)) m.set(k, dynValue(v));
    return m;
  }
  return refuse(`a value of JavaScript type ${typeof value}`);
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

function timestampValue(s: string): CelInput {
  const m = RFC3339.exec(s);
  if (m && m[8]!.toUpperCase() !== "Z") return refuse(`date-time ${JSON.stringify(s)} has a UTC offset, which the API server keeps in the timestamp and the engine does not`);
  if (!m) return refuse(`date-time ${JSON.stringify(s)} is not in the strict RFC 3339 form the in-process evaluator parses`);
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[8]!.toUpperCase()}`);
  if (Number.isNaN(ms)) return refuse(`date-time ${JSON.stringify(s)} does not parse`);
  const nanos = m[7] ? Number(m[7].slice(1).padEnd(9, "0")) : 0;
  return create(TimestampSchema, { seconds: BigInt(Math.floor(ms / 1000)), nanos });
}

/**
 * A JSON value typed by its structural schema, as k8s.io/apiserver/pkg/cel/common
 * `UnstructuredToVal` gives it to CEL: integers as int, numbers as double, `date-time` strings
 * as timestamps, object properties under their escaped names (unescapable ones hidden),
 * `additionalProperties` maps with their raw keys, int-or-string and preserve-unknown-fields as
 * `dyn`. `root` hides metadata fields other than name and generateName, as the API server does.
 * Refuses (throws) formats `byte`, `date` and `duration`, whose conversion is not reproduced.
 */
export function toCelValue(value: unknown, schema: SchemaNode | undefined, root = false): CelInput {
  if (value === null || value === undefined) return null;
  if (!schema) return dynValue(value);
  if (schema["x-kubernetes-int-or-string"]) {
    if (typeof value === "number") return Number.isInteger(value) ? BigInt(value) : refuse("a non-integral int-or-string");
    return dynValue(value);
  }
  switch (schema.type) {
    case "string":
      if (typeof value !== "string") return dynValue(value);
      if (schema.format === "date-time") return timestampValue(value);
      if (schema.format === "byte" || schema.format === "date" || schema.format === "duration") return refuse(`string format ${schema.format}`);
      return value;
    case "integer":
      return typeof value === "number" && Number.isInteger(value) ? BigInt(value) : dynValue(value);
    case "number":
      return typeof value === "number" ? value : dynValue(value);
    case "boolean":
      return value as boolean;
    case "array":
      return Array.isArray(value) ? value.map((v) => toCelValue(v, schema.items)) : dynValue(value);
    case "object": {
      if (typeof value !== "object" || Array.isArray(value)) return dynValue(value);
      const entries = Object.entries(value as Record<string, unknown>);
      const m = new Map<string, CelInput>();
      if (schema.additionalProperties !== undefined && schema.additionalProperties !== false) {
        const item = typeof schema.additionalProperties === "object" ? schema.additionalProperties : undefined;
        for (const [k, v] of entries) m.set(k, toCelValue(v, item));
        return m;
      }
      const properties = schema.properties ?? {};
      if (schema["x-kubernetes-preserve-unknown-fields"]) {
        if (Object.keys(properties).length === 0 && !schema["x-kubernetes-embedded-resource"]) return dynValue(value);
        return refuse("an object with both properties and x-kubernetes-preserve-unknown-fields");
      }
      const embedded = schema["x-kubernetes-embedded-resource"] === true;
      for (const [k, v] of entries) {
        if ((root || embedded) && k === "metadata") {
          const meta = new Map<string, CelInput>();
          const raw = (v ?? {}) as Record<string, unknown>;
          if (typeof raw.name === "string") meta.set("name", raw.name);
          if (typeof raw.generateName === "string") meta.set("generateName", raw.generateName);
          m.set("metadata", meta);
          continue;
        }
        if ((root || embedded) && (k === "apiVersion" || k === "kind")) {
          m.set(k, dynValue(v));
          continue;
        }
        const child = properties[k];
        if (!child) continue;
        const name = escapePropertyName(k);
        if (name === undefined) continue;
        m.set(name, toCelValue(v, child));
      }
      return m;
    }
    default:
      return dynValue(value);
  }
}

/** Whether the schema holds a list with set or map semantics (equality and `+` differ from plain lists in Kubernetes CEL). */
export function hasListSemantics(schema: SchemaNode | undefined, depth = 0): boolean {
  if (!schema || depth > 64) return false;
  const lt = schema["x-kubernetes-list-type"];
  if (schema.type === "array" && (lt === "set" || lt === "map")) return true;
  if (schema.items && hasListSemantics(schema.items, depth + 1)) return true;
  if (typeof schema.additionalProperties === "object" && hasListSemantics(schema.additionalProperties, depth + 1)) return true;
  for (const child of Object.values(schema.properties ?? {})) if (hasListSemantics(child, depth + 1)) return true;
  return false;
}

/**
 * The schema CEL sees for the root of a custom resource: `apiVersion` and `kind` strings and
 * `metadata` with only `name` and `generateName` (unless the schema declares all four as
 * strings already: then it is returned as it is), mirrors
 * k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/model `WithTypeAndObjectMeta`.
 */
export function withTypeAndObjectMeta(schema: SchemaNode): SchemaNode {
  const p = schema.properties;
  const meta = p?.["metadata"]?.properties;
  // Left as it is when all four are declared as upstream requires.
  if (p?.["kind"]?.type === "string" && p["apiVersion"]?.type === "string" && p["metadata"]?.type === "object" && meta?.["name"]?.type === "string" && meta["generateName"]?.type === "string") return schema;
  return {
    ...schema,
    properties: {
      ...(schema.properties ?? {}),
      apiVersion: { type: "string" },
      kind: { type: "string" },
      metadata: { type: "object", properties: { name: { type: "string" }, generateName: { type: "string" } } },
    },
  };
}
