import type { Expr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { MacroError } from "../ast.ts";
import { parseCel } from "../parse.ts";
import { extensionCallEstimate, kubernetesCallEstimate } from "./library-costs.ts";
import { NAMESPACES, TYPE_IDENTS } from "../environment.ts";
import { FORMAT_NAMES } from "../library/format.ts";
import { signatureOf } from "./signatures.ts";
import { isScalar, joinTypes, listOf, optionalOf, struct, T, Uncertain, uncertain, type AstNode, type CelType, type DeclType } from "./types.ts";
import { add, factor, fixed, LIST_CREATE_BASE, MAP_CREATE_BASE, MAX_UINT64, mul, mulSat, addSat, REGEX_LENGTH, STRING_TRAVERSAL, union, UNKNOWN, type CostRange } from "./units.ts";

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
 * functions `signatureOf` lists); for anything else (an operand of type `dyn` where the overload
 * would depend on it, a message construction) it answers `undefined` rather than a guess.
 */

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
        return isBind(e) ? this.costBind(e) : this.costComprehension(e);
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
    if (name.startsWith("format.") && FORMAT_NAMES.includes(name.slice("format.".length))) {
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

  /** cel-go's costBind: the (empty) range, the bound value and the result, with the result's sizes. */
  costBind(e: Expr): CostRange {
    if (e.exprKind.case !== "comprehensionExpr") throw new Error("not a comprehension");
    const c = e.exprKind.value;
    const init = c.accuInit!;
    let sum = add(this.cost(c.iterRange), this.cost(init));
    this.push(c.accuVar, { path: this.pathOf(init), size: this.computeSize(init), entrySize: this.computeEntrySize(init), type: this.typeOf(init) });
    sum = add(sum, this.cost(c.result));
    this.pop(c.accuVar);
    this.types.set(e.id, this.typeOf(c.result!));
    const size = this.computeSize(c.result!);
    if (size) this.sizes.set(e.id, size);
    const entry = this.computeEntrySize(c.result!);
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
    const ext = extensionCallEstimate(this, overload, target, args);
    if (ext) return withArgs(ext);
    const k8s = kubernetesCallEstimate(this, name, overload, target, args);
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

}


/** cel-go's isBind: a fold over an empty list literal that never loops, binding its accumulator (sortBy, optMap, optFlatMap). */
function isBind(e: Expr): boolean {
  if (e.exprKind.case !== "comprehensionExpr") return false;
  const c = e.exprKind.value;
  const range = c.iterRange?.exprKind;
  const condition = c.loopCondition?.exprKind;
  return range?.case === "listExpr" && range.value.elements.length === 0
    && condition?.case === "constExpr" && condition.value.constantKind.case === "boolValue" && condition.value.constantKind.value === false
    && c.accuVar !== "__result__";
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
    const result = parseCel(expression);
    if (!result) return "its optional syntax is not placed by the in-process parser";
    root = result.parsed.expr;
  } catch (e) {
    if (e instanceof MacroError) return `it does not compile (${e.message})`;
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
