/**
 * Builders of ValidatingAdmissionPolicy and MutatingAdmissionPolicy (`admissionregistration.k8s.io/v1`)
 * with their bindings. A builder reads like a sentence (this policy, for these resources, when
 * these conditions hold, validates / mutates so, bound so) and `build()` refuses what the API
 * server would refuse, with the server's wording (`AdmissionConfigError`).
 *
 * ```ts
 * const { policy, bindings } = validatingPolicy("replicas-limit")
 *   .forResources({ apiGroups: ["apps"], apiVersions: ["v1"], resources: ["deployments"], operations: ["CREATE", "UPDATE"] })
 *   .validate({ expression: "object.spec.replicas <= 5", message: "at most 5 replicas", reason: "Forbidden" })
 *   .bind({ validationActions: ["Deny"] })
 *   .build();
 * ```
 */
import { kubernetesCelCheck } from "./cel-check.ts";
import type { CelCheck } from "./validate.ts";
import {
  mutatingAdmissionPolicyBindingErrors, mutatingAdmissionPolicyErrors, validatingAdmissionPolicyBindingErrors, validatingAdmissionPolicyErrors,
} from "./validate.ts";
import type {
  AuditAnnotation, FailurePolicy, LabelSelector, MatchCondition, MatchPolicy, MatchResources, MutatingAdmissionPolicy,
  MutatingAdmissionPolicyBinding, Mutation, NamedRuleWithOperations, ParamKind, ParamRef, ReinvocationPolicy, ValidatingAdmissionPolicy,
  ValidatingAdmissionPolicyBinding, Validation, ValidationAction, Variable,
} from "./types.ts";

const apiVersion = "admissionregistration.k8s.io/v1" as const;

/** Options of `build()`. */
export interface BuildOptions {
  /**
   * Compiles each CEL expression as kube-apiserver does; an expression that does not compile
   * is refused with the compiler's reason. Default `kubernetesCelCheck` (`kubeloop/cel`);
   * `false` leaves compiling to the API server (at install time).
   */
  cel?: CelCheck | false;
  /** Labels put on the policy and its bindings (e.g. `app.kubernetes.io/managed-by`). */
  labels?: Record<string, string>;
}

/** What a binding of a validating policy says; `name` defaults to the policy's name (then `-2`, `-3`, ...). */
export interface ValidatingBindingOptions {
  name?: string;
  validationActions: ValidationAction[];
  paramRef?: ParamRef;
  matchResources?: MatchResources;
}

/** What a binding of a mutating policy says; `name` defaults to the policy's name (then `-2`, ...). */
export interface MutatingBindingOptions {
  name?: string;
  paramRef?: ParamRef;
  matchResources?: MatchResources;
}

/** A built policy and its bindings, ready to install (`installAdmissionPolicies`). */
export interface PolicySet<P, B> {
  policy: P;
  bindings: B[];
}

/** A built validating policy with its bindings. */
export type ValidatingPolicySet = PolicySet<ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding>;
/** A built mutating policy with its bindings. */
export type MutatingPolicySet = PolicySet<MutatingAdmissionPolicy, MutatingAdmissionPolicyBinding>;

/** What both builders share: match constraints, conditions, variables, params, failure policy. */
abstract class PolicyBuilder<Self> {
  protected readonly name: string;
  protected readonly rules: NamedRuleWithOperations[] = [];
  protected readonly excludeRules: NamedRuleWithOperations[] = [];
  protected namespaceSelector?: LabelSelector;
  protected objectSelector?: LabelSelector;
  protected matchPolicyValue?: MatchPolicy;
  protected readonly conditions: MatchCondition[] = [];
  protected readonly variables: Variable[] = [];
  protected paramKind?: ParamKind;
  protected failure?: FailurePolicy;

  constructor(name: string) {
    this.name = name;
  }

  protected abstract self(): Self;

  /** Matches these requests (`matchConstraints.resourceRules`); call again for more rules. */
  forResources(...rules: NamedRuleWithOperations[]): Self {
    this.rules.push(...rules);
    return this.self();
  }

  /** Leaves these requests out (`matchConstraints.excludeResourceRules`). */
  excluding(...rules: NamedRuleWithOperations[]): Self {
    this.excludeRules.push(...rules);
    return this.self();
  }

  /** Only objects in namespaces whose labels match (`matchConstraints.namespaceSelector`). */
  inNamespaces(selector: LabelSelector): Self {
    this.namespaceSelector = selector;
    return this.self();
  }

  /** Only objects whose labels match (`matchConstraints.objectSelector`). */
  forObjects(selector: LabelSelector): Self {
    this.objectSelector = selector;
    return this.self();
  }

  /** `matchConstraints.matchPolicy` (server default Equivalent). */
  matchPolicy(policy: MatchPolicy): Self {
    this.matchPolicyValue = policy;
    return this.self();
  }

  /** Applies only when `expression` is true (`matchConditions`, at most 64, names unique). */
  when(name: string, expression: string): Self {
    this.conditions.push({ name, expression });
    return this.self();
  }

  /** A named expression, visible as `variables.<name>` to later variables and expressions. */
  variable(name: string, expression: string): Self {
    this.variables.push({ name, expression });
    return this.self();
  }

  /** The kind of the parameter resource bindings refer to (`params` in expressions). */
  params(kind: ParamKind): Self {
    this.paramKind = kind;
    return this.self();
  }

  /** What an error or a timeout does: `Fail` (the server's default) rejects the request. */
  failurePolicy(policy: FailurePolicy): Self {
    this.failure = policy;
    return this.self();
  }

  protected constraints(): MatchResources {
    const mc: MatchResources = { resourceRules: this.rules.map((r) => ({ ...r })) };
    if (this.excludeRules.length) mc.excludeResourceRules = this.excludeRules.map((r) => ({ ...r }));
    if (this.namespaceSelector) mc.namespaceSelector = this.namespaceSelector;
    if (this.objectSelector) mc.objectSelector = this.objectSelector;
    if (this.matchPolicyValue) mc.matchPolicy = this.matchPolicyValue;
    return mc;
  }

  protected common(): { matchConditions?: MatchCondition[]; variables?: Variable[]; paramKind?: ParamKind; failurePolicy?: FailurePolicy } {
    return {
      ...(this.paramKind ? { paramKind: this.paramKind } : {}),
      ...(this.failure ? { failurePolicy: this.failure } : {}),
      ...(this.conditions.length ? { matchConditions: this.conditions.map((c) => ({ ...c })) } : {}),
      ...(this.variables.length ? { variables: this.variables.map((v) => ({ ...v })) } : {}),
    };
  }

  protected bindingName(i: number, explicit: string | undefined): string {
    return explicit ?? (i === 0 ? this.name : `${this.name}-${i + 1}`);
  }
}

function celOf(options: BuildOptions): CelCheck | undefined {
  return options.cel === false ? undefined : options.cel ?? kubernetesCelCheck;
}

function meta(name: string, labels: Record<string, string> | undefined): { name: string; labels?: Record<string, string> } {
  return labels ? { name, labels: { ...labels } } : { name };
}

/** Builds a ValidatingAdmissionPolicy and its bindings. */
export class ValidatingPolicyBuilder extends PolicyBuilder<ValidatingPolicyBuilder> {
  readonly #validations: Validation[] = [];
  readonly #audits: AuditAnnotation[] = [];
  readonly #bindings: ValidatingBindingOptions[] = [];

  protected self(): ValidatingPolicyBuilder {
    return this;
  }

  /**
   * A rule: `expression` must be true. On failure the message is `messageExpression`'s value,
   * else `message`, else `failed expression: <expression>`; `reason` sets the status (Invalid 422
   * by default, Forbidden 403, RequestEntityTooLarge 413).
   */
  validate(validation: Validation): this {
    this.#validations.push({ ...validation });
    return this;
  }

  /** An audit annotation `<policy>/<key>` whose value is the string `valueExpression` yields. */
  auditAnnotation(key: string, valueExpression: string): this {
    this.#audits.push({ key, valueExpression });
    return this;
  }

  /** A binding: where the policy applies and what a failure does (Deny, Warn, Audit; not Deny with Warn). */
  bind(options: ValidatingBindingOptions): this {
    this.#bindings.push(options);
    return this;
  }

  /** @throws AdmissionConfigError with the API server's field errors when it would refuse the policy or a binding. */
  build(options: BuildOptions = {}): ValidatingPolicySet {
    const policy: ValidatingAdmissionPolicy = {
      apiVersion,
      kind: "ValidatingAdmissionPolicy",
      metadata: meta(this.name, options.labels),
      spec: {
        matchConstraints: this.constraints(),
        ...this.common(),
        ...(this.#validations.length ? { validations: this.#validations.map((v) => ({ ...v })) } : {}),
        ...(this.#audits.length ? { auditAnnotations: this.#audits.map((a) => ({ ...a })) } : {}),
      },
    };
    validatingAdmissionPolicyErrors(policy, celOf(options)).throwIfAny(policy.kind, this.name);
    const bindings = this.#bindings.map((b, i): ValidatingAdmissionPolicyBinding => ({
      apiVersion,
      kind: "ValidatingAdmissionPolicyBinding",
      metadata: meta(this.bindingName(i, b.name), options.labels),
      spec: {
        policyName: this.name,
        validationActions: [...b.validationActions],
        ...(b.paramRef ? { paramRef: b.paramRef } : {}),
        ...(b.matchResources ? { matchResources: b.matchResources } : {}),
      },
    }));
    for (const b of bindings) validatingAdmissionPolicyBindingErrors(b).throwIfAny(b.kind, b.metadata.name);
    return { policy, bindings };
  }
}

/** Builds a MutatingAdmissionPolicy and its bindings. */
export class MutatingPolicyBuilder extends PolicyBuilder<MutatingPolicyBuilder> {
  readonly #mutations: Mutation[] = [];
  readonly #bindings: MutatingBindingOptions[] = [];
  #reinvocation?: ReinvocationPolicy;

  protected self(): MutatingPolicyBuilder {
    return this;
  }

  /**
   * A mutation whose CEL builds an apply configuration, e.g.
   * `Object{spec: Object.spec{tolerations: [...]}}`, merged with server-side apply semantics
   * (atomic structs, maps and lists may not be modified).
   */
  applyConfiguration(expression: string): this {
    this.#mutations.push({ patchType: "ApplyConfiguration", applyConfiguration: { expression } });
    return this;
  }

  /** A mutation whose CEL returns a list of `JSONPatch{op, path, value}` (RFC 6902). */
  jsonPatch(expression: string): this {
    this.#mutations.push({ patchType: "JSONPatch", jsonPatch: { expression } });
    return this;
  }

  /** Whether the policy runs again when a later mutation changed the object (required; `Never` or `IfNeeded`). */
  reinvocationPolicy(policy: ReinvocationPolicy): this {
    this.#reinvocation = policy;
    return this;
  }

  /** A binding: where the policy applies (intersected with the policy's constraints). */
  bind(options: MutatingBindingOptions = {}): this {
    this.#bindings.push(options);
    return this;
  }

  /** @throws AdmissionConfigError with the API server's field errors when it would refuse the policy or a binding. */
  build(options: BuildOptions = {}): MutatingPolicySet {
    const policy = {
      apiVersion,
      kind: "MutatingAdmissionPolicy",
      metadata: meta(this.name, options.labels),
      spec: {
        matchConstraints: this.constraints(),
        ...this.common(),
        mutations: this.#mutations.map((m) => ({ ...m })),
        ...(this.#reinvocation ? { reinvocationPolicy: this.#reinvocation } : {}),
      },
    } as MutatingAdmissionPolicy;
    mutatingAdmissionPolicyErrors(policy, celOf(options)).throwIfAny(policy.kind, this.name);
    const bindings = this.#bindings.map((b, i): MutatingAdmissionPolicyBinding => ({
      apiVersion,
      kind: "MutatingAdmissionPolicyBinding",
      metadata: meta(this.bindingName(i, b.name), options.labels),
      spec: {
        policyName: this.name,
        ...(b.paramRef ? { paramRef: b.paramRef } : {}),
        ...(b.matchResources ? { matchResources: b.matchResources } : {}),
      },
    }));
    for (const b of bindings) mutatingAdmissionPolicyBindingErrors(b).throwIfAny(b.kind, b.metadata.name);
    return { policy, bindings };
  }
}

/** Starts a ValidatingAdmissionPolicy named `name` (a DNS subdomain). */
export function validatingPolicy(name: string): ValidatingPolicyBuilder {
  return new ValidatingPolicyBuilder(name);
}

/** Starts a MutatingAdmissionPolicy named `name` (a DNS subdomain). */
export function mutatingPolicy(name: string): MutatingPolicyBuilder {
  return new MutatingPolicyBuilder(name);
}
