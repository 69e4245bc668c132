import type { MutatingWebhookConfiguration } from "../../../framework/admission/index.ts";
import { operatorWebhooks } from "../../../operators/webhooks.ts";

/**
 * The chart's MutatingWebhookConfiguration of operator `operator` as `helm install` creates it
 * (generated webhooks, no caBundle: the operator injects it), named `name`, but called at
 * `https://127.0.0.1:<port><path>` (the local control plane reaches no Service) and only for the
 * test's `namespace` (other test files create pods at the same time).
 */
export function localWebhookConfiguration(operator: string, name: string, port: number, namespace: string): MutatingWebhookConfiguration {
  return {
    apiVersion: "admissionregistration.k8s.io/v1", kind: "MutatingWebhookConfiguration", metadata: { name },
    webhooks: operatorWebhooks(operator).mutating.map((webhook) => ({
      ...webhook,
      clientConfig: { url: `https://127.0.0.1:${port}${webhook.clientConfig.service!.path}` },
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
    })),
  };
}
