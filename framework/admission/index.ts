/**
 * Admission from code: ValidatingAdmissionPolicy and MutatingAdmissionPolicy builders that
 * refuse what the API server would refuse, installing them (waiting for the type checker), and
 * admission webhooks over TLS with certificates that rotate without a failed request.
 */
export * from "./types.ts";
export { AdmissionConfigError, formatFieldError, type FieldError } from "./field-errors.ts";
export {
  validatingPolicy, mutatingPolicy, ValidatingPolicyBuilder, MutatingPolicyBuilder,
  type BuildOptions, type ValidatingBindingOptions, type MutatingBindingOptions, type PolicySet, type ValidatingPolicySet, type MutatingPolicySet,
} from "./policy.ts";
export {
  validatingAdmissionPolicyErrors, mutatingAdmissionPolicyErrors, validatingAdmissionPolicyBindingErrors, mutatingAdmissionPolicyBindingErrors,
  maxMatchConditions, type CelCheck, type ExpressionKind,
} from "./validate.ts";
export { installAdmissionPolicies, policyObjects, PolicyTypeCheckError, type InstallOptions } from "./install.ts";
export {
  createCertificateAuthority, createServingCertificate, certificateInfo, splitPemBundle, isSignedBy, type KeyPair, type ServingNames, type CertificateInfo,
} from "./webhook/certificates.ts";
export {
  CertificateManager, type CertificateManagerOptions, type CertificateSource, type ServingCertificate,
} from "./webhook/certificate-manager.ts";
export {
  allow, deny, patch, mutate, parseReview, reviewResponse, parseTimeoutMs, MalformedReviewError,
  type AdmissionRequest, type AdmissionResponse, type AdmissionResult, type ResponseStatus,
} from "./webhook/review.ts";
export {
  WebhookServer, WebhookBuilder, webhookFor, type WebhookServerOptions, type AdmissionHandler, type HandlerContext, type ConfigurationNames,
} from "./webhook/server.ts";
export { addWebhookServer, type ManagedWebhookServer, type ManagedWebhookServerOptions } from "./webhook/managed-server.ts";
export { kubernetesCelCheck } from "./cel-check.ts";
export { evaluateValidatingPolicy, type AdmissionRequestInput, type PolicyVerdict } from "./evaluate.ts";
export { evaluateMutatingPolicy, type MutationVerdict } from "./evaluate-mutating.ts";
