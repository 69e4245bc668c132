/**
 * The `admissionregistration.k8s.io/v1` API as it travels on the wire, for the kinds this
 * folder builds: ValidatingAdmissionPolicy (GA 1.30) and its binding, MutatingAdmissionPolicy
 * (GA 1.36) and its binding, and the two webhook configurations.
 * Mirrors k8s.io/api/admissionregistration/v1/types.go in Kubernetes v1.36.
 */
import type { KubeObject, ObjectMeta } from "../meta/index.ts";
import { resourceType } from "../meta/index.ts";

/** `metav1.LabelSelector`. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }>;
}

/** An admission operation. `*` means all of them. */
export type Operation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT" | "*";
/** What happens when a policy or webhook errors (or times out): `Fail` rejects the request. */
export type FailurePolicy = "Fail" | "Ignore";
/** `Equivalent` also matches the same resource through another API group or version. */
export type MatchPolicy = "Exact" | "Equivalent";
/** What a binding does with a failed validation. */
export type ValidationAction = "Deny" | "Warn" | "Audit";
/** Status reason (and HTTP code) of a denied request: Invalid 422 (default), Forbidden 403, RequestEntityTooLarge 413. */
export type ValidationReason = "Invalid" | "Forbidden" | "RequestEntityTooLarge";
/** Whether a mutating policy or webhook runs again when a later mutation changed the object. */
export type ReinvocationPolicy = "Never" | "IfNeeded";

/** `RuleWithOperations` plus `resourceNames`: which requests a policy matches. */
export interface NamedRuleWithOperations {
  apiGroups: string[];
  apiVersions: string[];
  resources: string[];
  operations: Operation[];
  scope?: "Cluster" | "Namespaced" | "*";
  resourceNames?: string[];
}

/** `MatchResources`; the API server defaults `matchPolicy` to Equivalent and both selectors to `{}`. */
export interface MatchResources {
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  resourceRules?: NamedRuleWithOperations[];
  excludeResourceRules?: NamedRuleWithOperations[];
  matchPolicy?: MatchPolicy;
}

/** A CEL expression that must be true for the policy (or webhook) to apply to a request. */
export interface MatchCondition {
  name: string;
  expression: string;
}

/** A named CEL expression, visible to later variables and expressions as `variables.<name>`. */
export interface Variable {
  name: string;
  expression: string;
}

/** One rule of a ValidatingAdmissionPolicy. */
export interface Validation {
  expression: string;
  message?: string;
  messageExpression?: string;
  reason?: ValidationReason;
}

/** An audit annotation `<policy>/<key>` with the value of a CEL expression (string or null). */
export interface AuditAnnotation {
  key: string;
  valueExpression: string;
}

/** The kind of the parameter resource. */
export interface ParamKind {
  apiVersion: string;
  kind: string;
}

/** Which parameter object(s) a binding hands its policy. */
export interface ParamRef {
  name?: string;
  namespace?: string;
  selector?: LabelSelector;
  parameterNotFoundAction: "Allow" | "Deny";
}

/** `ExpressionWarning` written by kube-controller-manager's type checker. */
export interface ExpressionWarning {
  fieldRef: string;
  warning: string;
}

/** ValidatingAdmissionPolicy `admissionregistration.k8s.io/v1`. */
export interface ValidatingAdmissionPolicy extends KubeObject {
  apiVersion: "admissionregistration.k8s.io/v1";
  kind: "ValidatingAdmissionPolicy";
  metadata: ObjectMeta & { name: string };
  spec: {
    paramKind?: ParamKind;
    matchConstraints: MatchResources;
    validations?: Validation[];
    failurePolicy?: FailurePolicy;
    auditAnnotations?: AuditAnnotation[];
    matchConditions?: MatchCondition[];
    variables?: Variable[];
  };
  status?: {
    observedGeneration?: number;
    typeChecking?: { expressionWarnings?: ExpressionWarning[] };
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
  };
}

/** ValidatingAdmissionPolicyBinding `admissionregistration.k8s.io/v1`. */
export interface ValidatingAdmissionPolicyBinding extends KubeObject {
  apiVersion: "admissionregistration.k8s.io/v1";
  kind: "ValidatingAdmissionPolicyBinding";
  metadata: ObjectMeta & { name: string };
  spec: {
    policyName: string;
    paramRef?: ParamRef;
    matchResources?: MatchResources;
    validationActions: ValidationAction[];
  };
}

/** One mutation of a MutatingAdmissionPolicy: exactly one of the two forms, as `patchType` says. */
export type Mutation =
  | { patchType: "ApplyConfiguration"; applyConfiguration: { expression: string }; jsonPatch?: never }
  | { patchType: "JSONPatch"; jsonPatch: { expression: string }; applyConfiguration?: never };

/** MutatingAdmissionPolicy `admissionregistration.k8s.io/v1` (GA in 1.36; it has no status). */
export interface MutatingAdmissionPolicy extends KubeObject {
  apiVersion: "admissionregistration.k8s.io/v1";
  kind: "MutatingAdmissionPolicy";
  metadata: ObjectMeta & { name: string };
  spec: {
    paramKind?: ParamKind;
    matchConstraints: MatchResources;
    variables?: Variable[];
    mutations: Mutation[];
    failurePolicy?: FailurePolicy;
    matchConditions?: MatchCondition[];
    reinvocationPolicy: ReinvocationPolicy;
  };
}

/** MutatingAdmissionPolicyBinding `admissionregistration.k8s.io/v1` (no validationActions). */
export interface MutatingAdmissionPolicyBinding extends KubeObject {
  apiVersion: "admissionregistration.k8s.io/v1";
  kind: "MutatingAdmissionPolicyBinding";
  metadata: ObjectMeta & { name: string };
  spec: {
    policyName: string;
    paramRef?: ParamRef;
    matchResources?: MatchResources;
  };
}

/** `RuleWithOperations` of a webhook. */
export interface RuleWithOperations {
  apiGroups: string[];
  apiVersions: string[];
  resources: string[];
  operations: Operation[];
  scope?: "Cluster" | "Namespaced" | "*";
}

/** `WebhookClientConfig`: a URL (what the local control plane needs) or a Service. */
export interface WebhookClientConfig {
  url?: string;
  service?: { namespace: string; name: string; path?: string; port?: number };
  /** Base64 of a PEM bundle of CA certificates. */
  caBundle?: string;
}

/** Fields both webhook kinds share. */
export interface WebhookCommon {
  name: string;
  clientConfig: WebhookClientConfig;
  rules?: RuleWithOperations[];
  failurePolicy?: FailurePolicy;
  matchPolicy?: MatchPolicy;
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  sideEffects: "None" | "NoneOnDryRun";
  timeoutSeconds?: number;
  admissionReviewVersions: string[];
  matchConditions?: MatchCondition[];
}

/** ValidatingWebhookConfiguration `admissionregistration.k8s.io/v1`. */
export interface ValidatingWebhookConfiguration extends KubeObject {
  apiVersion: "admissionregistration.k8s.io/v1";
  kind: "ValidatingWebhookConfiguration";
  metadata: ObjectMeta & { name: string };
  webhooks: WebhookCommon[];
}

/** MutatingWebhookConfiguration `admissionregistration.k8s.io/v1`. */
export interface MutatingWebhookConfiguration extends KubeObject {
  apiVersion: "admissionregistration.k8s.io/v1";
  kind: "MutatingWebhookConfiguration";
  metadata: ObjectMeta & { name: string };
  webhooks: Array<WebhookCommon & { reinvocationPolicy?: ReinvocationPolicy }>;
}

/** A core/v1 Secret, as the certificate store needs it. */
export interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

const group = "admissionregistration.k8s.io";
const version = "v1";
export const ValidatingAdmissionPolicies = resourceType<ValidatingAdmissionPolicy>({ group, version, kind: "ValidatingAdmissionPolicy", plural: "validatingadmissionpolicies", namespaced: false });
export const ValidatingAdmissionPolicyBindings = resourceType<ValidatingAdmissionPolicyBinding>({ group, version, kind: "ValidatingAdmissionPolicyBinding", plural: "validatingadmissionpolicybindings", namespaced: false });
export const MutatingAdmissionPolicies = resourceType<MutatingAdmissionPolicy>({ group, version, kind: "MutatingAdmissionPolicy", plural: "mutatingadmissionpolicies", namespaced: false });
export const MutatingAdmissionPolicyBindings = resourceType<MutatingAdmissionPolicyBinding>({ group, version, kind: "MutatingAdmissionPolicyBinding", plural: "mutatingadmissionpolicybindings", namespaced: false });
export const ValidatingWebhookConfigurations = resourceType<ValidatingWebhookConfiguration>({ group, version, kind: "ValidatingWebhookConfiguration", plural: "validatingwebhookconfigurations", namespaced: false });
export const MutatingWebhookConfigurations = resourceType<MutatingWebhookConfiguration>({ group, version, kind: "MutatingWebhookConfiguration", plural: "mutatingwebhookconfigurations", namespaced: false });
export const Secrets = resourceType<Secret>({ group: "", version: "v1", kind: "Secret", plural: "secrets", namespaced: true });

/** Any of the four policy kinds. */
export type AdmissionPolicyObject =
  | ValidatingAdmissionPolicy | ValidatingAdmissionPolicyBinding | MutatingAdmissionPolicy | MutatingAdmissionPolicyBinding;
