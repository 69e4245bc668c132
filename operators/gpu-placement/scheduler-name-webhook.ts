/**
 * The scheduler-name webhook: a mutating admission webhook that sends the GPU pods a
 * GPUPlacementPolicy governs to the kubeloop scheduler, so a policy takes effect on pods whose
 * authors (or whose Job and Deployment templates) never name a scheduler. Only the kubeloop
 * scheduler runs the `GPUPlacement` plugin; a governed pod left on kube-scheduler would be placed
 * as if no policy existed. KAI-Scheduler and Volcano inject their scheduler name the same way.
 *
 * Why a webhook and not a MutatingAdmissionPolicy: which policy governs a pod depends on every
 * GPUPlacementPolicy in the cluster (selectors and weights, `policyFor`), which CEL in the API
 * server cannot list. The handler reads the operator's informer cache, which the manager has
 * synced before the server listens.
 *
 * What the API server sends (the rest never reaches the webhook):
 * - Pod CREATE, outside `kube-system` and the namespaces given (the operator's own);
 * - `matchConditions`: a container or init container requests or limits `nvidia.com/gpu`;
 *   `spec.schedulerName` is `default-scheduler` (what the API server defaults an empty one to: a
 *   pod that names another scheduler keeps it); `spec.nodeName` is empty (not bound yet).
 * What it does: when a policy governs the pod (`policyFor` on its labels), sets
 * `spec.schedulerName: kubeloop-scheduler` and the annotation
 * `scheduling.kubeloop.dev/gpu-placement-policy: <policy>`; otherwise admits it unchanged.
 * `failurePolicy: Ignore`, `timeoutSeconds: 5`: while the operator is down GPU pods are still
 * admitted, on kube-scheduler, as if no policy existed.
 */
import { mutate, allow, webhookFor, type AdmissionResult, type WebhookServer } from "../../framework/admission/index.ts";
import { Pods, type Pod } from "../../framework/meta/index.ts";
import { DEFAULT_SCHEDULER_NAME as KUBELOOP_SCHEDULER_NAME } from "../../framework/scheduling/index.ts";
import { GPU_RESOURCE } from "./api.ts";
import { policyFor } from "./policy.ts";
import type { PolicySource } from "./policy-cache.ts";

/** The webhook's name in the MutatingWebhookConfiguration. */
export const SCHEDULER_NAME_WEBHOOK = "scheduler-name.gpu-placement.kubeloop.dev";
/** The annotation naming the policy that sent the pod to the kubeloop scheduler. */
export const GOVERNING_POLICY_ANNOTATION = "scheduling.kubeloop.dev/gpu-placement-policy";
/** The scheduler name the API server gives a pod that names none. */
export const KUBE_SCHEDULER_NAME = "default-scheduler";

/** Options of `registerSchedulerNameWebhook`. */
export interface SchedulerNameWebhookOptions {
  /** Namespaces the API server never sends (besides `kube-system`): the operator's own. */
  excludedNamespaces?: readonly string[];
}

const requestsGpu = (containers: string) =>
  `${containers}.exists(c, has(c.resources) && ((has(c.resources.requests) && '${GPU_RESOURCE}' in c.resources.requests) || ` +
  `(has(c.resources.limits) && '${GPU_RESOURCE}' in c.resources.limits)))`;

/**
 * The pod as the webhook answers it: `undefined` when no policy governs it or it names another
 * scheduler (admitted unchanged), else a copy on `kubeloop-scheduler` with the annotation.
 */
export function routeToKubeloopScheduler(pod: Pod, policies: PolicySource): { pod: Pod; policy: string } | undefined {
  const schedulerName = pod.spec?.schedulerName ?? KUBE_SCHEDULER_NAME;
  if (schedulerName !== KUBE_SCHEDULER_NAME || pod.spec?.nodeName) return undefined;
  const policy = policyFor(pod.metadata?.labels, policies.policies());
  if (!policy) return undefined;
  const routed = structuredClone(pod);
  routed.spec = { ...routed.spec!, schedulerName: KUBELOOP_SCHEDULER_NAME };
  routed.metadata = { ...routed.metadata, annotations: { ...routed.metadata?.annotations, [GOVERNING_POLICY_ANNOTATION]: policy.name } };
  return { pod: routed, policy: policy.name };
}

/**
 * Registers the scheduler-name webhook on `server` (path `/mutate-core-v1-pod-scheduler-name`).
 * @throws AdmissionConfigError when the registration would be refused by the API server.
 */
export function registerSchedulerNameWebhook(server: WebhookServer, policies: PolicySource, opts: SchedulerNameWebhookOptions = {}): void {
  webhookFor(server, Pods)
    .named(SCHEDULER_NAME_WEBHOOK)
    .path("/mutate-core-v1-pod-scheduler-name")
    .operations("CREATE")
    .failurePolicy("Ignore")
    .timeoutSeconds(5)
    .inNamespaces({ matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", ...(opts.excludedNamespaces ?? [])] }] })
    .when("requests-gpus", `${requestsGpu("object.spec.containers")} || (has(object.spec.initContainers) && ${requestsGpu("object.spec.initContainers")})`)
    .when("on-kube-scheduler", `!has(object.spec.schedulerName) || object.spec.schedulerName == '${KUBE_SCHEDULER_NAME}'`)
    .when("not-bound", "!has(object.spec.nodeName) || object.spec.nodeName == ''")
    .mutate((request): AdmissionResult => {
      const routed = request.object ? routeToKubeloopScheduler(request.object, policies) : undefined;
      return routed ? mutate(routed.pod) : allow();
    });
}
