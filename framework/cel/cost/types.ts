import { escapePropertyName } from "../escaping.ts";
import { withTypeAndObjectMeta, type SchemaNode } from "../values.ts";
import type { Expr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { MAX_REQUEST_SIZE_BYTES, type CostRange } from "./units.ts";

/**
 * The types cel-go's checker deduces, as the cost estimator needs them, and the CEL
 * declarations of schema nodes with their size bounds (k8s.io/apiserver/pkg/cel/common
 * SchemaDeclType in Kubernetes v1.36).
 */

// Types

/** A CEL type as cel-go's checker deduces it; `param` is an unresolved type parameter (`[]`). */
export type CelType =
  | { kind: "int" | "uint" | "double" | "bool" | "string" | "bytes" | "null" | "duration" | "timestamp" | "dyn" | "type" | "param" }
  | { kind: "list"; elem: CelType }
  | { kind: "map"; key: CelType; value: CelType }
  | { kind: "object"; decl: DeclType }
  | { kind: "optional"; elem: CelType }
  /** Opaque types of the Kubernetes libraries: `net.IP`, `net.CIDR`. */
  | { kind: "opaque"; name: string }
  /** Object types of the Kubernetes libraries: `kubernetes.URL`, `kubernetes.Quantity`, ... */
  | { kind: "struct"; name: string };

export const T = {
  int: { kind: "int" },
  uint: { kind: "uint" },
  double: { kind: "double" },
  bool: { kind: "bool" },
  string: { kind: "string" },
  bytes: { kind: "bytes" },
  null: { kind: "null" },
  duration: { kind: "duration" },
  timestamp: { kind: "timestamp" },
  dyn: { kind: "dyn" },
  type: { kind: "type" },
  param: { kind: "param" },
} as const satisfies Record<string, CelType>;
export const listOf = (elem: CelType): CelType => ({ kind: "list", elem });
export const struct = (name: string): CelType => ({ kind: "struct", name });
export const opaque = (name: string): CelType => ({ kind: "opaque", name });
export const optionalOf = (elem: CelType): CelType => ({ kind: "optional", elem });

/**
 * The CEL declaration of a schema node, as k8s.io/apiserver/pkg/cel/common.SchemaDeclType
 * builds it: its CEL type, the most elements it can hold (a string's length in bytes, a
 * list's items, a map's entries) and the smallest JSON it serializes to.
 */
export interface DeclType {
  type: CelType;
  maxElements: bigint;
  minSerializedSize: bigint;
  fields?: Map<string, DeclType>;
  elem?: DeclType;
  key?: DeclType;
}

/** apiservercel.StringType, the key type of every schema map: its MaxElements is 0. */
const MAP_KEY_DECL: DeclType = { type: T.string, maxElements: 0n, minSerializedSize: 2n };

function maxStringLengthPerRequest(s: SchemaNode): bigint {
  if (s["x-kubernetes-int-or-string"]) return MAX_REQUEST_SIZE_BYTES - 2n;
  if (s.format === "duration" || s.format === "date-time") return 32n;
  if (s.format === "date") return 12n;
  return MAX_REQUEST_SIZE_BYTES - 2n;
}

const nonNegative = (v: unknown): bigint => (typeof v === "number" && v > 0 ? BigInt(Math.trunc(v)) : 0n);

/**
 * Mirrors SchemaDeclType in Kubernetes v1.36: `undefined` for a node CEL does not see (an
 * array without items, a map whose values are not seen, a schema without a type).
 * `resourceRoot` adds `apiVersion`, `kind` and `metadata.name`/`generateName` as the API server
 * does at the root of a custom resource and of an embedded resource.
 */
export function schemaDeclType(schema: SchemaNode, resourceRoot: boolean): DeclType | undefined {
  let s = schema;
  if (s["x-kubernetes-int-or-string"]) {
    return { type: T.dyn, minSerializedSize: 1n, maxElements: typeof s["maxLength"] === "number" ? nonNegative(s["maxLength"]) * 4n : maxStringLengthPerRequest(s) };
  }
  if (resourceRoot) s = withTypeAndObjectMeta(s);
  switch (s.type) {
    case "array": {
      if (!s.items) return undefined;
      const elem = schemaDeclType(s.items, !!s.items["x-kubernetes-embedded-resource"]);
      if (!elem) return undefined;
      const maxItems = typeof s["maxItems"] === "number" ? nonNegative(s["maxItems"]) : (MAX_REQUEST_SIZE_BYTES - 2n) / (elem.minSerializedSize + 1n);
      return { type: listOf(elem.type), elem, maxElements: maxItems, minSerializedSize: 2n };
    }
    case "object": {
      const ap = s.additionalProperties;
      if (ap && typeof ap === "object") {
        const value = schemaDeclType(ap, !!ap["x-kubernetes-embedded-resource"]);
        if (!value) return undefined;
        const maxProperties = typeof s["maxProperties"] === "number" ? nonNegative(s["maxProperties"]) : (MAX_REQUEST_SIZE_BYTES - 2n) / (value.minSerializedSize + 6n);
        return { type: { kind: "map", key: T.string, value: value.type }, key: MAP_KEY_DECL, elem: value, maxElements: maxProperties, minSerializedSize: 2n };
      }
      const fields = new Map<string, DeclType>();
      const required = new Set(Array.isArray(s["required"]) ? (s["required"] as string[]) : []);
      let minSize = 2n;
      for (const [name, prop] of Object.entries(s.properties ?? {})) {
        const field = schemaDeclType(prop, !!prop["x-kubernetes-embedded-resource"]);
        if (!field) continue;
        const escaped = escapePropertyName(name);
        if (escaped !== undefined) fields.set(escaped, field);
        if (required.has(name) && prop["default"] === undefined) minSize += BigInt(Buffer.byteLength(name)) + field.minSerializedSize + 4n;
      }
      const decl: DeclType = { type: T.dyn, fields, maxElements: 0n, minSerializedSize: minSize };
      decl.type = { kind: "object", decl };
      return decl;
    }
    case "string": {
      if (s.format === "byte") return { type: T.bytes, minSerializedSize: 2n, maxElements: typeof s["maxLength"] === "number" ? nonNegative(s["maxLength"]) : maxStringLengthPerRequest(s) };
      if (s.format === "duration") return { type: T.duration, minSerializedSize: 3n, maxElements: maxStringLengthPerRequest(s) };
      if (s.format === "date") return { type: T.timestamp, minSerializedSize: 12n, maxElements: maxStringLengthPerRequest(s) };
      if (s.format === "date-time") return { type: T.timestamp, minSerializedSize: 21n, maxElements: maxStringLengthPerRequest(s) };
      let max: bigint;
      if (typeof s["maxLength"] === "number") max = nonNegative(s["maxLength"]) * 4n;
      else if (Array.isArray(s["enum"]) && s["enum"].length > 0) max = (s["enum"] as unknown[]).reduce<bigint>((m, v) => (typeof v === "string" && BigInt(Buffer.byteLength(v)) > m ? BigInt(Buffer.byteLength(v)) : m), 0n);
      else max = maxStringLengthPerRequest(s);
      return { type: T.string, minSerializedSize: 2n, maxElements: max };
    }
    case "boolean":
      return { type: T.bool, minSerializedSize: 4n, maxElements: 0n };
    case "number":
      return { type: T.double, minSerializedSize: 1n, maxElements: 0n };
    case "integer":
      return { type: T.int, minSerializedSize: 1n, maxElements: 0n };
    default:
      return undefined;
  }
}

/** apiextensions-apiserver's maxCardinality: how many times data of this minimum size fits in a request. */
export function maxCardinality(decl: DeclType): bigint {
  return MAX_REQUEST_SIZE_BYTES / (decl.minSerializedSize + 1n);
}

/** Thrown inside the estimator when the checker's deduction cannot be reproduced; caught by `estimateCost`. */
export class Uncertain extends Error {}
export function uncertain(reason: string): never {
  throw new Uncertain(reason);
}

export function sameType(a: CelType, b: CelType): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case "list":
      return sameType(a.elem, (b as typeof a).elem);
    case "map":
      return sameType(a.key, (b as typeof a).key) && sameType(a.value, (b as typeof a).value);
    case "optional":
      return sameType(a.elem, (b as typeof a).elem);
    case "object":
      return a.decl === (b as typeof a).decl;
    case "opaque":
    case "struct":
      return a.name === (b as typeof a).name;
    default:
      return true;
  }
}

/** The type two branches or elements share, resolving type parameters; dyn when they differ. */
export function joinTypes(a: CelType, b: CelType): CelType {
  if (a.kind === "param") return b;
  if (b.kind === "param") return a;
  if (a.kind === "list" && b.kind === "list") return listOf(joinTypes(a.elem, b.elem));
  if (a.kind === "map" && b.kind === "map") return { kind: "map", key: joinTypes(a.key, b.key), value: joinTypes(a.value, b.value) };
  if (a.kind === "optional" && b.kind === "optional") return optionalOf(joinTypes(a.elem, b.elem));
  return sameType(a, b) ? a : T.dyn;
}

export function isScalar(t: CelType): boolean {
  switch (t.kind) {
    case "bool":
    case "double":
    case "duration":
    case "int":
    case "timestamp":
    case "uint":
      return true;
    case "optional":
      return isScalar(t.elem);
    default:
      return false;
  }
}

/** A node as cel-go's estimators see it (checker.AstNode). */
export interface AstNode {
  path: string[] | undefined;
  type: CelType;
  expr: Expr | undefined;
  computedSize: CostRange | undefined;
}
