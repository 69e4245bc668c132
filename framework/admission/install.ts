/**
 * Installs admission policies and their bindings with server-side apply, then waits until
 * kube-controller-manager's type checker has seen every ValidatingAdmissionPolicy
 * (`status.observedGeneration` == `metadata.generation`) and fails on any
 * `status.typeChecking.expressionWarnings` (mirrors
 * pkg/controller/validatingadmissionpolicystatus in Kubernetes v1.36, which writes them).
 * MutatingAdmissionPolicy has no status in v1.36: applying it is all there is.
 */
import type { Client } from "../client/index.ts";
import type { KubeObject, ResourceType } from "../meta/index.ts";
import type { AdmissionPolicyObject, ExpressionWarning, ValidatingAdmissionPolicy } from "./types.ts";
import {
  MutatingAdmissionPolicies, MutatingAdmissionPolicyBindings, ValidatingAdmissionPolicies, ValidatingAdmissionPolicyBindings,
} from "./types.ts";
import type { PolicySet } from "./policy.ts";

/** Options of `installAdmissionPolicies`. */
export interface InstallOptions {
  /** Field manager of the server-side apply (default `kubeloop`). */
  fieldManager?: string;
  /** How long to wait for the type checker (default 60 s). */
  timeoutMs?: number;
  /** Poll interval while waiting (default 250 ms). */
  pollMs?: number;
  signal?: AbortSignal;
}

/** A ValidatingAdmissionPolicy whose expressions the type checker warned about. */
export class PolicyTypeCheckError extends Error {
  readonly policy: string;
  readonly warnings: readonly ExpressionWarning[];

  constructor(policy: string, warnings: readonly ExpressionWarning[]) {
    super(`ValidatingAdmissionPolicy ${JSON.stringify(policy)} failed type checking: ${warnings.map((w) => `${w.fieldRef}: ${w.warning.trim()}`).join("; ")}` +
      " (fix the expressions; the API server would evaluate them with these errors)");
    this.name = "PolicyTypeCheckError";
    this.policy = policy;
    this.warnings = warnings;
  }
}

function typeOf(obj: AdmissionPolicyObject): ResourceType<KubeObject> {
  switch (obj.kind) {
    case "ValidatingAdmissionPolicy": return ValidatingAdmissionPolicies as ResourceType<KubeObject>;
    case "ValidatingAdmissionPolicyBinding": return ValidatingAdmissionPolicyBindings as ResourceType<KubeObject>;
    case "MutatingAdmissionPolicy": return MutatingAdmissionPolicies as ResourceType<KubeObject>;
    case "MutatingAdmissionPolicyBinding": return MutatingAdmissionPolicyBindings as ResourceType<KubeObject>;
  }
}

/** The objects of policy sets, policies before their bindings. */
export function policyObjects(sets: ReadonlyArray<PolicySet<AdmissionPolicyObject, AdmissionPolicyObject>>): AdmissionPolicyObject[] {
  return [...sets.map((s) => s.policy), ...sets.flatMap((s) => s.bindings)];
}

/**
 * Applies every policy and binding (policies first), then waits for the type checker.
 * Returns the applied objects as the server stored them.
 * @throws PolicyTypeCheckError when a ValidatingAdmissionPolicy has expression warnings;
 *   Error on timeout (naming the policies not yet checked); ApiError when the server refuses one.
 */
export async function installAdmissionPolicies(
  client: Client,
  items: ReadonlyArray<AdmissionPolicyObject | PolicySet<AdmissionPolicyObject, AdmissionPolicyObject>>,
  opts: InstallOptions = {},
): Promise<AdmissionPolicyObject[]> {
  const fieldManager = opts.fieldManager ?? "kubeloop";
  const objects = items.flatMap((i) => ("policy" in i ? [i.policy, ...i.bindings] : [i]));
  const order = (o: AdmissionPolicyObject): number => (o.kind.endsWith("Binding") ? 1 : 0);
  const sorted = [...objects].sort((a, b) => order(a) - order(b));
  const applied: AdmissionPolicyObject[] = [];
  for (const obj of sorted) {
    const stored = await client.patch(typeOf(obj), { name: obj.metadata.name }, { type: "apply", body: obj, fieldManager, force: true }, { signal: opts.signal });
    applied.push(stored as AdmissionPolicyObject);
  }
  const pending = new Map(applied.filter((o): o is ValidatingAdmissionPolicy => o.kind === "ValidatingAdmissionPolicy")
    .map((p) => [p.metadata.name, p.metadata.generation ?? 1]));
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  while (pending.size > 0) {
    for (const [name, generation] of [...pending]) {
      const p = await client.get(ValidatingAdmissionPolicies, { name }, { signal: opts.signal });
      if ((p.status?.observedGeneration ?? 0) < generation) continue;
      const warnings = p.status?.typeChecking?.expressionWarnings ?? [];
      if (warnings.length > 0) throw new PolicyTypeCheckError(name, warnings);
      pending.delete(name);
    }
    if (pending.size === 0) break;
    if (Date.now() > deadline) {
      throw new Error(`ValidatingAdmissionPolicy ${[...pending.keys()].join(", ")}: status.observedGeneration did not reach metadata.generation within ${opts.timeoutMs ?? 60_000} ms` +
        " (is kube-controller-manager running its validatingadmissionpolicy-status-controller?)");
    }
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, opts.pollMs ?? 250);
      opts.signal?.addEventListener("abort", () => {
        clearTimeout(t);
        reject(opts.signal?.reason as Error);
      }, { once: true });
    });
  }
  return applied;
}
