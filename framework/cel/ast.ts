import { ExprSchema, type Expr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { clone, create } from "@bufbuild/protobuf";

/**
 * Building blocks for the rewrites of @bufbuild/cel's parsed AST (macro expansions, the optional
 * syntax, the engine's forms): new nodes, a node's children, fresh ids, and cel-go's bind shape.
 */

/** The `exprKind` of a new node, as a plain init object (`create` makes the messages). */
export type ExprInit = { case: string; value: unknown };

/** A new node. */
export function newExpr(id: bigint, exprKind: ExprInit): Expr {
  return create(ExprSchema, { id, exprKind } as never);
}

/** A node's children, each as a getter and a setter, in source order (a map entry's key before its value). */
export function childSlots(e: Expr): [() => Expr, (x: Expr) => void][] {
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

/** A node's children. */
export function children(e: Expr): Expr[] {
  return childSlots(e).map(([get]) => get());
}

/** Replaces each child of `e` by `f(child)` (in place). */
export function mapChildren(e: Expr, f: (child: Expr) => Expr): void {
  for (const [get, set] of childSlots(e)) set(f(get()));
}

/** Allocates ids above every id of the parsed expression. */
export function idAllocator(root: Expr): () => bigint {
  let max = 0n;
  const visit = (e: Expr) => {
    if (e.id > max) max = e.id;
    children(e).forEach(visit);
  };
  visit(root);
  return () => ++max;
}

/** A deep copy of `e` with fresh ids. */
export function cloneWithNewIds(e: Expr, nextId: () => bigint): Expr {
  const c = clone(ExprSchema, e);
  const renumber = (x: Expr) => {
    x.id = nextId();
    children(x).forEach(renumber);
  };
  renumber(c);
  return c;
}

/** cel-go's bind: `name` holds `init` (evaluated once) while `body` is evaluated; a fold over no items. */
export function bindExpr(name: string, init: Expr, body: Expr, nextId: () => bigint): Expr {
  return newExpr(nextId(), {
    case: "comprehensionExpr",
    value: {
      iterRange: newExpr(nextId(), { case: "listExpr", value: { elements: [] } }),
      iterVar: "#unused",
      accuVar: name,
      accuInit: init,
      loopCondition: newExpr(nextId(), { case: "constExpr", value: { constantKind: { case: "boolValue", value: false } } }),
      loopStep: newExpr(nextId(), { case: "identExpr", value: { name } }),
      result: body,
    },
  });
}

/** A macro that cel-go refuses to expand: the offending argument's id and cel-go's message. */
export class MacroError extends Error {
  readonly exprId: bigint;
  /** The argument's offset in the expression, once `parseCel` has looked it up. */
  offset = 0;
  constructor(exprId: bigint, message: string) {
    super(message);
    this.exprId = exprId;
  }
}
