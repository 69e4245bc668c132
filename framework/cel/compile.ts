import { isCelError, parse, plan, type CelInput, type CelValue } from "@bufbuild/cel";
import type { Expr, ParsedExpr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { engineEnvironment, IMPLEMENTED_FUNCTIONS, MUTATING_ONLY_FUNCTIONS, NAMESPACES, refusedFunction, TYPE_IDENTS } from "./environment.ts";
import { escapePropertyName } from "./escaping.ts";
import { refusalOf } from "./library/refuse.ts";
import { MacroError } from "./ast.ts";
import { optionalLiteralsForEngine } from "./optional-syntax.ts";
import { parseCel } from "./parse.ts";
import { forEngine } from "./two-var-macros.ts";
import { regexCompiles } from "./library/regex.ts";
import type { SchemaNode } from "./values.ts";

/** A 1-based line and column, and the 0-based offset, of a place in an expression. */
export interface CelPosition {
  line: number;
  column: number;
  offset: number;
}

/**
 * Thrown by `compile` when the API server would refuse the expression: a syntax error, an
 * undeclared variable or function, a field that the schema does not have, an invalid literal
 * (regex, duration, timestamp) or a heterogeneous list/map literal. `message` is cel-go's form:
 * `ERROR: <input>:1:5: <reason>` followed by the line and a caret.
 */
export class CelCompileError extends Error {
  readonly expression: string;
  readonly position: CelPosition;
  readonly reason: string;
  constructor(expression: string, position: CelPosition, reason: string) {
    const line = expression.split("\n")[position.line - 1] ?? "";
    super(`ERROR: <input>:${position.line}:${position.column}: ${reason}\n | ${line}\n | ${".".repeat(Math.max(0, position.column - 1))}^`);
    this.name = "CelCompileError";
    this.expression = expression;
    this.position = position;
    this.reason = reason;
  }
}

/** What compile needs to know about the environment. */
export interface CompileEnvironment {
  /** Declared variables, e.g. `["self", "oldSelf"]` for CRD rules or `["object", "oldObject", "request", ...]`. */
  variables: readonly string[];
  /** Schemas of variables typed by an OpenAPI schema (e.g. `self`), so field names are checked. */
  schemas?: Readonly<Record<string, SchemaNode | undefined>>;
  /** Admission expressions have the authz library (refused in-process); CRD rules do not. */
  admission?: boolean;
  /**
   * Variables that hold optional values (`oldSelf` of an `optionalOldSelf` rule). Their entry in
   * `schemas`, if any, is the schema of the value they may hold.
   */
  optional?: readonly string[];
  /**
   * MutatingAdmissionPolicy expressions: `Object{...}`, `Object.<path>{...}` and `JSONPatch{...}`
   * constructions (evaluated as maps of their fields) and the jsonpatch library.
   */
  mutating?: boolean;
}

/** The result of evaluating a program: a value, a CEL evaluation error, or a refusal with the reason. */
export type CelEvaluation =
  | { kind: "value"; value: CelValue }
  | { kind: "error"; message: string }
  | { kind: "refused"; reason: string };

/** A compiled expression. */
export interface CelProgram {
  readonly expression: string;
  /** Set when the expression is valid for the API server but the in-process evaluator cannot evaluate it exactly. */
  readonly refusal: string | undefined;
  /** The variables the expression reads. */
  readonly references: ReadonlySet<string>;
  /** The functions and operators the expression calls (`_==_`, `size`, ...). */
  readonly functions: ReadonlySet<string>;
  /** Number of AST nodes (after macro expansion). */
  readonly size: number;
  /** Deepest nesting of comprehensions (`all`, `exists`, `map`, `filter`, ...). */
  readonly comprehensionDepth: number;
  /** Evaluates with the given variable values (CEL inputs: bigint for int, number for double, Map or object for maps). */
  evaluate(bindings: Record<string, CelInput>): CelEvaluation;
}

const OPERATOR = /^(_.*_|_\[_\]|_\[\?_\]|!_|-_|@.*)$/;

function positionOf(expression: string, offset: number): CelPosition {
  const before = expression.slice(0, offset).split("\n");
  return { line: before.length, column: before[before.length - 1]!.length + 1, offset };
}

function qualifiedName(e: Expr): string | undefined {
  if (e.exprKind.case === "identExpr") return e.exprKind.value.name;
  if (e.exprKind.case === "selectExpr" && !e.exprKind.value.testOnly && e.exprKind.value.operand) {
    const q = qualifiedName(e.exprKind.value.operand);
    return q === undefined ? undefined : `${q}.${e.exprKind.value.field}`;
  }
  return undefined;
}

interface Walk {
  expression: string;
  env: CompileEnvironment;
  positions: Record<string, number>;
  refusals: string[];
  references: Set<string>;
  functions: Set<string>;
  size: number;
  depth: number;
  maxDepth: number;
  exempt: Set<bigint>;
}

function fail(w: Walk, e: Expr, reason: string): never {
  let offset = w.positions[String(e.id)] ?? 0;
  if (e.exprKind.case === "callExpr") {
    // cel-go places a call at its opening parenthesis.
    const name = e.exprKind.value.function;
    const at = w.expression.indexOf(name, offset);
    const paren = at >= 0 ? w.expression.indexOf("(", at + name.length) : -1;
    if (paren >= 0) offset = paren;
  }
  throw new CelCompileError(w.expression, positionOf(w.expression, offset), reason);
}

function constString(e: Expr | undefined): string | undefined {
  if (e?.exprKind.case === "constExpr" && e.exprKind.value.constantKind.case === "stringValue") return e.exprKind.value.constantKind.value;
  return undefined;
}

function literalKind(e: Expr): string | undefined {
  if (e.exprKind.case === "constExpr") return e.exprKind.value.constantKind.case;
  if (e.exprKind.case === "listExpr") return "list";
  if (e.exprKind.case === "structExpr") return "map";
  return undefined;
}

function checkHomogeneous(w: Walk, elements: Expr[], what: string): void {
  let first: string | undefined;
  for (const el of elements) {
    const k = literalKind(el);
    if (k === undefined) return; // not a literal: its type is not known without a checker
    if (k === "nullValue") continue;
    first ??= k;
    if (k !== first) fail(w, el, `expected type '${typeName(first)}' but found '${typeName(k)}' in ${what} literal`);
  }
}

function typeName(kind: string): string {
  return ({ int64Value: "int", uint64Value: "uint", doubleValue: "double", stringValue: "string", boolValue: "bool", bytesValue: "bytes", list: "list", map: "map" } as Record<string, string>)[kind] ?? kind;
}

/** Schema of a select chain rooted at a schema-typed variable (`self.a.b`), to check field names. */
function schemaOfChain(w: Walk, e: Expr): SchemaNode | undefined {
  if (e.exprKind.case === "identExpr") return w.env.schemas?.[e.exprKind.value.name];
  if (e.exprKind.case === "selectExpr" && e.exprKind.value.operand) {
    const parent = schemaOfChain(w, e.exprKind.value.operand);
    if (!parent) return undefined;
    return fieldSchema(w, e, parent, e.exprKind.value.field);
  }
  // `a.?b`: the schema of b (the value the optional may hold).
  const field = e.exprKind.case === "callExpr" && e.exprKind.value.function === "_?._" ? constString(e.exprKind.value.args[1]) : undefined;
  if (field !== undefined && e.exprKind.case === "callExpr") {
    const parent = schemaOfChain(w, e.exprKind.value.args[0]!);
    if (!parent) return undefined;
    return fieldSchema(w, e, parent, field);
  }
  return undefined;
}

function fieldSchema(w: Walk, e: Expr, parent: SchemaNode, field: string): SchemaNode | undefined {
  if (parent["x-kubernetes-preserve-unknown-fields"] || parent["x-kubernetes-int-or-string"]) return undefined;
  if (parent.type !== "object") return undefined;
  if (parent.additionalProperties !== undefined && parent.additionalProperties !== false) {
    return typeof parent.additionalProperties === "object" ? parent.additionalProperties : undefined;
  }
  const properties = parent.properties ?? {};
  for (const [name, child] of Object.entries(properties)) if (escapePropertyName(name) === field) return child;
  if (parent["x-kubernetes-embedded-resource"] && ["apiVersion", "kind", "metadata"].includes(field)) return undefined;
  return fail(w, e, `undefined field '${field}'`);
}

const OPTIONAL_PRODUCERS = new Set(["optional.of", "optional.none", "optional.ofNonZeroValue", "or", "first", "last", "_?._", "_[?_]"]);

/** Whether an operand is (syntactically) an optional value: an optional variable or an optional-returning call. */
function mayBeOptional(w: Walk, e: Expr, scope: ReadonlySet<string>): boolean {
  if (e.exprKind.case === "identExpr") return !scope.has(e.exprKind.value.name) && (w.env.optional ?? []).includes(e.exprKind.value.name);
  if (e.exprKind.case === "callExpr") {
    const c = e.exprKind.value;
    const q = c.target ? qualifiedName(c.target) : undefined;
    const name = q && NAMESPACES.has(q) ? `${q}.${c.function}` : c.function;
    if (OPTIONAL_PRODUCERS.has(name)) return true;
    if (name === "_?_:_") return c.args.slice(1).some((a) => mayBeOptional(w, a, scope));
  }
  return false;
}

/** The CEL type of a schema node when it is a plain scalar (int, double, string, bool), else undefined. */
function schemaScalar(schema: SchemaNode | undefined): string | undefined {
  if (!schema || schema["x-kubernetes-int-or-string"] || schema["x-kubernetes-preserve-unknown-fields"]) return undefined;
  switch (schema.type) {
    case "integer":
      return "int";
    case "number":
      return "double";
    case "boolean":
      return "bool";
    case "string":
      return schema.format === undefined || !["date-time", "date", "duration", "byte"].includes(schema.format) ? "string" : undefined;
    default:
      return undefined;
  }
}

/** Whether `root` is a variable that holds an optional value (not shadowed by a comprehension variable). */
function isOptionalVariable(w: Walk, root: string, scope: ReadonlySet<string>): boolean {
  return !scope.has(root) && (w.env.optional ?? []).includes(root);
}

/** `type`, or `optional_type(type)` when `e` reads through an optional variable (`oldSelf.a` is an optional int). */
function throughOptional(w: Walk, e: Expr, scope: ReadonlySet<string>, type: string | undefined): string | undefined {
  const root = rootIdent(e);
  return type && root && isOptionalVariable(w, root, scope) ? `optional_type(${type})` : type;
}

/**
 * The static type of an operand when it is certain without cel-go's checker: a literal, a
 * schema-typed field (`self.replicas`; `optional_type(int)` through an optional variable), or
 * `size(...)`; undefined otherwise.
 */
function scalarType(w: Walk, e: Expr, scope: ReadonlySet<string>): string | undefined {
  switch (e.exprKind.case) {
    case "constExpr": {
      const k = e.exprKind.value.constantKind.case;
      return k === "int64Value" ? "int" : k === "uint64Value" ? "uint" : k === "doubleValue" ? "double" : k === "stringValue" ? "string" : k === "boolValue" ? "bool" : undefined;
    }
    case "identExpr":
      return scope.has(e.exprKind.value.name) ? undefined : throughOptional(w, e, scope, schemaScalar(w.env.schemas?.[e.exprKind.value.name]));
    case "selectExpr": {
      if (e.exprKind.value.testOnly) return "bool";
      const root = rootIdent(e);
      if (!root || scope.has(root)) return undefined;
      try {
        return throughOptional(w, e, scope, schemaScalar(schemaOfChain(w, e)));
      } catch {
        return undefined;
      }
    }
    case "callExpr":
      return e.exprKind.value.function === "size" ? "int" : undefined;
    default:
      return undefined;
  }
}

/**
 * The static type of an operand when it is certain without cel-go's checker: a scalar
 * (`scalarType`), or a schema-typed list of scalars (`list(int)`); undefined otherwise.
 */
function certainType(w: Walk, e: Expr, scope: ReadonlySet<string>): string | undefined {
  const scalar = scalarType(w, e, scope);
  if (scalar) return scalar;
  if (e.exprKind.case !== "identExpr" && e.exprKind.case !== "selectExpr") return undefined;
  const root = rootIdent(e);
  if (!root || scope.has(root) || e.exprKind.case === "selectExpr" && e.exprKind.value.testOnly) return undefined;
  let schema: SchemaNode | undefined;
  try {
    schema = schemaOfChain(w, e);
  } catch {
    return undefined;
  }
  if (!schema || schema.type !== "array" || schema["x-kubernetes-preserve-unknown-fields"] || schema["x-kubernetes-int-or-string"]) return undefined;
  const items = schemaScalar(schema.items);
  return throughOptional(w, e, scope, items ? `list(${items})` : undefined);
}

/** The conversion functions: none takes a type value. */
const CONVERSIONS = new Set(["string", "int", "uint", "double", "bool", "bytes", "duration", "timestamp"]);

/**
 * cel-go's type-check error ("found no matching overload for ...", its exact text) for the calls
 * whose operand types are certain here (`certainType`): indexing a scalar (`self[5]` on a
 * string), `size()` of a number, a bool or an optional, a conversion of a type value
 * (`string(type(self))`) or of an optional (`string(oldSelf)` of an `optionalOldSelf` rule), and
 * `flatten()` of a list of scalars. Undefined when the call may type-check.
 */
function certainOverloadError(w: Walk, name: string, target: Expr | undefined, args: readonly Expr[], scope: ReadonlySet<string>): string | undefined {
  const noMatch = (applied: string) => `found no matching overload for '${name}' applied to '${applied}'`;
  if (name === "_[_]" && !target && args.length === 2) {
    const [operand, index] = [scalarType(w, args[0]!, scope), certainType(w, args[1]!, scope)];
    if (operand && !isOptionalType(operand) && index) return noMatch(`(${operand}, ${index})`);
  }
  if (name === "size") {
    const unsized = (type: string | undefined) => type !== undefined && ["int", "uint", "double", "bool"].includes(type);
    if (target && args.length === 0) {
      const type = scalarType(w, target, scope);
      if (unsized(type)) return noMatch(`${type}.()`);
    } else if (!target && args.length === 1) {
      const type = certainType(w, args[0]!, scope);
      if (type && (unsized(type) || isOptionalType(type))) return noMatch(`(${type})`);
    }
  }
  if (CONVERSIONS.has(name) && !target && args.length === 1) {
    const arg = args[0]!;
    if (arg.exprKind.case === "callExpr" && arg.exprKind.value.function === "type" && !arg.exprKind.value.target && arg.exprKind.value.args.length === 1) {
      const type = certainType(w, arg.exprKind.value.args[0]!, scope);
      if (type) return noMatch(`(type(${type}))`);
    }
    const type = certainType(w, arg, scope);
    if (type && isOptionalType(type)) return noMatch(`(${type})`);
  }
  if (name === "flatten" && target && args.length === 0) {
    const type = certainType(w, target, scope);
    if (type?.startsWith("list(") && !type.startsWith("list(list(")) return noMatch(`${type}.()`);
  }
  return undefined;
}

function isOptionalType(type: string): boolean {
  return type.startsWith("optional_type(");
}

function rootIdent(e: Expr): string | undefined {
  if (e.exprKind.case === "identExpr") return e.exprKind.value.name;
  if (e.exprKind.case === "selectExpr" && e.exprKind.value.operand) return rootIdent(e.exprKind.value.operand);
  return undefined;
}

function walk(w: Walk, e: Expr | undefined, scope: ReadonlySet<string>): void {
  if (!e) return;
  w.size++;
  switch (e.exprKind.case) {
    case "identExpr": {
      const name = e.exprKind.value.name;
      if (scope.has(name)) return;
      if (w.env.variables.includes(name)) {
        w.references.add(name);
        return;
      }
      if (TYPE_IDENTS.has(name)) return;
      if (name === "optional_type") {
        w.refusals.push("the optional_type type identifier is not known to the engine");
        return;
      }
      fail(w, e, `undeclared reference to '${name}' (in container '')`);
      break;
    }
    case "selectExpr": {
      const operand = e.exprKind.value.operand;
      const q = qualifiedName(e);
      if (q && operand?.exprKind.case === "identExpr" && !scope.has(operand.exprKind.value.name) && NAMESPACES.has(operand.exprKind.value.name) && !w.env.variables.includes(operand.exprKind.value.name)) {
        fail(w, e, `undeclared reference to '${q}' (in container '')`);
      }
      walk(w, operand, scope);
      if (operand) {
        const parent = schemaOfChain(w, operand);
        if (parent) fieldSchema(w, e, parent, e.exprKind.value.field);
      }
      return;
    }
    case "callExpr": {
      const call = e.exprKind.value;
      let name = call.function;
      let target = call.target;
      if (target) {
        const q = qualifiedName(target);
        if (q && NAMESPACES.has(q.split(".")[0]!) && target.exprKind.case === "identExpr" && !scope.has(q) && !w.env.variables.includes(q)) {
          name = `${q}.${name}`;
          target = undefined;
        }
      }
      w.functions.add(name);
      if ((name === "_==_" || name === "_!=_") && call.args.length === 2) {
        const [l, r] = [scalarType(w, call.args[0]!, scope), scalarType(w, call.args[1]!, scope)];
        if (l && r && l !== r) fail(w, e, `found no matching overload for '${name}' applied to '(${l}, ${r})'`);
      }
      if (name === "_?._" && !target) schemaOfChain(w, e);
      const overloadError = certainOverloadError(w, name, target, call.args, scope);
      if (overloadError) fail(w, e, overloadError);
      if ((name === "_==_" || name === "_!=_") && call.args.some((a) => mayBeOptional(w, a, scope))) {
        w.refusals.push("== and != between optional values are not implemented in-process");
      }
      if (!OPERATOR.test(name)) {
        if (!IMPLEMENTED_FUNCTIONS.has(name) && !(w.env.mutating && MUTATING_ONLY_FUNCTIONS.has(name))) {
          const refused = refusedFunction(name, w.env.admission ?? false);
          if (!refused) fail(w, e, `undeclared reference to '${name}' (in container '')`);
          w.refusals.push(`${name}(): ${refused}`);
        }
      }
      // Literal checks the API server's AST validators make (regex, duration, timestamp literals).
      if ((name === "matches" || name === "find" || name === "findAll") && (target ? constString(call.args[0]) : constString(call.args[1])) !== undefined) {
        const pattern = (target ? constString(call.args[0]) : constString(call.args[1]))!;
        const err = regexCompiles(pattern);
        if (err) fail(w, e, `invalid matches argument`);
      }
      if ((name === "duration" || name === "timestamp") && !target && call.args.length === 1 && constString(call.args[0]) !== undefined) {
        const r = plan(engineEnvironment(), parse(`${name}(${JSON.stringify(constString(call.args[0]))})`))({});
        if (isCelError(r)) fail(w, e, `invalid ${name} argument`);
      }
      if (name === "format" && target && call.args[0]) w.exempt.add(call.args[0].id);
      walk(w, target, scope);
      for (const a of call.args) walk(w, a, scope);
      return;
    }
    case "listExpr":
      // cel-go exempts the argument list of format() from the homogeneous-literal rule.
      if (!w.exempt.has(e.id)) checkHomogeneous(w, e.exprKind.value.elements, "list");
      for (const el of e.exprKind.value.elements) walk(w, el, scope);
      return;
    case "structExpr": {
      const s = e.exprKind.value;
      const construction = s.messageName !== "";
      if (s.messageName && w.env.mutating && isMutationType(s.messageName)) {
        constructionAsMap(w, e);
      } else if (s.messageName) {
        w.refusals.push(`message construction (${s.messageName}{...}) is not implemented in-process`);
      }
      const keys = s.entries.map((en) => (en.keyKind.case === "mapKey" ? en.keyKind.value : undefined)).filter((k): k is Expr => k !== undefined);
      if (!construction) {
        checkHomogeneous(w, keys, "map key");
        checkHomogeneous(w, s.entries.map((en) => en.value).filter((v): v is Expr => v !== undefined), "map value");
      }
      for (const en of s.entries) {
        if (en.optionalEntry && construction) w.refusals.push("optional fields of a message construction are not implemented in-process");
        if (en.keyKind.case === "mapKey") walk(w, en.keyKind.value, scope);
        walk(w, en.value, scope);
      }
      return;
    }
    case "comprehensionExpr": {
      const c = e.exprKind.value;
      w.depth++;
      w.maxDepth = Math.max(w.maxDepth, w.depth);
      walk(w, c.iterRange, scope);
      walk(w, c.accuInit, scope);
      const inner = new Set([...scope, c.iterVar, c.accuVar, ...(c.iterVar2 ? [c.iterVar2] : [])]);
      walk(w, c.loopCondition, inner);
      walk(w, c.loopStep, inner);
      walk(w, c.result, new Set([...scope, c.accuVar]));
      w.depth--;
      return;
    }
    default:
      return;
  }
}

/** `Object`, `Object.<field path>` and `JSONPatch`: the types MutatingAdmissionPolicy expressions construct. */
function isMutationType(name: string): boolean {
  return name === "Object" || name.startsWith("Object.") || name === "JSONPatch";
}

const JSON_PATCH_FIELDS = new Set(["op", "path", "from", "value"]);

/**
 * Turns `Object.spec{replicas: 1}` or `JSONPatch{op: "add", ...}` into the map literal of its
 * fields, which is the value the API server builds (k8s.io/apiserver/pkg/cel/mutation/dynamic
 * ObjectVal, JSONPatchVal). Refused where the API server checks more than the map shows: a
 * JSONPatch field it does not declare, and a nested construction whose type name is not the
 * field path (`Object.spec{selector: Object.spec.wrong{}}`, a runtime "type mismatch" upstream).
 */
function constructionAsMap(w: Walk, e: Expr): void {
  if (e.exprKind.case !== "structExpr") return;
  const s = e.exprKind.value;
  for (const en of s.entries) {
    if (en.keyKind.case !== "fieldKey") continue;
    const field = en.keyKind.value;
    if (s.messageName === "JSONPatch" && !JSON_PATCH_FIELDS.has(field)) w.refusals.push(`JSONPatch has no field ${field} (op, path, from, value)`);
    const child = en.value?.exprKind.case === "structExpr" ? en.value.exprKind.value.messageName : "";
    if (child && s.messageName !== "JSONPatch" && child !== `${s.messageName}.${field}`) {
      w.refusals.push(`${child}{...} as field ${field} of ${s.messageName}: the API server reports a type mismatch at run time, which is not reproduced`);
    }
    en.keyKind = { case: "mapKey", value: { id: en.id, exprKind: { case: "constExpr", value: { constantKind: { case: "stringValue", value: field } } } } as unknown as Expr };
  }
  s.messageName = "";
}

/**
 * Compiles a CEL expression for the Kubernetes v1.36 environment.
 *
 * What the API server refuses is thrown as a `CelCompileError` with its position and reason:
 * syntax errors, undeclared variables and functions, fields the schema of `self` does not have,
 * invalid regex/duration/timestamp literals, heterogeneous literals, and the type errors whose
 * operand types are certain without cel-go's full checker (literals and schema-typed fields:
 * `self.replicas == 1.0`, `self[5]` on a string, `size()` of an int, `string(type(self))`,
 * `flatten()` of a list of scalars), with cel-go's message and position. Other type errors are
 * not all found: the program then evaluates to an error or is refused. An expression that is valid for
 * the API server but that the in-process evaluator cannot evaluate exactly (optional types,
 * two-variable comprehensions, the url, format, authz and jsonpatch libraries) compiles with
 * `refusal` set, and `evaluate` returns `{ kind: "refused" }`.
 *
 * @throws CelCompileError
 */
export function compile(expression: string, env: CompileEnvironment): CelProgram {
  let parsed: ParsedExpr & { expr: Expr };
  let nextId: () => bigint;
  try {
    const result = parseCel(expression);
    if (!result) return refusedProgram(expression, "optional syntax (`.?`, `[?`, `?` elements and entries) in a form the in-process parser does not place");
    ({ parsed, nextId } = result);
  } catch (e) {
    if (e instanceof MacroError) throw new CelCompileError(expression, positionOf(expression, e.offset), e.message);
    const err = e as { location?: { start?: { offset: number } }; message: string };
    const offset = err.location?.start?.offset ?? 0;
    const reason = err.message.replace(/^<input>:\d+:\d+: /, "");
    throw new CelCompileError(expression, positionOf(expression, offset), `Syntax error: ${reason}`);
  }
  const w: Walk = { expression, env, positions: parsed.sourceInfo?.positions ?? {}, refusals: [], references: new Set(), functions: new Set(), size: 0, depth: 0, maxDepth: 0, exempt: new Set() };
  walk(w, parsed.expr, new Set());
  const refusal = w.refusals[0];
  if (refusal) return { ...refusedProgram(expression, refusal), references: w.references, functions: w.functions, size: w.size, comprehensionDepth: w.maxDepth };
  parsed.expr = optionalLiteralsForEngine(forEngine(parsed.expr, nextId), nextId);
  const run = plan(engineEnvironment(), parsed);
  return {
    expression,
    refusal: undefined,
    references: w.references,
    functions: w.functions,
    size: w.size,
    comprehensionDepth: w.maxDepth,
    evaluate(bindings) {
      const bound = costBound(w.size, w.maxDepth, bindings);
      if (bound > PER_CALL_LIMIT) {
        return { kind: "refused", reason: `the runtime cost could exceed the per-expression limit (${PER_CALL_LIMIT}): the in-process evaluator bounds the cost (${bound.toExponential(2)}) instead of tracking it as cel-go does` };
      }
      let result: CelValue | ReturnType<typeof run>;
      try {
        result = run(bindings as never);
      } catch (e) {
        return { kind: "refused", reason: `the engine threw: ${(e as Error).message}` };
      }
      if (isCelError(result)) {
        const refused = refusalOf(result);
        if (refused) return { kind: "refused", reason: refused };
        return { kind: "error", message: result.message };
      }
      return { kind: "value", value: result };
    },
  };
}

/** The API server's runtime cost limit of one expression (celconfig.PerCallLimit in Kubernetes v1.36). */
export const PER_CALL_LIMIT = 1_000_000;

/** Elements of an input value (nodes of lists and maps) and its longest string. */
function measure(v: unknown, m: { elements: number; longest: number }, depth = 0): void {
  if (depth > 100) {
    m.elements = Infinity;
    return;
  }
  m.elements++;
  if (typeof v === "string" || v instanceof Uint8Array) m.longest = Math.max(m.longest, v.length);
  else if (Array.isArray(v)) for (const x of v) measure(x, m, depth + 1);
  else if (v instanceof Map) {
    for (const [k, x] of v) {
      measure(k, m, depth + 1);
      measure(x, m, depth + 1);
    }
  } else if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    for (const [k, x] of Object.entries(v)) {
      measure(k, m, depth + 1);
      measure(x, m, depth + 1);
    }
  }
}

/**
 * A bound of cel-go's runtime cost, used to refuse evaluations that might exceed the API
 * server's limit: every AST node evaluated once per iteration of each enclosing comprehension
 * (at most as many iterations as input elements), each costing at most the longest input string
 * (string functions are linear in their arguments). Regex costs are not modelled exactly.
 */
function costBound(astSize: number, depth: number, bindings: Record<string, unknown>): number {
  const m = { elements: 0, longest: 0 };
  for (const v of Object.values(bindings)) measure(v, m);
  return astSize * Math.pow(m.elements + 1, depth) * (1 + m.longest);
}

function refusedProgram(expression: string, reason: string): CelProgram {
  return {
    expression,
    refusal: reason,
    references: new Set(),
    functions: new Set(),
    size: 0,
    comprehensionDepth: 0,
    evaluate: () => ({ kind: "refused", reason }),
  };
}

/** The environment of CRD `x-kubernetes-validations` rules: `self` and `oldSelf`. */
export const CRD_RULE_ENVIRONMENT: CompileEnvironment = { variables: ["self", "oldSelf"] };

/**
 * The environment of one CRD `x-kubernetes-validations` rule, and of its messageExpression, on a
 * node of schema `schema`: `self` and `oldSelf` typed by it, and `oldSelf` an optional of it
 * with `optionalOldSelf` (apiextensions-apiserver v1.36 compiles both expressions so).
 */
export function crdRuleEnvironment(schema: SchemaNode, rule: { optionalOldSelf?: boolean | undefined }): CompileEnvironment {
  return { variables: ["self", "oldSelf"], schemas: { self: schema, oldSelf: schema }, ...(rule.optionalOldSelf ? { optional: ["oldSelf"] } : {}) };
}

/**
 * The environment of ValidatingAdmissionPolicy expressions (validations, messageExpression,
 * auditAnnotations, matchConditions, variables), k8s.io/apiserver/pkg/admission/plugin/policy
 * in Kubernetes v1.36; `authorizer` calls are refused in-process.
 */
export const VALIDATING_POLICY_ENVIRONMENT: CompileEnvironment = {
  variables: ["object", "oldObject", "request", "params", "namespaceObject", "variables", "authorizer"],
  admission: true,
};

/**
 * The environment of MutatingAdmissionPolicy expressions: the validating one plus `Object{...}`
 * and `JSONPatch{...}` constructions and `jsonpatch.escapeKey`.
 */
export const MUTATING_POLICY_ENVIRONMENT: CompileEnvironment = {
  variables: ["object", "oldObject", "request", "params", "namespaceObject", "variables", "authorizer"],
  admission: true,
  mutating: true,
};
