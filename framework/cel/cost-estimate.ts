import type { Expr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { escapePropertyName } from "./escaping.ts";
import { parseWithOptionalSyntax } from "./optional-syntax.ts";
import { expandTwoVarMacros, idAllocator, MAP_INSERT, TwoVarMacroError } from "./two-var-macros.ts";
import { withTypeAndObjectMeta, type SchemaNode } from "./values.ts";

/**
 * The static cost estimate of a CEL expression, as kube-apiserver v1.36 computes it when a
 * CustomResourceDefinition is created: cel-go v0.26's `checker.Cost` over the type-checked
 * expression, with Kubernetes' `library.CostEstimator` for its libraries, the estimators of
 * cel-go's ext lists and sets libraries, `has()` free (`PresenceTestHasCost(false)`), and sizes
 * from the schema (`maxLength`, `maxItems`, `maxProperties`, otherwise what fits in a 3 MiB
 * request). Costs are in CEL cost units, uint64 saturating at 2^64 - 1 as cel-go's.
 *
 * The estimate needs the type of every node. `estimateCost` types what the Kubernetes
 * environment's declarations make certain (schema-typed variables, literals, macros, and the
 * functions listed below); for anything else (an operand of type `dyn` where the overload would depend on it, a function whose
 * signature is not listed) it answers `undefined` rather than a guess.
 */

/** A cost or size range in CEL units; both bounds are uint64 (0 .. 2^64 - 1). */
export interface CostRange {
  min: bigint;
  max: bigint;
}

const MAX_UINT64 = (1n << 64n) - 1n;
const TWO_TO_64 = 2 ** 64;
/** celconfig.MaxRequestSizeBytes: 3 MiB. */
const MAX_REQUEST_SIZE_BYTES = 3n * 1024n * 1024n;
const STRING_TRAVERSAL = 0.1;
const REGEX_LENGTH = 0.25;
const LIST_CREATE_BASE = 10n;
const MAP_CREATE_BASE = 30n;

function fixed(n: bigint): CostRange {
  return { min: n, max: n };
}
const UNKNOWN: CostRange = { min: 0n, max: MAX_UINT64 };
const addSat = (x: bigint, y: bigint): bigint => (x + y > MAX_UINT64 ? MAX_UINT64 : x + y);
const mulSat = (x: bigint, y: bigint): bigint => (x * y > MAX_UINT64 ? MAX_UINT64 : x * y);
/** cel-go's multiplyByCostFactor: float64 product, rounded up, saturating. */
function factorSat(x: bigint, y: number): bigint {
  const xf = Number(x);
  if (xf > 0 && y > 0 && xf > Number(MAX_UINT64) / y) return MAX_UINT64;
  const ceil = Math.ceil(xf * y);
  return ceil >= TWO_TO_64 ? MAX_UINT64 : BigInt(ceil);
}
const add = (a: CostRange, b: CostRange): CostRange => ({ min: addSat(a.min, b.min), max: addSat(a.max, b.max) });
const mul = (a: CostRange, b: CostRange): CostRange => ({ min: mulSat(a.min, b.min), max: mulSat(a.max, b.max) });
const factor = (a: CostRange, y: number): CostRange => ({ min: factorSat(a.min, y), max: factorSat(a.max, y) });
const union = (a: CostRange, b: CostRange): CostRange => ({ min: a.min < b.min ? a.min : b.min, max: a.max > b.max ? a.max : b.max });

// ---------------------------------------------------------------------------------------------
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

const T = {
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
const listOf = (elem: CelType): CelType => ({ kind: "list", elem });
const struct = (name: string): CelType => ({ kind: "struct", name });
const opaque = (name: string): CelType => ({ kind: "opaque", name });
const optionalOf = (elem: CelType): CelType => ({ kind: "optional", elem });

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
class Uncertain extends Error {}
function uncertain(reason: string): never {
  throw new Uncertain(reason);
}

function sameType(a: CelType, b: CelType): boolean {
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
function joinTypes(a: CelType, b: CelType): CelType {
  if (a.kind === "param") return b;
  if (b.kind === "param") return a;
  if (a.kind === "list" && b.kind === "list") return listOf(joinTypes(a.elem, b.elem));
  if (a.kind === "map" && b.kind === "map") return { kind: "map", key: joinTypes(a.key, b.key), value: joinTypes(a.value, b.value) };
  return sameType(a, b) ? a : T.dyn;
}

function isScalar(t: CelType): boolean {
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

const NUMERIC_OR_SAME = new Set(["int", "uint", "double"]);
const SORTABLE = new Set(["int", "uint", "double", "bool", "duration", "timestamp", "string", "bytes"]);
const NAMESPACES = new Set(["sets", "lists", "strings", "ip", "format", "optional", "jsonpatch", "math", "base64", "cel"]);
const TYPE_IDENTS = new Set(["int", "uint", "double", "string", "bool", "bytes", "list", "map", "null_type", "type", "dyn"]);
const FORMAT_NAMES = new Set(["dns1123Label", "dns1123Subdomain", "dns1035Label", "qualifiedName", "dns1123LabelPrefix", "dns1123SubdomainPrefix", "dns1035LabelPrefix", "labelValue", "uri", "uuid", "byte", "date", "datetime"]);

/** A call's deduced result type and the checker's overload ids (only those the estimator distinguishes are exact). */
interface Signature {
  result: CelType;
  overloads: string[];
}

const sig = (result: CelType, ...overloads: string[]): Signature => ({ result, overloads: overloads.length ? overloads : ["other"] });

function requireKind(t: CelType | undefined, ...kinds: CelType["kind"][]): void {
  if (!t || !kinds.includes(t.kind)) uncertain(`an operand of type ${t?.kind ?? "none"}`);
}

/**
 * The signature of a call in the Kubernetes v1.36 CEL environment given its operand types.
 * Throws `Uncertain` for an operand of type dyn where cel-go would keep several overloads whose
 * costs differ, and for a function not listed.
 */
function signatureOf(name: string, target: CelType | undefined, args: CelType[], constFieldName?: string): Signature {
  const [a, b] = args;
  switch (name) {
    case "_&&_":
      return sig(T.bool, "logical_and");
    case "_||_":
      return sig(T.bool, "logical_or");
    case "!_":
    case "@not_strictly_false":
      return sig(T.bool);
    case "_==_":
      return sig(T.bool, "equals");
    case "_!=_":
      return sig(T.bool, "not_equals");
    case "_<_":
    case "_<=_":
    case "_>_":
    case "_>=_": {
      const op = { "_<_": "less", "_<=_": "less_equals", "_>_": "greater", "_>=_": "greater_equals" }[name];
      if (a!.kind === "dyn" || b!.kind === "dyn") uncertain(`${name} on dyn`);
      if (a!.kind === "string") return sig(T.bool, `${op}_string`);
      if (a!.kind === "bytes") return sig(T.bool, `${op}_bytes`);
      return sig(T.bool);
    }
    case "@in":
      if (b!.kind === "list") return sig(T.bool, "in_list");
      if (b!.kind === "map") return sig(T.bool, "in_map");
      return uncertain("in over dyn");
    case "_+_":
      if (a!.kind === "dyn" || b!.kind === "dyn") uncertain("+ on dyn");
      if (a!.kind === "string") return sig(T.string, "add_string");
      if (a!.kind === "bytes") return sig(T.bytes, "add_bytes");
      if (a!.kind === "list") return sig(joinTypes(a!, b!), "add_list");
      if (a!.kind === "timestamp" || b!.kind === "timestamp") return sig(T.timestamp);
      if (a!.kind === "duration") return sig(T.duration);
      if (NUMERIC_OR_SAME.has(a!.kind)) return sig(a!);
      return uncertain(`+ on ${a!.kind}`);
    case "_-_":
      if (a!.kind === "timestamp") return sig(b!.kind === "timestamp" ? T.duration : T.timestamp);
      requireKind(a, "int", "uint", "double", "duration");
      return sig(a!);
    case "_*_":
    case "_/_":
    case "_%_":
    case "-_":
      requireKind(a, "int", "uint", "double");
      return sig(a!);
    case "_?_:_":
      return sig(joinTypes(b!, args[2]!), "conditional");
    case "_[_]":
      if (a!.kind === "list") return sig(a!.elem, "index_list");
      if (a!.kind === "map") return sig(a!.value, "index_map");
      return uncertain(`index of ${a!.kind}`);
    case "size":
      return sig(T.int);
    case "int":
    case "uint":
    case "double":
    case "bool":
    case "duration":
    case "timestamp":
      if (args.length !== 1) uncertain(`${name}() with ${args.length} arguments`);
      return sig(T[name]);
    case "string":
      if (args.length !== 1) uncertain("string() arity");
      return sig(T.string, a!.kind === "bytes" ? "bytes_to_string" : a!.kind === "dyn" ? uncertain("string(dyn)") : "other");
    case "bytes":
      return sig(T.bytes, a!.kind === "string" ? "string_to_bytes" : a!.kind === "dyn" ? uncertain("bytes(dyn)") : "other");
    case "type":
      return sig(T.type);
    case "dyn":
      return sig(T.dyn);
    case "matches":
      return target ? sig(T.bool, "matches_string") : sig(T.bool, "matches");
    case "contains":
      requireKind(target, "string");
      return sig(T.bool, "contains_string");
    case "startsWith":
      requireKind(target, "string");
      return sig(T.bool, "starts_with_string");
    case "endsWith":
      requireKind(target, "string");
      return sig(T.bool, "ends_with_string");
    case "getFullYear":
    case "getMonth":
    case "getDate":
    case "getDayOfMonth":
    case "getDayOfWeek":
    case "getDayOfYear":
    case "getHours":
    case "getMinutes":
    case "getSeconds":
    case "getMilliseconds":
      return sig(T.int);
    // ext strings v2
    case "charAt":
    case "lowerAscii":
    case "upperAscii":
    case "replace":
    case "substring":
    case "trim":
      requireKind(target, "string");
      return sig(T.string);
    case "indexOf":
    case "lastIndexOf":
      requireKind(target, "string", "list");
      return sig(T.int);
    case "split":
      requireKind(target, "string");
      return sig(listOf(T.string));
    case "join":
      requireKind(target, "list");
      return sig(T.string);
    case "format":
      requireKind(target, "string");
      return sig(T.string, "string_format");
    case "strings.quote":
      return sig(T.string, "strings_quote");
    // ext lists v3 and the Kubernetes lists library
    case "slice":
      requireKind(target, "list");
      return sig(target!, "list_slice");
    case "flatten": {
      requireKind(target, "list");
      const elem = (target as { elem: CelType }).elem;
      return sig(elem.kind === "list" ? elem : uncertain("flatten() of a list of non-lists"), args.length ? "list_flatten_int" : "list_flatten");
    }
    case "lists.range":
      return sig(listOf(T.int), "lists_range");
    case "reverse":
      requireKind(target, "list");
      return sig(target!, "list_reverse");
    case "distinct":
      requireKind(target, "list");
      return sig(target!, "list_distinct");
    case "sort": {
      requireKind(target, "list");
      const elem = (target as { elem: CelType }).elem;
      if (!SORTABLE.has(elem.kind)) uncertain(`sort() of a list of ${elem.kind}`);
      return sig(target!, `list_${elem.kind}_sort`);
    }
    case "isSorted":
      requireKind(target, "list");
      return sig(T.bool);
    case "sum":
    case "min":
    case "max": {
      requireKind(target, "list");
      const elem = (target as { elem: CelType }).elem;
      if (elem.kind === "dyn" || elem.kind === "param") uncertain(`${name}() of a list of dyn`);
      return sig(elem);
    }
    case "sets.contains":
      return sig(T.bool, "list_sets_contains_list");
    case "sets.intersects":
      return sig(T.bool, "list_sets_intersects_list");
    case "sets.equivalent":
      return sig(T.bool, "list_sets_equivalent_list");
    // regex
    case "find":
      return sig(T.string);
    case "validate":
      return sig(optionalOf(listOf(T.string)));
    case "findAll":
      return sig(listOf(T.string));
    // url
    case "url":
      return sig(struct("kubernetes.URL"));
    case "isURL":
      return sig(T.bool);
    case "getScheme":
    case "getHost":
    case "getHostname":
    case "getPort":
    case "getEscapedPath":
      return sig(T.string);
    case "getQuery":
      return sig({ kind: "map", key: T.string, value: listOf(T.string) });
    // quantity
    case "quantity":
      return sig(struct("kubernetes.Quantity"));
    case "isQuantity":
    case "isInteger":
      return sig(T.bool);
    case "sign":
    case "asInteger":
    case "compareTo":
      return sig(T.int);
    case "asApproximateFloat":
      return sig(T.double);
    case "add":
    case "sub":
      return sig(struct("kubernetes.Quantity"));
    case "isGreaterThan":
    case "isLessThan":
      return sig(T.bool);
    // semver
    case "semver":
      return sig(struct("kubernetes.Semver"));
    case "isSemver":
      return sig(T.bool);
    case "major":
    case "minor":
    case "patch":
      return sig(T.int);
    // ip and cidr
    case "ip":
      if (target) return sig(opaque("net.IP"), "cidr_ip");
      return sig(opaque("net.IP"), "ip");
    case "isIP":
    case "isCIDR":
    case "ip.isCanonical":
    case "isUnspecified":
    case "isLoopback":
    case "isLinkLocalMulticast":
    case "isLinkLocalUnicast":
    case "isGlobalUnicast":
      return sig(T.bool);
    case "family":
    case "prefixLength":
      return sig(T.int);
    case "cidr":
    case "masked":
      return sig(opaque("net.CIDR"));
    case "containsIP":
      return sig(T.bool, a!.kind === "string" ? "cidr_contains_ip_string" : a!.kind === "dyn" ? uncertain("containsIP(dyn)") : "cidr_contains_ip_ip");
    case "containsCIDR":
      return sig(T.bool, a!.kind === "string" ? "cidr_contains_cidr_string" : a!.kind === "dyn" ? uncertain("containsCIDR(dyn)") : "cidr_contains_cidr");
    // optional
    case "_?._":
    case "_[?_]": {
      const operand = a!.kind === "optional" ? a!.elem : a!;
      let elem: CelType;
      if (operand.kind === "object" && name === "_?._") {
        const field = operand.decl.fields?.get(constFieldName ?? "");
        if (!field) return uncertain("an optional select of an unknown field");
        elem = field.type;
      } else if (operand.kind === "map") elem = operand.value;
      else if (operand.kind === "list" && name === "_[?_]") elem = operand.elem;
      else if (operand.kind === "dyn") elem = T.dyn;
      else return uncertain(`${name} on ${operand.kind}`);
      return sig(optionalOf(elem));
    }
    case MAP_INSERT:
      if (args.length === 3) return sig(joinTypes(a!, { kind: "map", key: b!, value: args[2]! }));
      return sig(joinTypes(a!, b!));
    case "optional.of":
    case "optional.ofNonZeroValue":
      return sig(optionalOf(a!));
    case "optional.none":
      return sig(optionalOf(T.dyn));
    case "format.named":
      return sig(optionalOf(struct("kubernetes.NamedFormat")));
    case "hasValue":
      return sig(T.bool);
    case "value":
      requireKind(target, "optional");
      return sig((target as { elem: CelType }).elem);
    case "orValue":
      requireKind(target, "optional");
      return sig(joinTypes((target as { elem: CelType }).elem, a!));
    case "or":
      requireKind(target, "optional");
      return sig(target!);
    default:
      return uncertain(`the function ${name}() is not typed by the estimator`);
  }
}

// ---------------------------------------------------------------------------------------------
// The coster (cel-go checker/cost.go), over @bufbuild/cel's macro-expanded AST.

interface EntrySize {
  container: "list" | "map";
  key: CostRange;
  val: CostRange;
}

interface LocalVar {
  path: string[];
  size: CostRange | undefined;
  entrySize: EntrySize | undefined;
  type: CelType;
}

/** A node as cel-go's estimators see it (checker.AstNode). */
interface AstNode {
  path: string[] | undefined;
  type: CelType;
  expr: Expr | undefined;
  computedSize: CostRange | undefined;
}

/** What an expression's variables are: their types, and the declaration sizes are looked up in. */
export interface CostEnvironment {
  /** Variables and their types (`self`, `oldSelf`: the rule's node; `oldSelf` optional with optionalOldSelf). */
  variables: Readonly<Record<string, CelType>>;
  /** The declaration paths (`self.a.@items`) are resolved in: the rule's node. */
  root: DeclType;
}

const ACCUMULATORS = new Set(["__result__", "@result"]);

class Coster {
  readonly paths = new Map<bigint, string[]>();
  readonly sizes = new Map<bigint, CostRange>();
  readonly entrySizes = new Map<bigint, EntrySize>();
  readonly types = new Map<bigint, CelType>();
  readonly locals = new Map<string, LocalVar[]>();
  readonly env: CostEnvironment;
  constructor(env: CostEnvironment) {
    this.env = env;
  }

  typeOf(e: Expr): CelType {
    const t = this.types.get(e.id);
    if (!t) return uncertain("an untyped node");
    return t;
  }

  peek(name: string): LocalVar | undefined {
    const s = this.locals.get(name);
    return s && s.length > 0 ? s[s.length - 1] : undefined;
  }
  push(name: string, v: LocalVar): void {
    const s = this.locals.get(name) ?? [];
    s.push(v);
    this.locals.set(name, s);
  }
  pop(name: string): void {
    this.locals.get(name)?.pop();
  }

  pathOf(e: Expr): string[] {
    if (e.exprKind.case === "identExpr") {
      const v = this.peek(e.exprKind.value.name);
      if (v) return [...v.path];
    }
    return [...(this.paths.get(e.id) ?? [])];
  }

  /** The k8s sizeEstimator: the declaration reached by the path, `{0, MaxElements}`. */
  estimateSizeByPath(path: readonly string[] | undefined): CostRange | undefined {
    if (!path || path.length === 0) return undefined;
    let node: DeclType | undefined = this.env.root;
    for (const name of path.slice(1)) {
      if (name === "@items" || name === "@values") node = node.elem;
      else if (name === "@keys") node = node.key;
      else node = node.fields?.get(name);
      if (!node) return undefined;
    }
    return { min: 0n, max: node.maxElements };
  }

  computeSize(e: Expr): CostRange | undefined {
    const known = this.sizes.get(e.id);
    if (known) return known;
    const literal = literalSize(e);
    if (literal) return literal;
    const byPath = this.estimateSizeByPath(this.pathOf(e));
    if (byPath) {
      this.sizes.set(e.id, byPath);
      return byPath;
    }
    if (isScalar(this.typeOf(e))) return fixed(1n);
    if (e.exprKind.case === "identExpr") {
      const v = this.peek(e.exprKind.value.name);
      if (v?.size) return v.size;
    }
    return undefined;
  }

  computeEntrySize(e: Expr): EntrySize | undefined {
    const known = this.entrySizes.get(e.id);
    if (known) return known;
    if (e.exprKind.case === "identExpr") return this.peek(e.exprKind.value.name)?.entrySize;
    return undefined;
  }

  sizeOrUnknown(e: Expr): CostRange {
    return this.computeSize(e) ?? UNKNOWN;
  }

  node(e: Expr): AstNode {
    let path: string[] | undefined = this.pathOf(e);
    if (path.length > 0 && ACCUMULATORS.has(path[0]!)) path = undefined;
    return { path, type: this.typeOf(e), expr: e, computedSize: this.computeSize(e) };
  }

  /** The library CostEstimator's sizeEstimate: computed size, else by path, else unknown. */
  sizeEstimate(n: AstNode): CostRange {
    return n.computedSize ?? this.estimateSizeByPath(n.path) ?? UNKNOWN;
  }

  listElementNode(list: AstNode): AstNode | undefined {
    const t = list.type;
    const param = t.kind === "list" ? t.elem : t.kind === "map" ? t.key : undefined;
    if (!param) return undefined;
    return { path: list.path && list.path.length > 0 ? [...list.path, "@items"] : undefined, type: param, expr: undefined, computedSize: undefined };
  }

  cost(e: Expr | undefined): CostRange {
    if (!e) return fixed(0n);
    switch (e.exprKind.case) {
      case "constExpr":
        this.types.set(e.id, constType(e));
        return fixed(0n);
      case "identExpr":
        return this.costIdent(e, e.exprKind.value.name);
      case "selectExpr":
        return this.costSelect(e);
      case "callExpr":
        return this.costCall(e);
      case "listExpr":
        return this.costList(e);
      case "structExpr":
        return this.costStruct(e);
      case "comprehensionExpr":
        return this.costComprehension(e);
      default:
        return uncertain(`an expression of kind ${e.exprKind.case}`);
    }
  }

  costIdent(e: Expr, name: string): CostRange {
    const local = this.peek(name);
    if (local) {
      this.paths.set(e.id, local.path);
      this.types.set(e.id, local.type);
    } else {
      this.paths.set(e.id, [name]);
      const t = this.env.variables[name] ?? (TYPE_IDENTS.has(name) ? T.type : undefined);
      if (!t) uncertain(`the identifier ${name}`);
      this.types.set(e.id, t);
    }
    return fixed(1n);
  }

  costSelect(e: Expr): CostRange {
    if (e.exprKind.case !== "selectExpr") throw new Error("not a select");
    const sel = e.exprKind.value;
    const operand = sel.operand!;
    if (sel.testOnly) {
      // has() is free in the Kubernetes environment (PresenceTestHasCost(false)).
      const c = this.cost(operand);
      this.types.set(e.id, T.bool);
      return c;
    }
    let sum = this.cost(operand);
    const t = this.typeOf(operand);
    if (t.kind === "map" || t.kind === "object" || t.kind === "struct" || t.kind === "param") sum = add(sum, fixed(1n));
    this.paths.set(e.id, [...this.pathOf(operand), sel.field]);
    let result: CelType;
    if (t.kind === "object") {
      const field = t.decl.fields?.get(sel.field);
      if (!field) return uncertain(`no field ${sel.field}`);
      result = field.type;
    } else if (t.kind === "map") result = t.value;
    else if (t.kind === "dyn") result = T.dyn;
    else return uncertain(`a field of ${t.kind}`);
    this.types.set(e.id, result);
    return sum;
  }

  costCall(e: Expr): CostRange {
    if (e.exprKind.case !== "callExpr") throw new Error("not a call");
    const call = e.exprKind.value;
    let name = call.function;
    let target = call.target;
    if (target?.exprKind.case === "identExpr" && NAMESPACES.has(target.exprKind.value.name) && !this.peek(target.exprKind.value.name) && !(target.exprKind.value.name in this.env.variables)) {
      name = `${target.exprKind.value.name}.${name}`;
      target = undefined;
    }
    if (name === "cel.bind") return this.costBind(e, call.args);
    if (name.startsWith("format.") && FORMAT_NAMES.has(name.slice("format.".length))) {
      this.types.set(e.id, struct("kubernetes.NamedFormat"));
      return fixed(1n);
    }
    if (name === "dyn" && !target && call.args.length === 1) {
      const arg = call.args[0]!;
      const c = this.cost(arg);
      const size = this.computeSize(arg);
      if (size) this.sizes.set(e.id, size);
      const entry = this.computeEntrySize(arg);
      if (entry) this.entrySizes.set(e.id, entry);
      this.types.set(e.id, T.dyn);
      return add(fixed(1n), c);
    }
    const args = call.args;
    const argCosts = args.map((a) => this.cost(a));
    const argNodes = args.map((a) => this.node(a));
    let sum = fixed(0n);
    let targetNode: AstNode | undefined;
    if (target) {
      sum = add(sum, this.cost(target));
      targetNode = this.node(target);
    }
    const fieldArg = args[1]?.exprKind.case === "constExpr" && args[1].exprKind.value.constantKind.case === "stringValue" ? args[1].exprKind.value.constantKind.value : undefined;
    const signature = signatureOf(name, targetNode?.type, argNodes.map((n) => n.type), fieldArg);
    this.types.set(e.id, signature.result);
    let fn: CostRange = { min: MAX_UINT64, max: 0n };
    let resultSize: CostRange | undefined;
    for (const overload of signature.overloads) {
      const est = this.functionCost(e, name, overload, targetNode, argNodes, argCosts);
      fn = union(fn, est.cost);
      if (est.resultSize) resultSize = resultSize ? union(resultSize, est.resultSize) : est.resultSize;
      if (overload === "index_list" || overload === "index_map") {
        resultSize = this.computeEntrySize(args[0]!)?.val;
        this.paths.set(e.id, [...this.pathOf(args[0]!), overload === "index_list" ? "@items" : "@values"]);
      }
      resultSize ??= this.computeSize(e);
    }
    if (resultSize) this.sizes.set(e.id, resultSize);
    return add(sum, fn);
  }

  costBind(e: Expr, args: Expr[]): CostRange {
    const [variable, init, body] = args;
    if (variable?.exprKind.case !== "identExpr" || !init || !body) return uncertain("cel.bind() shape");
    const name = variable.exprKind.value.name;
    // The empty iteration range of the expanded comprehension is costed: a list creation.
    let sum = add(LIST_CREATE_BASE_RANGE, this.cost(init));
    this.push(name, { path: this.pathOf(init), size: this.computeSize(init), entrySize: this.computeEntrySize(init), type: this.typeOf(init) });
    sum = add(sum, this.cost(body));
    this.pop(name);
    this.types.set(e.id, this.typeOf(body));
    const size = this.computeSize(body);
    if (size) this.sizes.set(e.id, size);
    const entry = this.computeEntrySize(body);
    if (entry) this.entrySizes.set(e.id, entry);
    return sum;
  }

  costList(e: Expr): CostRange {
    if (e.exprKind.case !== "listExpr") throw new Error("not a list");
    const list = e.exprKind.value;
    let sum = fixed(0n);
    let itemSize: CostRange = { min: list.elements.length === 0 ? 0n : MAX_UINT64, max: 0n };
    let elem: CelType = T.param;
    for (const el of list.elements) {
      sum = add(sum, this.cost(el));
      itemSize = union(itemSize, this.sizeOrUnknown(el));
      elem = joinTypes(elem, this.typeOf(el));
    }
    this.types.set(e.id, listOf(elem));
    this.entrySizes.set(e.id, { container: "list", key: fixed(1n), val: itemSize });
    return add(sum, fixed(LIST_CREATE_BASE));
  }

  costStruct(e: Expr): CostRange {
    if (e.exprKind.case !== "structExpr") throw new Error("not a struct");
    const s = e.exprKind.value;
    if (s.messageName !== "") {
      return uncertain(`message construction ${s.messageName}{...}`);
    }
    let sum = fixed(0n);
    let keySize: CostRange = { min: s.entries.length === 0 ? 0n : MAX_UINT64, max: 0n };
    let valSize: CostRange = { ...keySize };
    let keyType: CelType = T.param;
    let valueType: CelType = T.param;
    for (const entry of s.entries) {
      if (entry.keyKind.case !== "mapKey") uncertain("a message field");
      const key = entry.keyKind.value as Expr;
      sum = add(sum, this.cost(key));
      sum = add(sum, this.cost(entry.value));
      keySize = union(keySize, this.sizeOrUnknown(key));
      valSize = union(valSize, this.sizeOrUnknown(entry.value!));
      keyType = joinTypes(keyType, this.typeOf(key));
      valueType = joinTypes(valueType, this.typeOf(entry.value!));
    }
    this.types.set(e.id, { kind: "map", key: keyType, value: valueType });
    this.entrySizes.set(e.id, { container: "map", key: keySize, val: valSize });
    return add(sum, fixed(MAP_CREATE_BASE));
  }

  costComprehension(e: Expr): CostRange {
    if (e.exprKind.case !== "comprehensionExpr") throw new Error("not a comprehension");
    const c = e.exprKind.value;
    const range = c.iterRange!;
    let sum = this.cost(range);
    sum = add(sum, this.cost(c.accuInit));
    const accuInit = c.accuInit!;
    const accuType = this.typeOf(accuInit);
    this.push(c.accuVar, { path: this.pathOf(accuInit), size: this.computeSize(accuInit), entrySize: this.computeEntrySize(accuInit), type: accuType });
    const rangeType = this.typeOf(range);
    const entry = this.computeEntrySize(range);
    const container = entry?.container ?? (rangeType.kind === "list" ? "list" : rangeType.kind === "map" ? "map" : undefined);
    let keyType: CelType, valueType: CelType;
    if (rangeType.kind === "list") [keyType, valueType] = [T.int, rangeType.elem];
    else if (rangeType.kind === "map") [keyType, valueType] = [rangeType.key, rangeType.value];
    else if (rangeType.kind === "dyn") [keyType, valueType] = [T.dyn, T.dyn];
    else return uncertain(`a comprehension over ${rangeType.kind}`);
    const isList = container === "list";
    const rangePath = this.pathOf(range);
    if (c.iterVar2) {
      // cel-go's pushIterKey and pushIterValue.
      this.push(c.iterVar, { path: [...rangePath, isList ? "@indices" : "@keys"], size: entry?.key, entrySize: undefined, type: keyType });
      this.push(c.iterVar2, { path: [...rangePath, isList ? "@items" : "@values"], size: entry?.val, entrySize: undefined, type: valueType });
    } else {
      this.push(c.iterVar, {
        path: [...rangePath, isList ? "@items" : "@keys"],
        size: isList ? entry?.val : entry?.key,
        entrySize: undefined,
        type: isList ? valueType : keyType,
      });
    }
    const loopCost = this.cost(c.loopCondition);
    const stepCost = this.cost(c.loopStep);
    this.pop(c.iterVar);
    if (c.iterVar2) this.pop(c.iterVar2);
    // The accumulator's type is the step's once a type parameter (`[]`) is resolved.
    const stepType = this.typeOf(c.loopStep!);
    const accu = this.peek(c.accuVar)!;
    accu.type = joinTypes(accuType, stepType);
    sum = add(sum, this.cost(c.result));
    this.pop(c.accuVar);
    this.types.set(e.id, this.typeOf(c.result!));
    const rangeCount = this.sizeOrUnknown(range);
    sum = add(sum, mul(rangeCount, add(stepCost, loopCost)));
    switch (accuInit.exprKind.case) {
      case "constExpr": {
        const s = this.computeSize(accuInit);
        if (s) this.sizes.set(e.id, s);
        break;
      }
      case "listExpr":
      case "structExpr": {
        this.sizes.set(e.id, rangeCount);
        const stepEntry = this.computeEntrySize(c.loopStep!);
        if (stepEntry) this.entrySizes.set(e.id, stepEntry);
        break;
      }
      default:
        break;
    }
    return sum;
  }

  functionCost(e: Expr, name: string, overload: string, target: AstNode | undefined, args: AstNode[], argCosts: CostRange[]): { cost: CostRange; resultSize?: CostRange | undefined } {
    const argSum = (): CostRange => argCosts.reduce(add, fixed(0n));
    const withArgs = (est: { cost: CostRange; resultSize?: CostRange | undefined }) => ({ cost: add(est.cost, argSum()), resultSize: est.resultSize });
    const ext = this.extEstimate(overload, target, args);
    if (ext) return withArgs(ext);
    const k8s = this.kubernetesEstimate(name, overload, target, args);
    if (k8s) return withArgs(k8s);
    const size = (n: AstNode): CostRange => n.computedSize ?? UNKNOWN;
    switch (overload) {
      case "string_format":
        if (target) return { cost: add(factor(size(target), STRING_TRAVERSAL), argSum()) };
        break;
      case "string_to_bytes": {
        const sz = size(args[0]!);
        return { cost: add(factor(sz, STRING_TRAVERSAL), argSum()), resultSize: { min: sz.min, max: mulSat(sz.max, 4n) } };
      }
      case "bytes_to_string": {
        const sz = size(args[0]!);
        return { cost: add(factor(sz, STRING_TRAVERSAL), argSum()), resultSize: { min: sz.min / 4n, max: sz.max } };
      }
      case "strings_quote": {
        const sz = size(args[0]!);
        return { cost: add(factor(sz, STRING_TRAVERSAL), argSum()), resultSize: { min: addSat(sz.min, 2n), max: addSat(mulSat(sz.max, 2n), 2n) } };
      }
      case "starts_with_string":
      case "ends_with_string":
        if (args.length === 1) return { cost: add(factor(size(args[0]!), STRING_TRAVERSAL), argSum()) };
        break;
      case "in_list":
        if (args.length === 2) return { cost: add(factor(size(args[1]!), 1), argSum()) };
        break;
      case "matches_string":
        if (target && args.length === 1) {
          const str = factor(add(size(target), fixed(1n)), STRING_TRAVERSAL);
          const re = factor(size(args[0]!), REGEX_LENGTH);
          return { cost: add(mul(str, re), argSum()) };
        }
        break;
      case "contains_string":
        if (target && args.length === 1) return { cost: add(mul(factor(size(target), STRING_TRAVERSAL), factor(size(args[0]!), STRING_TRAVERSAL)), argSum()) };
        break;
      case "logical_and":
      case "logical_or": {
        const [l, r] = argCosts as [CostRange, CostRange];
        return { cost: { min: l.min, max: add(l, r).max } };
      }
      case "conditional": {
        const resultSize = union(size(args[1]!), size(args[2]!));
        const a = this.computeEntrySize(args[1]!.expr!);
        const b = this.computeEntrySize(args[2]!.expr!);
        if (a && b) this.entrySizes.set(e.id, { container: a.container, key: union(a.key, b.key), val: union(a.val, b.val) });
        return { cost: add(argCosts[0]!, union(argCosts[1]!, argCosts[2]!)), resultSize };
      }
      case "add_string":
      case "add_bytes":
      case "add_list":
        if (args.length === 2) {
          const resultSize = add(size(args[0]!), size(args[1]!));
          const l = this.computeEntrySize(args[0]!.expr!);
          const r = this.computeEntrySize(args[1]!.expr!);
          if (l && r) this.entrySizes.set(e.id, { container: l.container, key: union(l.key, r.key), val: union(l.val, r.val) });
          if (overload === "add_list") return { cost: add(fixed(1n), argSum()), resultSize };
          return { cost: add(factor(resultSize, STRING_TRAVERSAL), argSum()), resultSize };
        }
        break;
      case "less_string":
      case "greater_string":
      case "less_equals_string":
      case "greater_equals_string":
      case "less_bytes":
      case "greater_bytes":
      case "less_equals_bytes":
      case "greater_equals_bytes":
      case "equals":
      case "not_equals": {
        const l = size(args[0]!);
        const r = size(args[1]!);
        const smallestMax = r.max < l.max ? r.max : l.max;
        return { cost: add(factor({ min: smallestMax > 0n ? 1n : 0n, max: smallestMax }, STRING_TRAVERSAL), argSum()) };
      }
      default:
        break;
    }
    return { cost: add(fixed(1n), argSum()) };
  }

  /** The estimators cel-go's ext lists (v3) and sets libraries register per overload. */
  extEstimate(overload: string, target: AstNode | undefined, args: AstNode[]): { cost: CostRange; resultSize?: CostRange } | undefined {
    const allocating = (costFactor: number, listSize: CostRange) => ({ cost: add(add(factor(listSize, costFactor), fixed(1n)), fixed(LIST_CREATE_BASE)), resultSize: listSize });
    const intLiteral = (n: AstNode, otherwise: bigint): bigint => {
      const e = n.expr;
      if (e?.exprKind.case !== "constExpr" || e.exprKind.value.constantKind.case !== "int64Value") return otherwise;
      const v = e.exprKind.value.constantKind.value;
      return v < 0n ? 0n : v;
    };
    switch (overload) {
      case "list_slice": {
        if (!target || args.length !== 2) return undefined;
        const sz = this.sizeEstimate(target);
        const start = intLiteral(args[0]!, 0n);
        const end = intLiteral(args[1]!, sz.max);
        return allocating(1, fixed(BigInt.asUintN(64, end - start)));
      }
      case "list_flatten":
      case "list_flatten_int": {
        if (!target || args.length > 1) return undefined;
        const depth = args.length === 1 ? intLiteral(args[0]!, MAX_UINT64) : 1n;
        return allocating(Number(depth), this.sizeEstimate(target));
      }
      case "lists_range":
        if (target || args.length !== 1) return undefined;
        return allocating(1, fixed(intLiteral(args[0]!, MAX_UINT64)));
      case "list_reverse":
        if (!target || args.length !== 0) return undefined;
        return allocating(1, this.sizeEstimate(target));
      case "list_distinct": {
        if (!target || args.length !== 0) return undefined;
        const sz = this.sizeEstimate(target);
        return allocating(2, mul(sz, sz));
      }
      case "list_sets_contains_list":
      case "list_sets_intersects_list":
      case "list_sets_equivalent_list": {
        if (args.length !== 2) return undefined;
        const product = mul(this.sizeEstimate(args[0]!), this.sizeEstimate(args[1]!));
        return { cost: add(factor(product, overload === "list_sets_equivalent_list" ? 2 : 1), fixed(1n)) };
      }
      default: {
        const sort = /^list_(\w+)_sort$/.exec(overload);
        if (!sort || !target || args.length !== 0) return undefined;
        const sz = this.sizeEstimate(target);
        const f = sort[1] === "string" || sort[1] === "bytes" ? 2 + STRING_TRAVERSAL : 2;
        return allocating(f, mul(sz, sz));
      }
    }
  }

  /** Kubernetes' library.CostEstimator.EstimateCallCost (k8s.io/apiserver/pkg/cel/library/cost.go), by function name. */
  kubernetesEstimate(name: string, overload: string, target: AstNode | undefined, args: AstNode[]): { cost: CostRange; resultSize?: CostRange } | undefined {
    const sizeOf = (n: AstNode) => this.sizeEstimate(n);
    const traversal = (n: AstNode, f = 1) => factor(sizeOf(n), f * STRING_TRAVERSAL);
    switch (name) {
      case "isSorted":
      case "sum":
      case "max":
      case "min":
      case "indexOf":
      case "lastIndexOf": {
        if (!target) return undefined;
        const el = this.listElementNode(target);
        if (el) {
          let elCost = fixed(1n);
          if (el.type.kind === "string" || el.type.kind === "bytes") elCost = add(elCost, factor(sizeOf(el), STRING_TRAVERSAL));
          return { cost: mul(sizeOf(target), elCost) };
        }
        return { cost: traversal(target) };
      }
      case "url":
      case "jsonpatch.escapeKey":
        if (args.length === 1) return { cost: traversal(args[0]!), resultSize: sizeOf(args[0]!) };
        return undefined;
      case "lowerAscii":
      case "upperAscii":
      case "substring":
      case "trim":
        if (target) return { cost: traversal(target), resultSize: sizeOf(target) };
        return undefined;
      case "replace":
        if (target && args.length >= 2) return { cost: traversal(target, 2), resultSize: replaceSize(sizeOf(target), sizeOf(args[0]!), sizeOf(args[1]!)) };
        return undefined;
      case "split": {
        if (!target) return undefined;
        const sz = sizeOf(target);
        let max = sz.max;
        const limit = args[1]?.expr;
        if (limit?.exprKind.case === "constExpr" && limit.exprKind.value.constantKind.case === "int64Value") max = BigInt.asUintN(64, limit.exprKind.value.constantKind.value);
        return { cost: traversal(target, 2), resultSize: { min: 0n, max } };
      }
      case "join": {
        if (!target) return undefined;
        let sz = fixed(0n);
        const listSize = sizeOf(target);
        const el = this.listElementNode(target);
        if (el) sz = mul(listSize, sizeOf(el));
        if (args.length > 0) {
          const sep = sizeOf(args[0]!);
          sz = add(sz, mul(sep, { min: listSize.min > 0n ? listSize.min - 1n : 0n, max: listSize.max > 0n ? listSize.max - 1n : 0n }));
        }
        return { cost: factor(sz, STRING_TRAVERSAL), resultSize: sz };
      }
      case "find":
      case "findAll": {
        if (!target || args.length < 1) return undefined;
        const sz = sizeOf(target);
        const str = factor(add(sz, fixed(1n)), STRING_TRAVERSAL);
        const re = factor(sizeOf(args[0]!), REGEX_LENGTH);
        return { cost: mul(str, re), resultSize: { min: 0n, max: sz.max } };
      }
      case "cidr":
      case "isIP":
      case "isCIDR":
        if (args.length >= 1) return { cost: traversal(args[0]!) };
        return undefined;
      case "ip":
        if (overload === "cidr_ip") return { cost: fixed(1n) };
        if (args.length >= 1) return { cost: traversal(args[0]!) };
        return undefined;
      case "ip.isCanonical":
        if (args.length >= 1) return { cost: traversal(args[0]!, 2) };
        return undefined;
      case "masked":
      case "prefixLength":
      case "family":
      case "isUnspecified":
      case "isLoopback":
      case "isLinkLocalMulticast":
      case "isLinkLocalUnicast":
      case "isGlobalUnicast":
        return { cost: fixed(1n) };
      case "containsIP":
      case "containsCIDR": {
        if (args.length < 1) return undefined;
        const ipSize: CostRange = { min: 4n, max: 16n };
        let cost = factor(add(ipSize, ipSize), STRING_TRAVERSAL);
        if (name === "containsCIDR") cost = add(add(cost, factor(ipSize, STRING_TRAVERSAL)), fixed(1n));
        if (overload === "cidr_contains_ip_string" || overload === "cidr_contains_cidr_string") cost = add(cost, traversal(args[0]!));
        return { cost };
      }
      case "quantity":
      case "isQuantity":
      case "semver":
      case "isSemver":
        if (args.length >= 1) return { cost: traversal(args[0]!) };
        return undefined;
      case "validate":
        if (args.length >= 1) return { cost: factor(traversal(args[0]!), 128 * REGEX_LENGTH) };
        return undefined;
      case "format.named":
      case "sign":
      case "asInteger":
      case "isInteger":
      case "asApproximateFloat":
      case "isGreaterThan":
      case "isLessThan":
      case "compareTo":
      case "add":
      case "sub":
      case "major":
      case "minor":
      case "patch":
      case "getScheme":
      case "getHostname":
      case "getHost":
      case "getPort":
      case "getEscapedPath":
      case "getQuery":
        return { cost: fixed(1n) };
      case "_==_": {
        if (args.length !== 2) return undefined;
        const [l, r] = args as [AstNode, AstNode];
        if (!sameType(l.type, r.type)) return undefined;
        if (l.type.kind === "opaque") return { cost: fixed(1n) };
        if (l.type.kind === "struct") {
          if (l.type.name === "kubernetes.NamedFormat") return { cost: factor({ min: 1n, max: 64n }, STRING_TRAVERSAL) };
          if (l.type.name === "kubernetes.URL") {
            // Upstream reads the right operand's size twice.
            const size = r.computedSize ? union(r.computedSize, r.computedSize) : fixed(1n);
            return { cost: factor({ min: 1n, max: size.max }, STRING_TRAVERSAL) };
          }
          return { cost: fixed(1n) };
        }
        return undefined;
      }
      default:
        return undefined;
    }
  }
}

const LIST_CREATE_BASE_RANGE = fixed(LIST_CREATE_BASE);

function replaceSize(sz: CostRange, toReplace: CostRange, replaceWith: CostRange): CostRange {
  const count = { min: 0n, max: 0n };
  const retained = { min: 0n, max: 0n };
  if (toReplace.min === 0n) {
    count.max = sz.max < MAX_UINT64 ? sz.max + 1n : sz.max;
    retained.max = sz.max;
  } else if (replaceWith.max <= toReplace.min) {
    retained.max = sz.max;
  } else {
    count.max = BigInt(Math.ceil(Number(sz.max) / Number(toReplace.min)));
  }
  if (toReplace.max === 0n) {
    count.min = sz.min < MAX_UINT64 ? sz.min + 1n : sz.min;
    retained.min = sz.min;
  } else if (toReplace.max <= replaceWith.min) {
    retained.min = sz.min;
  } else {
    count.min = BigInt(Math.ceil(Number(sz.min) / Number(toReplace.max)));
  }
  return add(mul(count, replaceWith), retained);
}

function constType(e: Expr): CelType {
  if (e.exprKind.case !== "constExpr") return T.dyn;
  switch (e.exprKind.value.constantKind.case) {
    case "int64Value":
      return T.int;
    case "uint64Value":
      return T.uint;
    case "doubleValue":
      return T.double;
    case "boolValue":
      return T.bool;
    case "stringValue":
      return T.string;
    case "bytesValue":
      return T.bytes;
    case "nullValue":
      return T.null;
    default:
      return uncertain("a constant of another kind");
  }
}

/** cel-go's computeExprSize: the exact size of a literal, list or map creation. */
function literalSize(e: Expr): CostRange | undefined {
  switch (e.exprKind.case) {
    case "constExpr": {
      const k = e.exprKind.value.constantKind;
      if (k.case === "stringValue") return fixed(BigInt([...k.value].length));
      if (k.case === "bytesValue") return fixed(BigInt(k.value.length));
      if (k.case === "boolValue" || k.case === "doubleValue" || k.case === "int64Value" || k.case === "uint64Value" || k.case === "nullValue") return fixed(1n);
      return undefined;
    }
    case "listExpr":
      return fixed(BigInt(e.exprKind.value.elements.length));
    case "structExpr":
      return e.exprKind.value.messageName === "" ? fixed(BigInt(e.exprKind.value.entries.length)) : undefined;
    default:
      return undefined;
  }
}

/**
 * The estimated cost range of `expression` in `env`, as kube-apiserver v1.36 computes it for a
 * CRD rule or messageExpression (cel-go's `Env.EstimateCost` with Kubernetes' estimators);
 * `undefined` when the estimate cannot be reproduced exactly (see the module's comment), or
 * when the expression does not parse.
 */
export function estimateCost(expression: string, env: CostEnvironment): CostRange | undefined {
  const outcome = run(expression, env);
  return typeof outcome === "string" ? undefined : outcome;
}

/** Why `estimateCost` gave no estimate, for messages; `undefined` when it gives one. */
export function whyNoEstimate(expression: string, env: CostEnvironment): string | undefined {
  const outcome = run(expression, env);
  return typeof outcome === "string" ? outcome : undefined;
}

function run(expression: string, env: CostEnvironment): CostRange | string {
  let root: Expr;
  try {
    const parsed = parseWithOptionalSyntax(expression);
    if (!parsed) return "its optional syntax is not placed by the in-process parser";
    root = expandTwoVarMacros(parsed.expr, idAllocator(parsed.expr));
  } catch (e) {
    if (e instanceof TwoVarMacroError) return `it does not compile (${e.message})`;
    return `it does not parse (${(e as Error).message})`;
  }
  try {
    return new Coster(env).cost(root);
  } catch (e) {
    if (e instanceof Uncertain) return e.message;
    throw e;
  }
}

/** The cost environment of a CRD rule on a node declared `decl`: `self`, and `oldSelf` (optional with optionalOldSelf). */
export function crdRuleCostEnvironment(decl: DeclType, optionalOldSelf: boolean): CostEnvironment {
  return { root: decl, variables: { self: decl.type, oldSelf: optionalOldSelf ? optionalOf(decl.type) : decl.type } };
}
