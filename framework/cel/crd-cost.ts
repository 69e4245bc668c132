import { CelCompileError, compile, crdRuleEnvironment } from "./compile.ts";
import { crdRuleCostEnvironment, estimateCost, whyNoEstimate } from "./cost/estimate.ts";
import { maxCardinality, schemaDeclType } from "./cost/types.ts";
import { withTypeAndObjectMeta, type SchemaNode } from "./values.ts";

/** StaticEstimatedCostLimit: the largest estimated cost of one rule or messageExpression (CEL units). */
export const ESTIMATED_RULE_COST_LIMIT = 10_000_000n;
/** StaticEstimatedCRDCostLimit: the largest estimated cost of all the rules of a CRD version's schema. */
export const ESTIMATED_CRD_COST_LIMIT = 100_000_000n;

const MAX_UINT64 = (1n << 64n) - 1n;

/** One refusal kube-apiserver makes for estimated cost: a `Forbidden` field error. */
export interface CostViolation {
  /** Field path from the schema, `openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule`, as the API server writes it after `spec.validation.` (or `spec.versions[i].schema.`). */
  field: string;
  /** The error's detail, e.g. `estimated rule cost exceeds budget by factor of 1.2x (try simplifying ...)`. */
  detail: string;
  /** The rule or messageExpression refused; absent for the schema's total. */
  expression?: string;
}

/** The estimated-cost verdict of a CRD version's schema. */
export interface CrdCostVerdict {
  /** What the API server refuses, in its order: per expression as the schema is walked, then the total's. */
  violations: CostViolation[];
  /** Expressions whose estimate is not reproduced in-process, and why: when non-empty the verdict may miss violations. */
  unestimated: { field: string; reason: string }[];
  /** The total of the estimates (rules multiplied by their cardinality), uint64-saturated. */
  total: bigint;
}

/** getCostErrorMessage of apiextensions-apiserver v1.36. */
export function costErrorMessage(costName: string, cost: bigint, limit: bigint): string {
  const exceed = Number(cost) / Number(limit);
  const factor = exceed > 100 ? "more than 100x" : exceed < 1.5 ? `${exceed.toFixed(6)}x` : `${exceed.toFixed(1)}x`;
  return `${costName} exceeds budget by factor of ${factor} (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)`;
}

function multiplyWithOverflowGuard(base: bigint, cardinality: bigint): bigint {
  if (base === 0n) return 0n;
  return MAX_UINT64 / base < cardinality ? MAX_UINT64 : base * cardinality;
}

/** extractMaxElements: how many times a child node occurs per occurrence of `schema`; undefined for unbounded. */
function maxElementsOf(schema: SchemaNode): bigint | undefined {
  const bound = (v: unknown) => (typeof v === "number" ? (v > 0 ? BigInt(Math.trunc(v)) : 0n) : undefined);
  if (schema.type === "object") return schema.additionalProperties !== undefined ? bound(schema["maxProperties"]) : 1n;
  if (schema.type === "array") return bound(schema["maxItems"]);
  return 1n;
}

function compiles(expr: string, env: ReturnType<typeof crdRuleEnvironment>): boolean {
  try {
    compile(expr, env);
    return true;
  } catch (e) {
    if (e instanceof CelCompileError) return false;
    throw e;
  }
}

/**
 * The estimated-cost checks kube-apiserver v1.36 makes when a CRD is created or updated
 * (`ValidateCustomResourceDefinitionOpenAPISchema` with its `CELSchemaContext`), in-process:
 * every rule's estimate ({@link estimateCost}) multiplied by the node's maximum cardinality
 * (the product of the `maxItems`/`maxProperties` above it, or, under an unbounded list or map,
 * how many times the node's smallest JSON fits in 3 MiB) must be at most 10,000,000, as must
 * every messageExpression's own estimate; their sum over the schema must be at most
 * 100,000,000, else the (at most 4) rules contributing at least 1 % are named. Rules that do
 * not compile count 0, as upstream.
 *
 * `openAPIV3Schema` is a CRD version's schema, the resource's root.
 */
export function crdCostVerdict(openAPIV3Schema: SchemaNode): CrdCostVerdict {
  const verdict: CrdCostVerdict = { violations: [], unestimated: [], total: 0n };
  const expensive: { field: string; cost: bigint; expression: string }[] = [];
  const observe = (field: string, cost: bigint, expression: string) => {
    verdict.total = verdict.total + cost > MAX_UINT64 ? MAX_UINT64 : verdict.total + cost;
    if (cost < ESTIMATED_CRD_COST_LIMIT / 100n) return;
    expensive.push({ field, cost, expression });
    expensive.sort((a, b) => (a.cost > b.cost ? -1 : a.cost < b.cost ? 1 : 0));
    if (expensive.length > 4) expensive.length = 4;
  };

  const visit = (schema: SchemaNode, path: string, cardinality: bigint | undefined, root: boolean) => {
    const rules = schema["x-kubernetes-validations"] ?? [];
    if (rules.length > 0) {
      const resourceRoot = root || !!schema["x-kubernetes-embedded-resource"];
      const decl = schemaDeclType(schema, resourceRoot);
      const celSchema = resourceRoot ? withTypeAndObjectMeta(schema) : schema;
      rules.forEach((rule, i) => {
        const field = `${path}.x-kubernetes-validations[${i}]`;
        if (!decl || rule.rule.trim().length === 0) return;
        const compileEnv = crdRuleEnvironment(celSchema, rule);
        if (!compiles(rule.rule, compileEnv)) return;
        const env = crdRuleCostEnvironment(decl, !!rule.optionalOldSelf);
        const ruleCost = estimateCost(rule.rule, env);
        if (!ruleCost) {
          verdict.unestimated.push({ field: `${field}.rule`, reason: whyNoEstimate(rule.rule, env) ?? "" });
        } else {
          const cost = multiplyWithOverflowGuard(ruleCost.max, cardinality ?? maxCardinality(decl));
          if (cost > ESTIMATED_RULE_COST_LIMIT) verdict.violations.push({ field: `${field}.rule`, detail: costErrorMessage("estimated rule cost", cost, ESTIMATED_RULE_COST_LIMIT), expression: rule.rule });
          observe(`${field}.rule`, cost, rule.rule);
        }
        const message = rule.messageExpression;
        if (!message || !compiles(message, compileEnv)) return;
        const messageCost = estimateCost(message, env);
        if (!messageCost) {
          verdict.unestimated.push({ field: `${field}.messageExpression`, reason: whyNoEstimate(message, env) ?? "" });
          return;
        }
        if (messageCost.max > ESTIMATED_RULE_COST_LIMIT) {
          verdict.violations.push({ field: `${field}.messageExpression`, detail: costErrorMessage("estimated messageExpression cost", messageCost.max, ESTIMATED_RULE_COST_LIMIT), expression: message });
        }
        observe(`${field}.messageExpression`, messageCost.max, message);
      });
    }
    const child = (): bigint | undefined => {
      if (cardinality === undefined) return undefined;
      const n = maxElementsOf(schema);
      return n === undefined ? undefined : multiplyWithOverflowGuard(cardinality, n);
    };
    if (typeof schema.additionalProperties === "object") visit(schema.additionalProperties, `${path}.additionalProperties`, child(), false);
    for (const [name, prop] of Object.entries(schema.properties ?? {})) visit(prop, `${path}.properties[${name}]`, child(), false);
    if (schema.items) visit(schema.items, `${path}.items`, child(), false);
  };
  visit(openAPIV3Schema, "openAPIV3Schema", 1n, true);

  if (verdict.total > ESTIMATED_CRD_COST_LIMIT) {
    for (const e of expensive) verdict.violations.push({ field: e.field, detail: "contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema", expression: e.expression });
    verdict.violations.push({ field: "openAPIV3Schema", detail: costErrorMessage("x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema", verdict.total, ESTIMATED_CRD_COST_LIMIT) });
  }
  return verdict;
}
