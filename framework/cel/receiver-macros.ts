import { celList, celMethod, CelScalar, isCelList, listType, type CelFunc, type CelValue } from "@bufbuild/cel";
import type { Expr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { bindExpr, cloneWithNewIds, MacroError, mapChildren, newExpr, type ExprInit } from "./ast.ts";
import { compareValues } from "./library/values.ts";
import { refuse } from "./library/refuse.ts";

/**
 * The receiver macros of cel-go v0.26 that @bufbuild/cel's parser leaves as plain calls, other
 * than the two-variable comprehensions: ext lists v3's `sortBy(x, key)` and the optional
 * library's `optMap(x, expr)` and `optFlatMap(x, expr)`. `expandReceiverMacros` replaces each by
 * cel-go's expansion (ext/lists.go sortByMacro; cel/library.go optMap, optFlatMap), so the
 * checks, the estimator and the engine see what cel-go sees; `@sortByAssociatedKeys` is
 * evaluated here.
 */

const SORT_BY_INPUT = "@__sortBy_input__";
export const SORT_BY_ASSOCIATED_KEYS = "@sortByAssociatedKeys";

/**
 * Replaces `sortBy`, `optMap` and `optFlatMap` calls under `root` by cel-go's expansions (in
 * place, bottom-up).
 *
 * @throws MacroError with cel-go's message for a variable that is not a simple name, or
 *   a sortBy target of another kind than cel-go accepts.
 */
export function expandReceiverMacros(root: Expr, nextId: () => bigint): Expr {
  const node = (exprKind: ExprInit): Expr => newExpr(nextId(), exprKind);
  const ident = (name: string) => node({ case: "identExpr", value: { name } });
  const call = (fn: string, target: Expr | undefined, ...args: Expr[]) => node({ case: "callExpr", value: { function: fn, ...(target ? { target } : {}), args } });
  const bind = (name: string, init: Expr, body: Expr) => bindExpr(name, init, body, nextId);
  const visit = (e: Expr): Expr => {
    mapChildren(e, visit);
    if (e.exprKind.case !== "callExpr") return e;
    const c = e.exprKind.value;
    if (!c.target || c.args.length !== 2) return e;
    const variable = c.args[0]!.exprKind.case === "identExpr" ? c.args[0]!.exprKind.value.name : undefined;
    switch (c.function) {
      case "sortBy": {
        const kind = c.target.exprKind.case;
        if (!["listExpr", "selectExpr", "identExpr", "comprehensionExpr", "callExpr"].includes(kind ?? "")) {
          throw new MacroError(c.target.id, "sortBy can only be applied to a list, identifier, comprehension, call or select expression");
        }
        if (variable === undefined) throw new MacroError(c.args[0]!.id, "argument is not an identifier");
        // [input].map(variable, key), as cel-go's MakeMap builds it.
        const keys = node({
          case: "comprehensionExpr",
          value: {
            iterRange: ident(SORT_BY_INPUT),
            iterVar: variable,
            accuVar: "@result",
            accuInit: node({ case: "listExpr", value: { elements: [] } }),
            loopCondition: node({ case: "constExpr", value: { constantKind: { case: "boolValue", value: true } } }),
            loopStep: call("_+_", undefined, ident("@result"), node({ case: "listExpr", value: { elements: [c.args[1]!] } })),
            result: ident("@result"),
          },
        });
        return bind(SORT_BY_INPUT, c.target, call(SORT_BY_ASSOCIATED_KEYS, ident(SORT_BY_INPUT), keys));
      }
      case "optMap":
      case "optFlatMap": {
        if (variable === undefined) throw new MacroError(c.args[0]!.id, `${c.function}() variable name must be a simple identifier`);
        const mapped = bind(variable, call("value", cloneWithNewIds(c.target, nextId)), c.args[1]!);
        const present = c.function === "optMap" ? call("optional.of", undefined, mapped) : mapped;
        return node({ case: "callExpr", value: { function: "_?_:_", args: [call("hasValue", c.target), present, call("optional.none", undefined)] } });
      }
      default:
        return e;
    }
  };
  return visit(root);
}

/** cel-go's sortListByAssociatedKeys; its sort is not stable, so equal keys are refused. */
function sortByAssociatedKeys(list: CelValue, keys: CelValue): CelValue {
  if (!isCelList(list) || !isCelList(keys)) throw new Error("no such overload");
  const items = [...list];
  const ks = [...keys];
  if (items.length !== ks.length) {
    throw new Error(`@sortByAssociatedKeys() expected a list of the same size as the associated keys list, but got ${items.length} and ${ks.length} elements respectively`);
  }
  if (items.length === 0) return list;
  const kind = (v: CelValue) => (v === null ? "null" : typeof v === "object" ? (isCelList(v) ? "list" : v.constructor.name) : typeof v);
  const comparable = new Set(["bigint", "number", "string", "boolean"]);
  if (!comparable.has(kind(ks[0]!))) refuse("sortBy() with keys that are not ints, doubles, strings or bools");
  if (ks.some((k) => kind(k) !== kind(ks[0]!))) throw new Error("list elements must have the same type");
  const order = items.map((_, i) => i).sort((a, b) => compareValues(ks[a]!, ks[b]!));
  for (let i = 1; i < order.length; i++) {
    if (compareValues(ks[order[i - 1]!]!, ks[order[i]!]!) === 0) refuse("sortBy() with equal keys: cel-go's sort is not stable, so their order is Go's");
  }
  return celList(order.map((i) => items[i]!));
}

export const receiverMacroFunctions: CelFunc[] = [
  celMethod(SORT_BY_ASSOCIATED_KEYS, listType(CelScalar.DYN), [listType(CelScalar.DYN)], listType(CelScalar.DYN), function (keys) {
    return sortByAssociatedKeys(this, keys) as never;
  }),
];
