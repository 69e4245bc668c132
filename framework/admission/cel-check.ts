/**
 * The `CelCheck` backed by `kubeloop/cel`'s `compile()` (Kubernetes v1.36 CEL in-process):
 * builders given it refuse an expression that does not compile, with the compiler's position
 * and reason, in the API server's form (`compilation failed: ERROR: <input>:L:C: reason`,
 * apiserver/pkg/admission/plugin/cel/compile.go).
 *
 * Declared variables as the API server declares them for admission
 * (apiserver/pkg/admission/plugin/cel/compile.go `createEnvForOpts`): `object`, `oldObject`,
 * `request`, `namespaceObject`, `variables`, `params` when the policy has a paramKind, and
 * `authorizer` except in messageExpression. Mutations (ApplyConfiguration, JSONPatch) use the
 * `Object` and `JSONPatch` types, which the in-process environment does not declare: they are
 * left to the API server.
 */
import { CelCompileError, compile } from "../cel/index.ts";
import type { CelCheck } from "./validate.ts";

/** Compiles admission expressions in-process; see the module comment for what is left to the server. */
export const kubernetesCelCheck: CelCheck = (expression, { kind, hasParams }) => {
  if (kind === "applyConfiguration" || kind === "jsonPatch") return undefined;
  const variables = ["object", "oldObject", "request", "namespaceObject", ...(kind === "matchCondition" ? [] : ["variables"]),
    ...(hasParams ? ["params"] : []), ...(kind === "messageExpression" ? [] : ["authorizer"])];
  try {
    compile(expression, { variables, admission: kind !== "messageExpression" });
    return undefined;
  } catch (err) {
    if (err instanceof CelCompileError) return `compilation failed: ${err.message}`;
    throw err;
  }
};
