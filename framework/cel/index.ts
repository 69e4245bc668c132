/**
 * The Kubernetes CEL environment of v1.36 in-process, on @bufbuild/cel: compile expressions
 * with the API server's compile-time checks, evaluate them, and evaluate a CRD's
 * `x-kubernetes-validations` with the API server's messages. What cannot be evaluated exactly is
 * refused with a reason, never answered differently.
 */
export {
  compile,
  CelCompileError,
  CRD_RULE_ENVIRONMENT,
  crdRuleEnvironment,
  VALIDATING_POLICY_ENVIRONMENT,
  MUTATING_POLICY_ENVIRONMENT,
  type CelProgram, type CelEvaluation, type CelPosition, type CompileEnvironment } from "./compile.ts";
export {
  validateCustomResource,
  invalidMessage,
  aggregateMessage,
  type CustomResourceValidation,
  type RuleFailure,
  type RuleRefusal,
} from "./crd-validation.ts";
export { estimateCost, crdRuleCostEnvironment, type CostEnvironment } from "./cost/estimate.ts";
export { schemaDeclType, type DeclType, type CelType } from "./cost/types.ts";
export type { CostRange } from "./cost/units.ts";
export { crdCostVerdict, costErrorMessage, ESTIMATED_RULE_COST_LIMIT, ESTIMATED_CRD_COST_LIMIT, type CrdCostVerdict, type CostViolation } from "./crd-cost.ts";
export { escapePropertyName } from "./escaping.ts";
export { formatGoFloat } from "./library/go-format.ts";
export { toCelValue, withTypeAndObjectMeta, type SchemaNode, type ValidationRule } from "./values.ts";
