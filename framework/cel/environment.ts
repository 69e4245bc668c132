import { celEnv, type CelEnv, type CelFunc } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import { goFormatLibrary, nanOrdering } from "./library/go-format.ts";
import { ipLibrary } from "./library/ip.ts";
import { jsonPatchLibrary } from "./library/jsonpatch.ts";
import { listsLibrary } from "./library/lists.ts";
import { quantityLibrary } from "./library/quantity.ts";
import { regexLibrary } from "./library/regex.ts";
import { semverLibrary } from "./library/semver.ts";
import { stringsFixes } from "./library/strings-fixes.ts";
import { optionalLibrary } from "./library/optional.ts";
import { opaqueRegistry } from "./library/types.ts";
import { urlLibrary } from "./library/url.ts";
import { FORMAT_NAMES, formatLibrary } from "./library/format.ts";
import { MAP_INSERT, twoVarFunctions } from "./two-var-macros.ts";
import { receiverMacroFunctions, SORT_BY_ASSOCIATED_KEYS } from "./receiver-macros.ts";

/**
 * The function set of Kubernetes' CEL base environment in v1.36
 * (k8s.io/apiserver/pkg/cel/environment/base.go): what the in-process evaluator implements,
 * what it knows but refuses, and the engine with those functions.
 */

/** Standard CEL functions and macros the engine (@bufbuild/cel) implements as cel-go does. */
const STANDARD = [
  "size", "contains", "startsWith", "endsWith", "matches", "int", "uint", "double", "string", "bytes", "bool",
  "duration", "timestamp", "type", "dyn", "getFullYear", "getMonth", "getDayOfYear", "getDayOfMonth", "getDate",
  "getDayOfWeek", "getHours", "getMinutes", "getSeconds", "getMilliseconds",
];

/** ext.Strings version 2 (the engine's `strings` extension has exactly this set). */
const STRINGS_V2 = ["charAt", "format", "indexOf", "join", "lastIndexOf", "lowerAscii", "upperAscii", "replace", "split", "substring", "trim", "strings.quote"];

/** Kubernetes and ext libraries implemented by this package. */
const LIBRARIES = [
  // lists (k8s) + ext.Lists v3 + ext.Sets
  "isSorted", "sum", "min", "max", "indexOf", "lastIndexOf", "lists.range", "distinct", "flatten", "reverse", "slice", "sort",
  "sets.contains", "sets.equivalent", "sets.intersects",
  // regex
  "find", "findAll",
  // quantity
  "quantity", "isQuantity", "sign", "isGreaterThan", "isLessThan", "compareTo", "add", "sub", "isInteger", "asInteger", "asApproximateFloat",
  // semver
  "semver", "isSemver", "major", "minor", "patch",
  // ip, cidr
  "ip", "isIP", "ip.isCanonical", "family", "isUnspecified", "isLoopback", "isLinkLocalMulticast", "isLinkLocalUnicast", "isGlobalUnicast",
  "cidr", "isCIDR", "containsIP", "containsCIDR", "masked", "prefixLength",
  // url
  "url", "isURL", "getScheme", "getHost", "getHostname", "getPort", "getEscapedPath", "getQuery",
  // format
  "format.named", "validate", ...FORMAT_NAMES.map((name) => `format.${name}`),
  // optional values (the `.?` syntax is parsed by optional-syntax.ts)
  "optional.of", "optional.none", "optional.ofNonZeroValue", "hasValue", "value", "orValue", "or", "first", "last", "optional.unwrap", "unwrapOpt",
];

/** The namespaces of qualified function names (`sets.contains`, `format.named`, ...). */
export const NAMESPACES: ReadonlySet<string> = new Set(["sets", "lists", "strings", "ip", "format", "optional", "jsonpatch", "math", "base64"]);

/** Identifiers that name types (`type(x) == string`). */
export const TYPE_IDENTS: ReadonlySet<string> = new Set(["int", "uint", "double", "string", "bool", "bytes", "list", "map", "null_type", "type", "dyn"]);

/** Functions of the Kubernetes environment that the in-process evaluator refuses, with the reason. */
const REFUSED: Record<string, string> = {
  existsOne: "existsOne with one variable is not implemented in-process",
  "jsonpatch.escapeKey": "the jsonpatch library belongs to mutating admission only",
};

/** Authorizer methods (admission only): refused in-process (no authorizer). */
const AUTHZ = [
  "path", "group", "serviceAccount", "resource", "subresource", "namespace", "name", "check", "allowed", "reason", "errored",
  "error", "fieldSelector", "labelSelector",
];

/** Function names the in-process evaluator implements. */
export const IMPLEMENTED_FUNCTIONS: ReadonlySet<string> = new Set([...STANDARD, ...STRINGS_V2, ...LIBRARIES, MAP_INSERT, SORT_BY_ASSOCIATED_KEYS]);

/** Why a known Kubernetes function is refused in-process, or undefined when it is implemented or unknown. */
export function refusedFunction(name: string, admission: boolean): string | undefined {
  if (REFUSED[name]) return REFUSED[name];
  if (admission && AUTHZ.includes(name)) return "the authz library needs the API server's authorizer";
  return undefined;
}

/** The engine functions of the Kubernetes environment. */
export const KUBERNETES_FUNCTIONS: CelFunc[] = [...goFormatLibrary, ...nanOrdering, ...strings, ...stringsFixes, ...listsLibrary, ...regexLibrary, ...quantityLibrary, ...semverLibrary, ...ipLibrary, ...urlLibrary, ...optionalLibrary, ...formatLibrary, ...jsonPatchLibrary, ...twoVarFunctions, ...receiverMacroFunctions];

/** Functions only the MutatingAdmissionPolicy environment declares. */
export const MUTATING_ONLY_FUNCTIONS: ReadonlySet<string> = new Set(["jsonpatch.escapeKey"]);

let shared: CelEnv | undefined;

/** The engine environment (functions and opaque types) shared by all programs. */
export function engineEnvironment(): CelEnv {
  shared ??= celEnv({ funcs: KUBERNETES_FUNCTIONS, registry: opaqueRegistry });
  return shared;
}
