import type { Expr, ParsedExpr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { idAllocator, MacroError } from "./ast.ts";
import { parseWithOptionalSyntax } from "./optional-syntax.ts";
import { expandReceiverMacros } from "./receiver-macros.ts";
import { expandTwoVarMacros } from "./two-var-macros.ts";

/**
 * Parses a CEL expression into the AST cel-go's parser builds in the Kubernetes v1.36
 * environment: @bufbuild/cel's parse with the optional syntax, then the macros that parser leaves
 * as calls (two-variable comprehensions, sortBy, optMap, optFlatMap) expanded as cel-go does.
 * Returns the AST and an allocator of ids for further rewrites, or `undefined` when optional
 * syntax cannot be placed (refuse the expression).
 *
 * @throws what @bufbuild/cel's `parse` throws for a syntax error (positions in the expression),
 *   and MacroError, with its `offset`, for a macro cel-go refuses to expand.
 */
export function parseCel(expression: string): { parsed: ParsedExpr & { expr: Expr }; nextId: () => bigint } | undefined {
  const parsed = parseWithOptionalSyntax(expression);
  if (!parsed) return undefined;
  const nextId = idAllocator(parsed.expr);
  try {
    parsed.expr = expandReceiverMacros(expandTwoVarMacros(parsed.expr, nextId), nextId);
  } catch (e) {
    if (e instanceof MacroError) e.offset = parsed.sourceInfo?.positions[String(e.exprId)] ?? 0;
    throw e;
  }
  return { parsed, nextId };
}
