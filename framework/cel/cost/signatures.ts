import { SORT_BY_ASSOCIATED_KEYS } from "../receiver-macros.ts";
import { MAP_INSERT } from "../two-var-macros.ts";
import { joinTypes, listOf, opaque, optionalOf, struct, T, uncertain, type CelType } from "./types.ts";

/**
 * The result types and overload ids cel-go's checker gives the calls of the Kubernetes v1.36
 * environment (standard library, ext strings v2, ext lists v3, sets, two-variable
 * comprehensions, optional values, and the Kubernetes libraries), given the operand types. The
 * overload ids are exact where the cost estimator tells them apart.
 */

const NUMERIC_OR_SAME = new Set(["int", "uint", "double"]);
const SORTABLE = new Set(["int", "uint", "double", "bool", "duration", "timestamp", "string", "bytes"]);

/** A call's deduced result type and the checker's overload ids (only those the estimator distinguishes are exact). */
export interface Signature {
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
export function signatureOf(name: string, target: CelType | undefined, args: CelType[], constFieldName?: string): Signature {
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
    case "first":
    case "last":
      requireKind(target, "list");
      return sig(optionalOf((target as { elem: CelType }).elem));
    case "optional.unwrap":
    case "unwrapOpt": {
      const list = target ?? a;
      requireKind(list, "list");
      const elem = (list as { elem: CelType }).elem;
      return sig(listOf(elem.kind === "optional" ? elem.elem : T.dyn));
    }
    case SORT_BY_ASSOCIATED_KEYS: {
      requireKind(target, "list");
      requireKind(a, "list");
      const key = (a as { elem: CelType }).elem;
      if (!SORTABLE.has(key.kind)) uncertain(`sortBy() with keys of type ${key.kind}`);
      return sig(target!, `list_${key.kind}_sortByAssociatedKeys`);
    }
    case MAP_INSERT:
      if (args.length === 3) return sig(joinTypes(a!, { kind: "map", key: b!, value: args[2]! }));
      return sig(joinTypes(a!, b!));
    case "optional.of":
    case "optional.ofNonZeroValue":
      return sig(optionalOf(a!));
    case "optional.none":
      return sig(optionalOf(T.param));
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
