import { celList, celMethod, CelScalar, isCelList, listType, type CelFunc, type CelValue } from "@bufbuild/cel";
import { ExprSchema, type Expr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { clone, create } from "@bufbuild/protobuf";
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

/** A macro that cel-go refuses to expand: the argument's id and cel-go's message. */
export class ReceiverMacroError extends Error {
  readonly exprId: bigint;
  constructor(exprId: bigint, message: string) {
    super(message);
    this.exprId = exprId;
  }
}

const SORT_BY_INPUT = "@__sortBy_input__";
const UNUSED = "#unused";
export const SORT_BY_ASSOCIATED_KEYS = "@sortByAssociatedKeys";

type Init = { case: string; value: unknown };

/**
 * Replaces `sortBy`, `optMap` and `optFlatMap` calls under `root` by cel-go's expansions (in
 * place, bottom-up).
 *
 * @throws ReceiverMacroError with cel-go's message for a variable that is not a simple name, or
 *   a sortBy target of another kind than cel-go accepts.
 */
export function expandReceiverMacros(root: Expr, nextId: () => bigint): Expr {
  const node = (exprKind: Init): Expr => create(ExprSchema, { id: nextId(), exprKind } as never);
  const ident = (name: string) => node({ case: "identExpr", value: { name } });
  const call = (fn: string, target: Expr | undefined, ...args: Expr[]) => node({ case: "callExpr", value: { function: fn, ...(target ? { target } : {}), args } });
  const copy = (e: Expr): Expr => {
    const c = clone(ExprSchema, e);
    const renumber = (x: Expr) => {
      x.id = nextId();
      for (const child of childrenOf(x)) renumber(child);
    };
    renumber(c);
    return c;
  };
  /** cel-go's bind: `name` = init while `body` is evaluated. */
  const bind = (name: string, init: Expr, body: Expr) =>
    node({
      case: "comprehensionExpr",
      value: {
        iterRange: node({ case: "listExpr", value: { elements: [] } }),
        iterVar: UNUSED,
        accuVar: name,
        accuInit: init,
        loopCondition: node({ case: "constExpr", value: { constantKind: { case: "boolValue", value: false } } }),
        loopStep: ident(name),
        result: body,
      },
    });
  const visit = (e: Expr): Expr => {
    for (const [get, set] of slots(e)) set(visit(get()));
    if (e.exprKind.case !== "callExpr") return e;
    const c = e.exprKind.value;
    if (!c.target || c.args.length !== 2) return e;
    const variable = c.args[0]!.exprKind.case === "identExpr" ? c.args[0]!.exprKind.value.name : undefined;
    switch (c.function) {
      case "sortBy": {
        const kind = c.target.exprKind.case;
        if (!["listExpr", "selectExpr", "identExpr", "comprehensionExpr", "callExpr"].includes(kind ?? "")) {
          throw new ReceiverMacroError(c.target.id, "sortBy can only be applied to a list, identifier, comprehension, call or select expression");
        }
        if (variable === undefined) throw new ReceiverMacroError(c.args[0]!.id, "argument is not an identifier");
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
        if (variable === undefined) throw new ReceiverMacroError(c.args[0]!.id, `${c.function}() variable name must be a simple identifier`);
        const mapped = bind(variable, call("value", copy(c.target)), c.args[1]!);
        const present = c.function === "optMap" ? call("optional.of", undefined, mapped) : mapped;
        return node({ case: "callExpr", value: { function: "_?_:_", args: [call("hasValue", c.target), present, call("optional.none", undefined)] } });
      }
      default:
        return e;
    }
  };
  return visit(root);
}

function childrenOf(e: Expr): Expr[] {
  return slots(e).map(([get]) => get());
}

/** Getters and setters of a node's children. */
function slots(e: Expr): [() => Expr, (x: Expr) => void][] {
  const out: [() => Expr, (x: Expr) => void][] = [];
  switch (e.exprKind.case) {
    case "selectExpr": {
      const s = e.exprKind.value;
      if (s.operand) out.push([() => s.operand!, (x) => (s.operand = x)]);
      break;
    }
    case "callExpr": {
      const c = e.exprKind.value;
      if (c.target) out.push([() => c.target!, (x) => (c.target = x)]);
      c.args.forEach((_, i) => out.push([() => c.args[i]!, (x) => (c.args[i] = x)]));
      break;
    }
    case "listExpr": {
      const l = e.exprKind.value;
      l.elements.forEach((_, i) => out.push([() => l.elements[i]!, (x) => (l.elements[i] = x)]));
      break;
    }
    case "structExpr":
      for (const en of e.exprKind.value.entries) {
        if (en.keyKind.case === "mapKey") out.push([() => en.keyKind.value as Expr, (x) => (en.keyKind = { case: "mapKey", value: x })]);
        if (en.value) out.push([() => en.value!, (x) => (en.value = x)]);
      }
      break;
    case "comprehensionExpr": {
      const c = e.exprKind.value;
      for (const part of ["iterRange", "accuInit", "loopCondition", "loopStep", "result"] as const) {
        if (c[part]) out.push([() => c[part]!, (x) => (c[part] = x)]);
      }
      break;
    }
    default:
      break;
  }
  return out;
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
