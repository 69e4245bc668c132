import { CelCompileError, compile, crdCostVerdict, crdRuleEnvironment, withTypeAndObjectMeta, type SchemaNode } from "../cel/index.ts";
import type { JSONSchemaProps } from "./structural.ts";

const REASONS = new Set(["FieldValueInvalid", "FieldValueForbidden", "FieldValueRequired", "FieldValueDuplicate"]);

/**
 * Compiles every `x-kubernetes-validations` rule (and messageExpression) of a CRD schema with
 * kubeloop/cel, in the environment the API server gives it (`self`, `oldSelf` typed by the node's
 * schema, escaped property names), and checks the fields the API server checks on a rule
 * (reason, fieldPath, optionalOldSelf only with oldSelf, message without line breaks), and the
 * estimated cost limits (`crdCostVerdict`: 10,000,000 per rule times its cardinality, per
 * messageExpression, 100,000,000 per schema) with the API server's messages.
 * Mirrors the rule checks of apiextensions-apiserver `ValidateCustomResourceDefinition` in
 * Kubernetes v1.36, without cel-go's full type checker: `npm run generate` also runs the API
 * server's own validation on the CRDs (`validateCustomResourceDefinitions` of kubeloop/testing).
 * Returns one line per problem: the JSON path, the expression, the position and the reason.
 */
export function celRuleProblems(schema: JSONSchemaProps, path = "<root>"): string[] {
  const problems: string[] = [];
  visit(schema as SchemaNode, path, problems, true);
  for (const v of crdCostVerdict(schema as SchemaNode).violations) {
    problems.push(`${path} ${v.field}: ${v.detail}${v.expression !== undefined ? ` (${JSON.stringify(v.expression)})` : ""}`);
  }
  return problems;
}

function visit(node: SchemaNode, path: string, problems: string[], root = false): void {
  const rules = node["x-kubernetes-validations"] ?? [];
  const celNode = root ? withTypeAndObjectMeta(node) : node;
  rules.forEach((rule, i) => {
    const where = `${path} x-kubernetes-validations[${i}]`;
    const env = crdRuleEnvironment(celNode, rule);
    let usesOldSelf = false;
    for (const [key, expr] of [["rule", rule.rule], ["messageExpression", rule.messageExpression]] as const) {
      if (expr === undefined) continue;
      if (expr.trim().length === 0) {
        problems.push(`${where}.${key}: must not be empty`);
        continue;
      }
      try {
        const program = compile(expr, env);
        if (key === "rule") usesOldSelf = program.references.has("oldSelf");
      } catch (e) {
        if (!(e instanceof CelCompileError)) throw e;
        problems.push(`${where}.${key}: ${JSON.stringify(expr)} does not compile at ${e.position.line}:${e.position.column}: ${e.reason}`);
      }
    }
    if (rule.message !== undefined && /[\n\r]/.test(rule.message)) problems.push(`${where}.message: must not contain line breaks`);
    if (rule.message !== undefined && rule.message.length > 0 && rule.message.trim().length === 0) problems.push(`${where}.message: must be non-empty if specified`);
    if (rule.reason !== undefined && !REASONS.has(rule.reason)) problems.push(`${where}.reason: must be one of ${[...REASONS].join(", ")}`);
    if (rule.optionalOldSelf && !usesOldSelf && rule.rule.trim().length > 0 && !/\boldSelf\b/.test(rule.rule)) {
      problems.push(`${where}.optionalOldSelf: may only be set when the rule uses oldSelf`);
    }
    if (rule.fieldPath !== undefined && !/^(\.[A-Za-z0-9_-]+|\['(?:[^'\\]|\\.)*'\])+$/.test(rule.fieldPath)) {
      problems.push(`${where}.fieldPath: ${JSON.stringify(rule.fieldPath)} is not a JSON path such as .field or ['key']`);
    }
  });
  for (const [name, child] of Object.entries(node.properties ?? {})) visit(child, `${path}.${name}`, problems);
  if (typeof node.additionalProperties === "object") visit(node.additionalProperties, `${path}[*]`, problems);
  if (node.items) visit(node.items, `${path}[*]`, problems);
}
