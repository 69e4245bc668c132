import { ensureBinaries, type EnsureBinariesOptions } from "./binaries.ts";
import { runWithInput } from "./run-with-input.ts";

/** One entry of a ValidatingAdmissionPolicy's `status.typeChecking.expressionWarnings`. */
export interface PolicyExpressionWarning {
  /** The expression's field, `spec.validations[0].expression`, `spec.validations[1].messageExpression`. */
  fieldRef: string;
  /** cel-go's errors for each kind the policy matches, as `<gvk>: ERROR: <input>:<line>:<column>: <reason>` with the expression and a caret under the position; several lines. */
  warning: string;
}

/** The type checking of one ValidatingAdmissionPolicy. */
export interface PolicyTypeCheckVerdict {
  /** `metadata.name` of the policy. */
  name: string;
  /** Empty when every expression type-checks against every kind the policy matches. */
  expressionWarnings: PolicyExpressionWarning[];
}

/**
 * Type-checks ValidatingAdmissionPolicies (admissionregistration.k8s.io/v1 objects) as
 * kube-controller-manager v1.36.3's validatingadmissionpolicy-status controller does before it
 * writes `status.typeChecking`, without a cluster: the `typecheck-policy` command of the
 * harness' multi-call Kubernetes binary runs the controller's own TypeChecker (cel-go's type
 * checker, each validation's expression and messageExpression against the schema of every kind
 * the policy's `matchConstraints.resourceRules` name, at most 10 kinds, wildcards and
 * subresources skipped, as upstream).
 *
 * Schemas: built-in kinds from kube-apiserver's generated OpenAPI definitions, as the
 * controller; the kinds of `crds` (apiextensions.k8s.io/v1 objects) from the OpenAPI v3
 * document kube-apiserver publishes for each served version. A rule naming a resource that is
 * neither built in nor in `crds` is skipped, as the controller skips a resource its discovery
 * does not know, so pass the CRDs the policies match.
 *
 * Returns one verdict per policy, in order. The binary is built on first use (minutes, see
 * `ensureBinaries`) and cached; one call takes about 1 s.
 *
 * @throws Error when the binary cannot be built (no `go` on PATH), or exits non-zero (input
 *   that does not decode, a CRD version without a schema).
 */
export async function typeCheckValidatingAdmissionPolicies(
  policies: readonly object[],
  crds: readonly object[] = [],
  opts: Omit<EnsureBinariesOptions<"typecheck-policy">, "components"> = {},
): Promise<PolicyTypeCheckVerdict[]> {
  const { "typecheck-policy": binary } = await ensureBinaries({ ...opts, components: ["typecheck-policy"] });
  const stdout = await runWithInput(binary, JSON.stringify({ policies, customResourceDefinitions: crds }), opts.signal);
  return JSON.parse(stdout) as PolicyTypeCheckVerdict[];
}

/**
 * The expression warnings of `policies` ({@link typeCheckValidatingAdmissionPolicies}), one
 * entry each: `<policy>: <fieldRef>: <warning>`, the warning's lines indented by two spaces
 * after the first. Empty when every expression type-checks.
 * @throws Error as {@link typeCheckValidatingAdmissionPolicies}.
 */
export async function admissionPolicyTypeProblems(
  policies: readonly object[],
  crds: readonly object[] = [],
  opts: Omit<EnsureBinariesOptions<"typecheck-policy">, "components"> = {},
): Promise<string[]> {
  const verdicts = await typeCheckValidatingAdmissionPolicies(policies, crds, opts);
  return verdicts.flatMap((v) => v.expressionWarnings.map((w) => `${v.name}: ${w.fieldRef}: ${w.warning.trimEnd().split("\n").join("\n  ")}`));
}
