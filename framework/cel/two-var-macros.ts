import { celFunc, celList, celMap, CelScalar, isCelList, isCelMap, listType, mapType, type CelFunc, type CelList, type CelMap, type CelValue } from "@bufbuild/cel";
import type { Expr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { bindExpr, MacroError, mapChildren, newExpr } from "./ast.ts";
import { refuse } from "./library/refuse.ts";

/**
 * cel-go v0.26's two-variable comprehensions (`ext.TwoVarComprehensions`, in the Kubernetes
 * environment since 1.33): `all`, `exists`, `existsOne`/`exists_one` with two variables, and
 * `transformList`, `transformMap`, `transformMapEntry` (with an optional filter), over
 * @bufbuild/cel's AST, which leaves them as plain calls.
 *
 * `expandTwoVarMacros` turns each into cel-go's own comprehension (ext/comprehensions.go: the
 * same accumulator, condition, step and result), with `iterVar2` set: the form the cost
 * estimator reads. The engine folds over one variable only, so for evaluation
 * `forEngine` rewrites such a comprehension as a binding of the range, evaluated once, and a
 * one-variable fold over its keys (a map) or indices (a list), in which the second variable
 * reads `range[key]`.
 */

export const TWO_VAR_MACROS: ReadonlyMap<string, readonly number[]> = new Map([
  ["all", [3]],
  ["exists", [3]],
  ["existsOne", [3]],
  ["exists_one", [3]],
  ["transformList", [3, 4]],
  ["transformMap", [3, 4]],
  ["transformMapEntry", [3, 4]],
]);

const ACCU = "@result";
/** The accumulator name of cel-go's parser without hidden accumulators, refused as an iteration variable too. */
const LEGACY_ACCU = "__result__";
/** The function behind transformMap and transformMapEntry (cel-go's `cel.@mapInsert`). */
export const MAP_INSERT = "cel.@mapInsert";
const RANGE_KEYS = "@kubeloop.twoVarKeys";
const RANGE_KEYS_ORDERED = "@kubeloop.twoVarKeysOrdered";

function identName(e: Expr | undefined): string | undefined {
  return e?.exprKind.case === "identExpr" ? e.exprKind.value.name : undefined;
}

/**
 * Replaces every two-variable macro call under `root` by cel-go's expansion (in place,
 * bottom-up, as cel-go expands nested macros).
 *
 * @throws MacroError with cel-go's message for a variable that is not a simple name,
 *   two variables of one name, or a variable named like the accumulator.
 */
export function expandTwoVarMacros(root: Expr, nextId: () => bigint): Expr {
  const visit = (e: Expr): Expr => {
    mapChildren(e, visit);
    if (e.exprKind.case !== "callExpr") return e;
    const call = e.exprKind.value;
    const arities = TWO_VAR_MACROS.get(call.function);
    return call.target && arities?.includes(call.args.length) ? expand(e.id, call.function, call.target, call.args, nextId) : e;
  };
  return visit(root);
}

function expand(id: bigint, macro: string, target: Expr, args: Expr[], nextId: () => bigint): Expr {
  const k = identName(args[0]);
  if (k === undefined) throw new MacroError(args[0]!.id, "argument must be a simple name");
  const v = identName(args[1]);
  if (v === undefined) throw new MacroError(args[1]!.id, "argument must be a simple name");
  if (k === v) throw new MacroError(args[1]!.id, `duplicate variable name: ${k}`);
  if (k === ACCU || k === LEGACY_ACCU) throw new MacroError(args[0]!.id, "iteration variable overwrites accumulator variable");
  if (v === ACCU || v === LEGACY_ACCU) throw new MacroError(args[1]!.id, "iteration variable overwrites accumulator variable");
  const accu = () => newExpr(nextId(), { case: "identExpr", value: { name: ACCU } });
  const call = (fn: string, ...a: Expr[]) => newExpr(nextId(), { case: "callExpr", value: { function: fn, args: a } });
  const literal = (constantKind: { case: string; value: unknown }) => newExpr(nextId(), { case: "constExpr", value: { constantKind } });
  const list = (...elements: Expr[]) => newExpr(nextId(), { case: "listExpr", value: { elements, optionalIndices: [] } });
  const emptyMap = () => newExpr(nextId(), { case: "structExpr", value: { messageName: "", entries: [] } });
  const [filter, transform] = args.length === 4 ? [args[2]!, args[3]!] : [undefined, args[2]!];
  let accuInit: Expr, condition: Expr, step: Expr, result: Expr;
  switch (macro) {
    case "all":
      [accuInit, condition, step, result] = [literal({ case: "boolValue", value: true }), call("@not_strictly_false", accu()), call("_&&_", accu(), args[2]!), accu()];
      break;
    case "exists":
      [accuInit, condition, step, result] = [literal({ case: "boolValue", value: false }), call("@not_strictly_false", call("!_", accu())), call("_||_", accu(), args[2]!), accu()];
      break;
    case "existsOne":
    case "exists_one":
      accuInit = literal({ case: "int64Value", value: 0n });
      condition = literal({ case: "boolValue", value: true });
      step = call("_?_:_", args[2]!, call("_+_", accu(), literal({ case: "int64Value", value: 1n })), accu());
      result = call("_==_", accu(), literal({ case: "int64Value", value: 1n }));
      break;
    default: {
      accuInit = macro === "transformList" ? list() : emptyMap();
      condition = literal({ case: "boolValue", value: true });
      step =
        macro === "transformList"
          ? call("_+_", accu(), list(transform))
          : macro === "transformMap"
            ? call(MAP_INSERT, accu(), newExpr(nextId(), { case: "identExpr", value: { name: k } }), transform)
            : call(MAP_INSERT, accu(), transform);
      if (filter) step = call("_?_:_", filter, step, accu());
      result = accu();
    }
  }
  return newExpr(id, {
    case: "comprehensionExpr",
    value: { iterRange: target, iterVar: k, iterVar2: v, accuVar: ACCU, accuInit, loopCondition: condition, loopStep: step, result },
  });
}

/** Replaces free references to `name` (not shadowed by an inner comprehension's variables) by `make()`. */
function substitute(e: Expr, name: string, make: () => Expr): Expr {
  if (e.exprKind.case === "identExpr") return e.exprKind.value.name === name ? make() : e;
  if (e.exprKind.case === "comprehensionExpr") {
    const c = e.exprKind.value;
    if (c.iterRange) c.iterRange = substitute(c.iterRange, name, make);
    if (c.accuInit) c.accuInit = substitute(c.accuInit, name, make);
    const loopShadows = c.iterVar === name || c.iterVar2 === name || c.accuVar === name;
    if (!loopShadows) {
      if (c.loopCondition) c.loopCondition = substitute(c.loopCondition, name, make);
      if (c.loopStep) c.loopStep = substitute(c.loopStep, name, make);
    }
    if (c.accuVar !== name && c.result) c.result = substitute(c.result, name, make);
    return e;
  }
  mapChildren(e, (child) => substitute(child, name, make));
  return e;
}

/**
 * Rewrites every two-variable comprehension under `root` for the engine (in place): the range
 * is bound once to a hidden variable, the fold runs over its keys or indices under a hidden
 * name, and the first and second variables read that key and `range[key]`. A transformList over
 * a map is refused when evaluated: its order is Go's map iteration order on the API server.
 */
export function forEngine(root: Expr, nextId: () => bigint): Expr {
  let counter = 0;
  const visit = (e: Expr): Expr => {
    mapChildren(e, visit);
    if (e.exprKind.case !== "comprehensionExpr" || !e.exprKind.value.iterVar2) return e;
    const c = e.exprKind.value;
    const n = counter++;
    const rangeVar = `@kubeloop.range${n}`;
    const keyVar = `@kubeloop.key${n}`;
    const ident = (name: string) => newExpr(nextId(), { case: "identExpr", value: { name } });
    const ordered = c.accuInit?.exprKind.case === "listExpr";
    const keys = newExpr(nextId(), { case: "callExpr", value: { function: ordered ? RANGE_KEYS_ORDERED : RANGE_KEYS, args: [ident(rangeVar)] } });
    const value = () => newExpr(nextId(), { case: "callExpr", value: { function: "_[_]", args: [ident(rangeVar), ident(keyVar)] } });
    for (const part of ["loopCondition", "loopStep", "result"] as const) {
      let x = c[part]!;
      x = substitute(x, c.iterVar2, value);
      x = substitute(x, c.iterVar, () => ident(keyVar));
      c[part] = x;
    }
    const range = c.iterRange!;
    c.iterRange = keys;
    c.iterVar = keyVar;
    c.iterVar2 = "";
    // The range evaluated once, as cel-go's bind does.
    return bindExpr(rangeVar, range, e, nextId);
  };
  return visit(root);
}

function keysOf(range: CelValue, ordered: boolean): CelList {
  if (isCelList(range)) return celList(Array.from({ length: range.size }, (_, i) => BigInt(i)));
  if (isCelMap(range)) {
    if (ordered) refuse("transformList() over a map: the API server lists the entries in Go's map iteration order");
    return celList([...range.keys()]);
  }
  throw new Error(`type mismatch: iterable vs ${typeof range}`);
}

function insert(map: CelValue, key: CelValue, value: CelValue): CelMap {
  if (!isCelMap(map)) throw new Error("no such overload");
  if (map.has(key as never)) throw new Error(`insert failed: key ${String(key)} already exists`);
  const next = new Map(map);
  next.set(key as never, value);
  return celMap(next);
}

/** The engine functions the rewritten comprehensions call. */
export const twoVarFunctions: CelFunc[] = [
  celFunc(RANGE_KEYS, [CelScalar.DYN], listType(CelScalar.DYN), (r) => keysOf(r, false)),
  celFunc(RANGE_KEYS_ORDERED, [CelScalar.DYN], listType(CelScalar.DYN), (r) => keysOf(r, true)),
  celFunc(MAP_INSERT, [mapType(CelScalar.DYN, CelScalar.DYN), CelScalar.DYN, CelScalar.DYN], mapType(CelScalar.DYN, CelScalar.DYN), (m, k, v) => insert(m, k, v)),
  celFunc(MAP_INSERT, [mapType(CelScalar.DYN, CelScalar.DYN), mapType(CelScalar.DYN, CelScalar.DYN)], mapType(CelScalar.DYN, CelScalar.DYN), (m, entries) => {
    let out: CelMap = m;
    if (!isCelMap(entries)) throw new Error("no such overload");
    for (const [k, v] of entries) out = insert(out, k, v);
    return out;
  }),
];
