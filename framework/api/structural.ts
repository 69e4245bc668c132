import { z } from "zod";
import type { IJSONSchemaProps } from "kubernetes-models/apiextensions.k8s.io/v1/JSONSchemaProps";

/** An OpenAPI v3 schema as a CRD carries it (`apiextensions.k8s.io/v1` `JSONSchemaProps`). */
export type JSONSchemaProps = IJSONSchemaProps;

type Node = Record<string, unknown>;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const SAFE_INT = Number.MAX_SAFE_INTEGER;

/**
 * Converts a zod schema into a structural OpenAPI v3 schema the API server accepts for a CRD.
 *
 * Uses zod 4's own `z.toJSONSchema` (target `openapi-3.0`, `io: "input"` so that defaulted
 * fields are not required), which already copies `.meta()` keys such as
 * `x-kubernetes-validations`, then rewrites the result so that it is structural
 * (apiextensions-apiserver `pkg/apiserver/schema`): `$ref`s inlined, `$schema` and
 * `additionalProperties: false` dropped, `additionalProperties: {}` (a loose object) turned
 * into `x-kubernetes-preserve-unknown-fields`, int-or-string unions collapsed, zod's implicit
 * integer bounds turned into `format: int32` / `int64`, literal unions turned into `enum`.
 *
 * @throws Error naming the JSON path when a part has no structural form (an intersection, a
 *   union of different shapes, a recursive schema, a node without a type).
 */
export function toStructuralSchema(schema: z.ZodType, where: string): JSONSchemaProps {
  const json = z.toJSONSchema(schema, { target: "openapi-3.0", io: "input", unrepresentable: "any" }) as Node;
  const definitions = { ...((json.$defs as Record<string, Node> | undefined) ?? {}), ...((json.definitions as Record<string, Node> | undefined) ?? {}) };
  const out = rewrite(json, definitions, where, 0);
  const violations = structuralViolations(out, where);
  if (violations.length > 0) {
    throw new Error(`schema of ${where} is not structural:\n  ${violations.join("\n  ")}\nGive every field a type, or mark opaque parts with opaqueObject().`);
  }
  return out;
}

function rewrite(input: Node, definitions: Record<string, Node>, path: string, depth: number): JSONSchemaProps {
  if (depth > 64) throw new Error(`schema at ${path} is recursive or nested deeper than 64 levels; CRD schemas must be finite`);
  let node: Node = { ...input };
  if (typeof node.$ref === "string") {
    const name = node.$ref.replace(/^#\/(\$defs|definitions)\//, "");
    const target = definitions[name];
    if (!target) throw new Error(`schema at ${path} refers to ${node.$ref}, which is not defined`);
    const { $ref: _ref, ...siblings } = node;
    node = { ...target, ...siblings };
  }
  for (const key of ["$schema", "$defs", "definitions", "$id", "id", "propertyNames", "title"]) delete node[key];

  if (node["x-kubernetes-int-or-string"] === true) {
    delete node.anyOf;
    delete node.oneOf;
    delete node.type;
    return node as JSONSchemaProps;
  }

  for (const unionKey of ["anyOf", "oneOf"] as const) {
    const branches = node[unionKey] as Node[] | undefined;
    if (!branches) continue;
    delete node[unionKey];
    node = { ...mergeUnion(branches, definitions, path, depth), ...node };
  }
  const allOf = node.allOf as Node[] | undefined;
  if (allOf?.length === 1) {
    delete node.allOf;
    node = { ...(rewrite(allOf[0]!, definitions, path, depth + 1) as Node), ...node };
  }
  if (node.allOf) throw new Error(`schema at ${path} is an intersection (allOf); CRD schemas need one merged z.object`);
  if ("const" in node) {
    node.enum = [node.const];
    delete node.const;
  }

  switch (node.type) {
    case "integer":
      if (node.maximum === INT32_MAX && (node.minimum === undefined || (node.minimum as number) >= INT32_MIN)) {
        node.format = "int32";
        delete node.maximum;
        if (node.minimum === INT32_MIN) delete node.minimum;
      } else if (node.maximum === SAFE_INT || node.minimum === -SAFE_INT) {
        node.format ??= "int64";
        if (node.maximum === SAFE_INT) delete node.maximum;
        if (node.minimum === -SAFE_INT) delete node.minimum;
      }
      break;
    case "string":
      if (node.format === "date-time") delete node.pattern;
      break;
    case "object": {
      const additional = node.additionalProperties;
      if (additional === false) delete node.additionalProperties;
      else if (additional === true || (isNode(additional) && Object.keys(additional).length === 0)) {
        delete node.additionalProperties;
        node["x-kubernetes-preserve-unknown-fields"] = true;
      } else if (isNode(additional)) {
        node.additionalProperties = rewrite(additional, definitions, `${path}[*]`, depth + 1);
      }
      const properties = node.properties as Record<string, Node> | undefined;
      if (properties) {
        if (Object.keys(properties).length === 0 && node["x-kubernetes-preserve-unknown-fields"] !== true) delete node.properties;
        else {
          const rewritten: Record<string, JSONSchemaProps> = {};
          for (const [name, child] of Object.entries(properties)) rewritten[name] = rewrite(child, definitions, `${path}.${name}`, depth + 1);
          node.properties = rewritten;
        }
      }
      if (Array.isArray(node.required) && node.required.length === 0) delete node.required;
      break;
    }
    case "array":
      if (isNode(node.items)) node.items = rewrite(node.items, definitions, `${path}[*]`, depth + 1);
      break;
    default:
      break;
  }
  return node as JSONSchemaProps;
}

/** A union is structural only when all branches are enums/literals of one type (merged into one `enum`), or one branch plus `null`. */
function mergeUnion(branches: Node[], definitions: Record<string, Node>, path: string, depth: number): Node {
  const rewritten = branches.map((branch) => rewrite(branch, definitions, path, depth + 1) as Node);
  const nonNull = rewritten.filter((b) => b.type !== "null" && !(Array.isArray(b.enum) && b.enum.length === 1 && b.enum[0] === null));
  const nullable = nonNull.length !== rewritten.length;
  if (nonNull.length === 1) return nullable ? { ...nonNull[0], nullable: true } : (nonNull[0] as Node);
  const types = new Set(nonNull.map((b) => b.type));
  if (types.size === 1 && nonNull.every((b) => Array.isArray(b.enum))) {
    const merged: Node = { type: nonNull[0]!.type, enum: nonNull.flatMap((b) => b.enum as unknown[]) };
    if (nullable) merged.nullable = true;
    return merged;
  }
  throw new Error(
    `schema at ${path} is a union of different shapes (${[...types].join(", ")}); CRD schemas cannot express that. ` +
      "Use one object with optional fields plus a CEL rule, z.enum for strings, or intOrString() for int-or-string",
  );
}

function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Lists every way `schema` breaks the structural-schema rules of apiextensions.k8s.io/v1
 * (one line per violation, with its JSON path), or nothing when it is structural:
 * every node has a `type` (unless int-or-string or preserve-unknown-fields), no `$ref`,
 * `$schema`, `definitions`, `allOf`/`anyOf`/`oneOf`/`not`, `additionalProperties: false`,
 * `properties` and `additionalProperties` never together, `items` a single schema,
 * list-map keys present and required or defaulted in the items, and `x-kubernetes-int-or-string`
 * without a type.
 */
export function structuralViolations(schema: JSONSchemaProps, path = "<root>"): string[] {
  const violations: string[] = [];
  walk(schema as Node, path, violations);
  return violations;
}

function walk(node: Node, path: string, violations: string[]): void {
  for (const key of ["$ref", "$schema", "definitions", "$defs", "allOf", "anyOf", "oneOf", "not", "const", "propertyNames"]) {
    if (key in node) violations.push(`${path}: has ${key}`);
  }
  const intOrString = node["x-kubernetes-int-or-string"] === true;
  const preserve = node["x-kubernetes-preserve-unknown-fields"] === true;
  if (intOrString && node.type !== undefined) violations.push(`${path}: x-kubernetes-int-or-string with a type`);
  if (!intOrString && !preserve && (typeof node.type !== "string" || node.type === "")) violations.push(`${path}: no type`);
  if (node.type === "null") violations.push(`${path}: type null`);
  if (node.additionalProperties === false) violations.push(`${path}: additionalProperties: false`);
  if (node.additionalProperties !== undefined && node.properties !== undefined) violations.push(`${path}: both properties and additionalProperties`);
  if ((node.properties !== undefined || node.additionalProperties !== undefined) && node.type !== "object") violations.push(`${path}: properties on a ${String(node.type)}`);
  if (node.items !== undefined && (!isNode(node.items) || node.type !== "array")) violations.push(`${path}: items must be one schema on an array`);
  if (node.type === "array" && node.items === undefined) violations.push(`${path}: array without items`);
  if (node["x-kubernetes-list-type"] === "map") {
    const items = isNode(node.items) ? node.items : {};
    const keys = (node["x-kubernetes-list-map-keys"] as string[] | undefined) ?? [];
    if (keys.length === 0) violations.push(`${path}: list-type map without x-kubernetes-list-map-keys`);
    const required = new Set((items.required as string[] | undefined) ?? []);
    const props = (items.properties as Record<string, Node> | undefined) ?? {};
    for (const key of keys) {
      const prop = props[key];
      if (!prop) violations.push(`${path}: list-map key ${key} is not a property of the items`);
      else if (!required.has(key) && prop.default === undefined) violations.push(`${path}: list-map key ${key} is neither required nor defaulted`);
    }
  }
  if (isNode(node.properties)) for (const [name, child] of Object.entries(node.properties)) if (isNode(child)) walk(child, `${path}.${name}`, violations);
  if (isNode(node.additionalProperties)) walk(node.additionalProperties, `${path}[*]`, violations);
  if (isNode(node.items)) walk(node.items, `${path}[*]`, violations);
}
