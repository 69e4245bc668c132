import { parse } from "@bufbuild/cel";
import type { Expr, ParsedExpr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { children, cloneWithNewIds, mapChildren, newExpr } from "./ast.ts";
import { OPTIONAL_ELEMENTS, OPTIONAL_ENTRIES, OPTIONAL_INDEX, OPTIONAL_SELECT } from "./library/optional.ts";

/**
 * cel-go's optional syntax (`cel.OptionalTypes()`, in the Kubernetes environment since 1.28),
 * which @bufbuild/cel's parser does not accept: `a.?b` (the call `_?._(a, "b")`), `a[?k]`
 * (`_[?_](a, k)`), optional list elements `[a, ?b]` and optional map entries `{?k: v}`.
 *
 * `parseWithOptionalSyntax` removes each such `?` from the source, parses the rest, and puts
 * the optional forms back into the AST where the removed marks were, as cel-go's parser builds
 * them. Positions (`sourceInfo.positions`) are those of the original expression. A mark that
 * cannot be placed makes the result `undefined`: the caller refuses rather than guesses.
 */

type Mark = { kind: "select" | "index"; at: number } | { kind: "element" | "entry"; at: number };

interface Rewrite {
  source: string;
  /** Original offset of every offset of `source` (and of its end). */
  original: number[];
  marks: Mark[];
}

const IDENT_CHAR = /[_a-zA-Z0-9]/;

/** Scans `source` outside string literals and comments, removing the `?` of optional syntax. */
function rewrite(source: string): Rewrite | undefined {
  let out = "";
  const original: number[] = [];
  const marks: Mark[] = [];
  const stack: ("index" | "list" | "map" | "struct" | "paren")[] = [];
  /** The last significant character written (not whitespace), and whether it ended an operand. */
  let last = "";
  let lastEndsOperand = false;
  const emit = (text: string, from: number) => {
    for (let k = 0; k < text.length; k++) {
      out += text[k];
      original.push(from + k);
    }
  };
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    // String and bytes literals, with r/b prefixes; triple quotes.
    const prefix = /^([rRbB]{0,2})('''|"""|'|")/.exec(source.slice(i));
    if (prefix && (i === 0 || !IDENT_CHAR.test(source[i - 1]!)) && (prefix[1]!.length === 0 || /^[rRbB]+$/.test(prefix[1]!))) {
      const raw = /[rR]/.test(prefix[1]!);
      const quote = prefix[2]!;
      let j = i + prefix[0].length;
      while (j < source.length && !source.startsWith(quote, j)) {
        if (!raw && source[j] === "\\") j++;
        j++;
      }
      if (j >= source.length) return undefined;
      j += quote.length;
      emit(source.slice(i, j), i);
      i = j;
      last = quote;
      lastEndsOperand = true;
      continue;
    }
    if (c === "/" && source[i + 1] === "/") {
      const end = source.indexOf("\n", i);
      const j = end < 0 ? source.length : end;
      emit(source.slice(i, j), i);
      i = j;
      continue;
    }
    if (/\s/.test(c)) {
      emit(c, i);
      i++;
      continue;
    }
    if (c === "?") {
      const top = stack[stack.length - 1];
      if (last === ".") {
        // `.?field`: the select's position is its dot.
        let dot = out.length - 1;
        while (dot >= 0 && out[dot] !== ".") dot--;
        marks.push({ kind: "select", at: dot });
        i++;
        continue;
      }
      if (last === "[" && top === "index") {
        let bracket = out.length - 1;
        while (bracket >= 0 && out[bracket] !== "[") bracket--;
        marks.push({ kind: "index", at: bracket });
        i++;
        continue;
      }
      if ((last === "[" || last === ",") && top === "list") {
        marks.push({ kind: "element", at: out.length });
        i++;
        continue;
      }
      if ((last === "{" || last === ",") && (top === "map" || top === "struct")) {
        if (top === "struct") return undefined;
        marks.push({ kind: "entry", at: out.length });
        i++;
        continue;
      }
      // The conditional operator.
      emit(c, i);
      i++;
      last = c;
      lastEndsOperand = false;
      continue;
    }
    if (c === "[") stack.push(lastEndsOperand ? "index" : "list");
    else if (c === "{") stack.push(lastEndsOperand && IDENT_CHAR.test(last) ? "struct" : "map");
    else if (c === "(") stack.push("paren");
    else if (c === ")" || c === "]" || c === "}") stack.pop();
    emit(c, i);
    i++;
    last = c;
    lastEndsOperand = IDENT_CHAR.test(c) || c === ")" || c === "]" || c === "}";
  }
  original.push(source.length);
  return { source: out, original, marks };
}

/**
 * Parses `expression` as @bufbuild/cel's `parse` does, with cel-go's optional syntax.
 * Returns `undefined` when the expression has optional syntax whose place in the AST cannot be
 * found (refuse it). Throws what `parse` throws for a syntax error (positions in the original).
 */
export function parseWithOptionalSyntax(expression: string): (ParsedExpr & { expr: Expr }) | undefined {
  const r = rewrite(expression);
  if (!r) return undefined;
  if (r.marks.length === 0) return parse(expression) as ParsedExpr & { expr: Expr };
  let parsed: ParsedExpr & { expr: Expr };
  try {
    parsed = parse(r.source) as ParsedExpr & { expr: Expr };
  } catch (e) {
    // A syntax error of the rewritten text: its position, in the original.
    const err = e as { location?: { start?: { offset: number; line: number; column: number } } };
    if (err.location?.start) {
      const offset = r.original[Math.min(err.location.start.offset, r.original.length - 1)]!;
      const before = expression.slice(0, offset).split("\n");
      err.location.start = { offset, line: before.length, column: before[before.length - 1]!.length + 1 };
    }
    throw e;
  }
  const positions = parsed.sourceInfo?.positions ?? {};
  const pos = (e: Expr) => positions[String(e.id)];
  const leftmost = (e: Expr): number => Math.min(pos(e) ?? Infinity, ...children(e).map(leftmost));
  /** Whether a node starting at `start` begins at the mark (across whitespace and opening parentheses). */
  const startsAt = (start: number, at: number) => {
    let lo = at;
    while (lo > 0 && /\s/.test(r.source[lo - 1]!)) lo--;
    let hi = at;
    while (hi < r.source.length && /[\s(]/.test(r.source[hi]!)) hi++;
    return start >= lo && start <= hi;
  };
  const placed = new Set<Mark>();
  const visit = (e: Expr): Expr => {
    mapChildren(e, visit);
    switch (e.exprKind.case) {
      case "selectExpr": {
        const s = e.exprKind.value;
        const mark = r.marks.find((m) => m.kind === "select" && m.at === pos(e) && !s.testOnly);
        if (!mark) return e;
        placed.add(mark);
        const field = newExpr(e.id, { case: "constExpr", value: { constantKind: { case: "stringValue", value: s.field } } });
        return newExpr(e.id, { case: "callExpr", value: { function: "_?._", args: [s.operand!, field] } });
      }
      case "callExpr": {
        const c = e.exprKind.value;
        const mark = c.function === "_[_]" ? r.marks.find((m) => m.kind === "index" && m.at === pos(e)) : undefined;
        if (mark) {
          placed.add(mark);
          c.function = "_[?_]";
        }
        return e;
      }
      case "listExpr": {
        const l = e.exprKind.value;
        l.elements.forEach((el, index) => {
          const mark = r.marks.find((m) => m.kind === "element" && !placed.has(m) && startsAt(leftmost(el), m.at));
          if (mark) {
            placed.add(mark);
            l.optionalIndices.push(index);
          }
        });
        return e;
      }
      case "structExpr": {
        for (const en of e.exprKind.value.entries) {
          if (en.keyKind.case !== "mapKey") continue;
          const key = en.keyKind.value as Expr;
          const mark = r.marks.find((m) => m.kind === "entry" && !placed.has(m) && startsAt(leftmost(key), m.at));
          if (mark) {
            placed.add(mark);
            en.optionalEntry = true;
          }
        }
        return e;
      }
      default:
        return e;
    }
  };
  parsed.expr = visit(parsed.expr);
  if (placed.size !== r.marks.length) return undefined;
  // Positions of the original expression.
  for (const [id, offset] of Object.entries(positions)) positions[id] = r.original[Math.min(offset, r.original.length - 1)]!;
  return parsed;
}

/**
 * Rewrites the optional forms for the engine (in place): `_?._` and `_[?_]` become calls of
 * library functions (the engine would plan them as plain access), and optional list elements
 * and map entries, whose flags it ignores, become calls too: `[a, ?b]` becomes `@kubeloop.optionalElements([a, b], [1])` and `{?k: v}`
 * `@kubeloop.optionalEntries({k: v}, [k])` (the key evaluated twice; CEL has no side effects).
 */
export function optionalLiteralsForEngine(root: Expr, nextId: () => bigint): Expr {
  const call = (fn: string, ...args: Expr[]) => newExpr(nextId(), { case: "callExpr", value: { function: fn, args } });
  const list = (elements: Expr[]) => newExpr(nextId(), { case: "listExpr", value: { elements } });
  const visit = (e: Expr): Expr => {
    mapChildren(e, visit);
    switch (e.exprKind.case) {
      case "callExpr":
        if (e.exprKind.value.function === "_?._") e.exprKind.value.function = OPTIONAL_SELECT;
        if (e.exprKind.value.function === "_[?_]") e.exprKind.value.function = OPTIONAL_INDEX;
        return e;
      case "listExpr": {
        const l = e.exprKind.value;
        if (l.optionalIndices.length === 0) return e;
        const indices = l.optionalIndices.map((i) => newExpr(nextId(), { case: "constExpr", value: { constantKind: { case: "int64Value", value: BigInt(i) } } }));
        l.optionalIndices = [];
        return call(OPTIONAL_ELEMENTS, e, list(indices));
      }
      case "structExpr": {
        const keys: Expr[] = [];
        for (const en of e.exprKind.value.entries) {
          if (!en.optionalEntry || en.keyKind.case !== "mapKey") continue;
          keys.push(cloneWithNewIds(en.keyKind.value as Expr, nextId));
          en.optionalEntry = false;
        }
        return keys.length === 0 ? e : call(OPTIONAL_ENTRIES, e, list(keys));
      }
      default:
        return e;
    }
  };
  return visit(root);
}
