/**
 * A MutatingAdmissionPolicy and its binding evaluated in-process, as kube-apiserver v1.36 applies
 * them to one request: no cluster and no Go. Mirrors k8s.io/apiserver/pkg/admission/plugin/policy/mutating
 * (`dispatcher.go` `dispatchInvocations`, `patch/json_patch.go`, `patch/smd.go`):
 * - matching, matchConditions and variables as for validating policies (`policy-frame.ts`);
 * - the mutations run in order, each seeing the object as the earlier ones left it (`object`);
 * - `JSONPatch`: the expression's list of `JSONPatch{op, path, from, value}` is applied as RFC 6902
 *   (evanphx/json-patch v4 upstream); a failing `test` operation leaves the object unchanged;
 * - `ApplyConfiguration`: the expression's `Object{...}` is merged into the object as
 *   server-side apply merges (structured-merge-diff): maps and structs field by field, scalars
 *   replaced; upstream refuses to touch atomic maps, structs and lists.
 *
 * The result is the object after this one policy; the API server then defaults it (native
 * types), may reinvoke policies (`reinvocationPolicy`), and validates it.
 *
 * What this cannot answer exactly is refused with the reason rather than answered differently:
 * anything the validating evaluation refuses (params not given, authorizer, ...), several params, a CEL evaluation or
 * patch error (the API server's message and its failurePolicy path are not reproduced), lists in
 * an apply configuration (list-type merges are not reproduced), several mutations in a policy
 * with variables (upstream evaluates variables lazily, on the object of the mutation that first
 * reads them), and a change to a field whose type is not known: without `schema` (the kind's
 * structural schema, as a CRD has it) only `metadata.labels` and `metadata.annotations` (string
 * maps on every kind) may be written, since the API server decodes the patched object into its
 * type and drops or refuses what does not fit.
 */
import fastJsonPatch from "fast-json-patch";
import { isCelList, isCelMap } from "@bufbuild/cel";
import { MUTATING_POLICY_ENVIRONMENT, type SchemaNode } from "../cel/index.ts";
import type { KubeObject } from "../meta/index.ts";
import type { AdmissionRequestInput, EvaluationOptions } from "./evaluate.ts";
import { configurationErrorMessage, matchAndResolveParams, policyFrame, POLICY_EXPRESSION_VARIABLES } from "./policy-frame.ts";
import type { MutatingAdmissionPolicy, MutatingAdmissionPolicyBinding } from "./types.ts";

/** What one mutating policy and binding did to one request's object. */
export type MutationVerdict =
  | { kind: "not-matched"; why: string }
  | {
    kind: "mutated";
    /** The object after every mutation (a copy; `null` when the request has no object to mutate). */
    object: KubeObject | null;
    /** Whether any mutation changed it. */
    changed: boolean;
  }
  | {
    kind: "denied";
    /** A configuration error under failurePolicy Fail (params not found, ...): the Status message; 403 Forbidden. */
    message: string;
  }
  | { kind: "refused"; reason: string };

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

class Refusal extends Error {}

/**
 * Evaluates `policy` through `binding` for `request` (see the module comment for the rules).
 * `options.schema`: the structural schema of the request's kind (a CRD's `openAPIV3Schema`),
 * typing `object` and saying which fields a mutation may write; `options.params`: the objects of
 * the policy's `paramKind`, each param one invocation in turn (as for validating policies).
 * @throws CelCompileError when an expression does not compile (the API server would have refused the policy).
 */
export function evaluateMutatingPolicy(
  policy: MutatingAdmissionPolicy, binding: MutatingAdmissionPolicyBinding, request: AdmissionRequestInput, options: EvaluationOptions = {},
): MutationVerdict {
  const { schema, params } = options;
  const resolved = matchAndResolveParams(policy, binding, request, params);
  if (resolved.kind === "not-matched" || resolved.kind === "refused") return resolved;
  if (resolved.kind === "configuration-error") {
    const message = configurationErrorMessage(policy, binding, resolved.error);
    return message ? { kind: "denied", message } : { kind: "mutated", object: request.object ?? null, changed: false };
  }
  // No params found with parameterNotFoundAction Allow: no invocation at all.
  if (resolved.params.length === 0) return { kind: "mutated", object: request.object ?? null, changed: false };
  if (resolved.params.length > 1) return { kind: "refused", reason: "several params: the API server applies them in its cache's order, which is not reproduced" };
  const frame = policyFrame(policy, request, schema, MUTATING_POLICY_ENVIRONMENT, resolved.params[0] ?? null);
  if (frame.kind !== "matched") return frame;
  if (!request.object) return { kind: "mutated", object: null, changed: false };
  if (schema && hasDefaults(schema)) {
    return { kind: "refused", reason: "the kind's schema has defaults, which the API server applies to the request and again after mutation; not reproduced in-process" };
  }
  if (policy.spec.mutations.length > 1 && (policy.spec.variables?.length ?? 0) > 0) {
    return { kind: "refused", reason: "several mutations with variables: the API server evaluates a variable on the object of the mutation that first reads it, which is not reproduced" };
  }
  let current = structuredClone(request.object) as KubeObject;
  let changed = false;
  try {
    for (const [i, mutation] of policy.spec.mutations.entries()) {
      const expression = mutation.patchType === "JSONPatch" ? mutation.jsonPatch.expression : mutation.applyConfiguration.expression;
      const r = frame.run(expression, POLICY_EXPRESSION_VARIABLES, i === 0 ? undefined : current);
      if ("refused" in r) return { kind: "refused", reason: `mutation ${i}: ${r.refused}` };
      const value = celToJson(r.value, `mutation ${i}`);
      const next = mutation.patchType === "JSONPatch"
        ? applyJsonPatch(current, value, schema, `mutation ${i}`)
        : applyConfiguration(current, value, schema, `mutation ${i}`);
      if (JSON.stringify(next) !== JSON.stringify(current)) changed = true;
      current = next;
    }
  } catch (err) {
    if (err instanceof Refusal) return { kind: "refused", reason: err.message };
    throw err;
  }
  return { kind: "mutated", object: current, changed };
}

/** A CEL result as JSON (as the API server serializes it into the patch); refused for values JSON cannot hold exactly. */
function celToJson(v: unknown, where: string): Json {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "bigint") {
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new Refusal(`${where}: the integer ${v} is beyond what JSON numbers hold exactly here`);
    return Number(v);
  }
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new Refusal(`${where}: ${v} has no JSON form`);
    return v;
  }
  if (isCelList(v) || Array.isArray(v)) return [...(v as Iterable<unknown>)].map((x) => celToJson(x, where));
  const entries = isCelMap(v) || v instanceof Map ? [...(v as ReadonlyMap<unknown, unknown>).entries()]
    : v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype ? Object.entries(v) : undefined;
  if (entries) {
    const out: { [key: string]: Json } = {};
    for (const [k, x] of entries) {
      if (typeof k !== "string") throw new Refusal(`${where}: a map key of type ${typeof k} in a patch`);
      out[k] = celToJson(x, where);
    }
    return out;
  }
  throw new Refusal(`${where}: a value of type ${(v as object)?.constructor?.name ?? typeof v} (bytes, timestamps, durations, ...) is not serialized into patches in-process`);
}

const METADATA_STRING_MAPS = new Set(["labels", "annotations"]);

/**
 * The schema at `path` (field names) below `schema`, or undefined when unknown. `metadata`
 * knows only its `labels` and `annotations` (string maps); without a schema nothing else is known.
 */
function schemaAt(schema: SchemaNode | undefined, path: readonly string[]): SchemaNode | undefined {
  if (path[0] === "metadata") {
    if (path.length === 1) return { type: "object", properties: { labels: STRING_MAP, annotations: STRING_MAP } };
    if (!METADATA_STRING_MAPS.has(path[1]!)) return undefined;
    return path.length === 2 ? STRING_MAP : path.length === 3 ? { type: "string" } : undefined;
  }
  let node = schema;
  for (const field of path) {
    if (!node || node["x-kubernetes-preserve-unknown-fields"]) return node?.["x-kubernetes-preserve-unknown-fields"] ? node : undefined;
    if (node.type === "object") {
      node = node.properties?.[field] ?? (typeof node.additionalProperties === "object" ? node.additionalProperties : undefined);
    } else if (node.type === "array" && /^(0|[1-9][0-9]*|-)$/.test(field)) {
      node = node.items;
    } else {
      return undefined;
    }
  }
  return node;
}

/**
 * The refusal for a write to a field whose type is not known: without a schema only labels and
 * annotations are. A custom resource's schema can be given; a built-in kind's cannot make the
 * answer exact, since the API server also defaults built-in objects with Go code.
 */
function unknownType(where: string, path: string): Refusal {
  return new Refusal(`${where}: the type of ${path} is not known in-process (give the schema of a custom resource; ` +
    "for built-in kinds the API server's Go defaulting is not reproduced)");
}

const STRING_MAP: SchemaNode = { type: "object", additionalProperties: { type: "string" } };

function hasDefaults(schema: SchemaNode): boolean {
  if (schema["default"] !== undefined) return true;
  const children = [...Object.values(schema.properties ?? {}), ...(typeof schema.additionalProperties === "object" ? [schema.additionalProperties] : []), ...(schema.items ? [schema.items] : [])];
  return children.some(hasDefaults);
}

/** Whether `value` has the JSON type `schema` gives (deeply); unknown fields are not allowed. */
function fits(value: Json, schema: SchemaNode): boolean {
  if (schema["x-kubernetes-preserve-unknown-fields"] && schema.type !== "array") return true;
  if (schema["x-kubernetes-int-or-string"]) return typeof value === "string" || (typeof value === "number" && Number.isInteger(value));
  if (value === null) return schema.nullable === true;
  switch (schema.type) {
    case "string":
      return typeof value === "string";
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "boolean":
      return typeof value === "boolean";
    case "array":
      return Array.isArray(value) && (!schema.items || value.every((x) => fits(x, schema.items!)));
    case "object": {
      if (typeof value !== "object" || Array.isArray(value)) return false;
      return Object.entries(value).every(([k, x]) => {
        const child = schema.properties?.[k] ?? (typeof schema.additionalProperties === "object" ? schema.additionalProperties : undefined);
        return child !== undefined && fits(x, child);
      });
    }
    default:
      return false;
  }
}

/** RFC 6901 pointer to its segments. @throws Refusal for forms whose handling differs between implementations. */
function pointerSegments(pointer: string, where: string): string[] {
  if (pointer === "" || !pointer.startsWith("/")) throw new Refusal(`${where}: the JSON Patch path ${JSON.stringify(pointer)} is not handled in-process`);
  return pointer.slice(1).split("/").map((s) => {
    if (/^-[0-9]/.test(s) || /^0[0-9]/.test(s)) throw new Refusal(`${where}: the JSON Patch index ${s} (negative or with a leading zero) is not handled in-process`);
    return s.replaceAll("~1", "/").replaceAll("~0", "~");
  });
}

/** JSON Patch `value` (a list of operations) applied to `obj`. */
function applyJsonPatch(obj: KubeObject, value: Json, schema: SchemaNode | undefined, where: string): KubeObject {
  if (!Array.isArray(value)) throw new Refusal(`${where}: a JSONPatch expression must give a list`);
  const ops = value.map((op) => {
    if (op === null || typeof op !== "object" || Array.isArray(op) || typeof op["op"] !== "string" || typeof op["path"] !== "string") {
      throw new Refusal(`${where}: a JSONPatch without op or path`);
    }
    const path = pointerSegments(op["path"], where);
    if (path[0] === "metadata" && path.length < 2) throw new Refusal(`${where}: ${op["path"]} replaces the whole metadata; not handled in-process`);
    if (op["op"] !== "test" && op["op"] !== "remove") {
      const target = schemaAt(schema, path);
      const v = op["op"] === "add" || op["op"] === "replace" ? op["value"] : undefined;
      if (!target) throw unknownType(where, op["path"]);
      if (v !== undefined && !fits(v, target)) throw new Refusal(`${where}: the value for ${op["path"]} does not have its schema's type; the API server's decoding error is not reproduced`);
    } else if (op["op"] === "remove" && !schemaAt(schema, path)) {
      throw unknownType(where, op["path"]);
    }
    if (typeof op["from"] === "string") {
      const source = schemaAt(schema, pointerSegments(op["from"], where));
      if (!source) throw unknownType(where, op["from"]);
      const target = schemaAt(schema, path);
      if (target && JSON.stringify(source) !== JSON.stringify(target)) throw new Refusal(`${where}: ${op["op"]} from ${op["from"]} to ${op["path"]}, whose schemas differ; the API server's decoding of the result is not reproduced`);
    }
    return op as unknown as fastJsonPatch.Operation;
  });
  try {
    return fastJsonPatch.applyPatch(structuredClone(obj), ops, true, true).newDocument as KubeObject;
  } catch (err) {
    // A failed `test` leaves the object unchanged (json_patch.go: jsonpatch.ErrTestFailed).
    if ((err as { name?: string }).name === "TEST_OPERATION_FAILED") return obj;
    throw new Refusal(`${where}: the JSON Patch fails (${(err as Error).message.split("\n")[0]}); the API server's error is not reproduced`);
  }
}

/** `patch` (an apply configuration) merged into `obj` as structured-merge-diff merges, see the module comment. */
function applyConfiguration(obj: KubeObject, patch: Json, schema: SchemaNode | undefined, where: string): KubeObject {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) throw new Refusal(`${where}: an ApplyConfiguration expression must give an Object`);
  const out = structuredClone(obj) as unknown as { [key: string]: Json };
  merge(out, patch, [], schema, where);
  return out as unknown as KubeObject;
}

function merge(live: { [key: string]: Json }, patch: { [key: string]: Json }, path: string[], schema: SchemaNode | undefined, where: string): void {
  for (const [key, value] of Object.entries(patch)) {
    const at = [...path, key];
    const shown = `.${at.join(".")}`;
    const node = schemaAt(schema, at);
    if (!node) throw unknownType(where, shown);
    if (value === null) throw new Refusal(`${where}: null at ${shown} in an apply configuration is not handled in-process`);
    if (Array.isArray(value)) throw new Refusal(`${where}: a list at ${shown}: list merges (atomic, set, map by keys) are not reproduced in-process`);
    if (typeof value === "object") {
      if (node["x-kubernetes-map-type"] === "atomic" || node["x-kubernetes-preserve-unknown-fields"]) {
        throw new Refusal(`${where}: ${shown} is atomic (or untyped) for the API server, which refuses or replaces it; not reproduced in-process`);
      }
      if (node.type !== "object") throw new Refusal(`${where}: ${shown} is not an object in the schema; the API server's conversion error is not reproduced`);
      const existing = live[key];
      const target = existing !== null && typeof existing === "object" && !Array.isArray(existing) ? existing : {};
      live[key] = target;
      merge(target, value, at, schema, where);
      continue;
    }
    if (!fits(value, node)) throw new Refusal(`${where}: the value at ${shown} does not have its schema's type; the API server's conversion error is not reproduced`);
    live[key] = value;
  }
}
