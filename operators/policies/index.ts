/**
 * Admission policies shipped with the sample operators, built with `kubeloop/admission`:
 *
 * - `gpu-resources-pods`, `gpu-resources-templates` (validating): `nvidia.com/gpu` limits equal
 *   requests and are whole numbers, in pods and in the pod templates of kubeloop ReplicaSets.
 *   For pods, kube-apiserver's own validation (pkg/apis/core/validation `validateResourceRequirements`:
 *   "must be equal to nvidia.com/gpu limit", "must be an integer") runs before validating
 *   admission and refuses the same pods first; the pod policy is a backstop. The template policy
 *   is what catches a bad kubeloop ReplicaSet at creation rather than at its first pod.
 * - `gpu-toleration` (mutating): a pod that requests `nvidia.com/gpu` (CREATE or UPDATE) gets the toleration
 *   `nvidia.com/gpu:NoSchedule` (operator Exists), as the ExtendedResourceToleration admission
 *   plugin does (plugin/pkg/admission/extendedresourcetoleration/admission.go in Kubernetes v1.36),
 *   unless it has one already. JSONPatch, not ApplyConfiguration: `spec.tolerations` is an
 *   atomic list, which apply configurations may not modify.
 * - `pod-group-scheduler` (validating): a pod labelled `scheduling.kubeloop.dev/pod-group` is
 *   scheduled by `kubeloop-scheduler`, the only scheduler that places a PodGroup as a gang.
 */
import {
  kubernetesCelCheck, mutatingPolicy, validatingPolicy, type MutatingPolicySet, type ValidatingPolicySet,
} from "../../framework/admission/index.ts";
import { DEFAULT_SCHEDULER_NAME } from "../../framework/scheduling/index.ts";
import { POD_GROUP_LABEL } from "../gang-scheduling/api.ts";

/** The extended resource the GPU policies watch. */
export const gpuResource = "nvidia.com/gpu";
/** The label that puts a pod into a PodGroup (gang-scheduling's). */
export const podGroupLabel = POD_GROUP_LABEL;
/** The scheduler that places PodGroups (framework/scheduling's default name, which gang-scheduling serves). */
export const gangSchedulerName = DEFAULT_SCHEDULER_NAME;

const labels = { "app.kubernetes.io/managed-by": "kubeloop", "app.kubernetes.io/part-of": "kubeloop-policies" };

const has = (c: string, field: "limits" | "requests"): string => `(has(${c}.resources.${field}) && '${gpuResource}' in ${c}.resources.${field})`;
const value = (c: string, field: "limits" | "requests"): string => `string(${c}.resources.${field}['${gpuResource}'])`;
const whole = (c: string, field: "limits" | "requests"): string =>
  `(!${has(c, field)} || (isQuantity(${value(c, field)}) && quantity(${value(c, field)}).isInteger()))`;
const equal = `(${has("c", "limits")} && (!${has("c", "requests")} || !isQuantity(${value("c", "requests")}) || !isQuantity(${value("c", "limits")}) || ` +
  `quantity(${value("c", "requests")}).compareTo(quantity(${value("c", "limits")})) == 0))`;

function gpuResources(name: string, spec: string, rule: { apiGroups: string[]; apiVersions: string[]; resources: string[] }): ValidatingPolicySet {
  return validatingPolicy(name)
    .forResources({ ...rule, operations: ["CREATE", "UPDATE"] })
    .variable("containers", `${spec}.containers + (has(${spec}.initContainers) ? ${spec}.initContainers : [])`)
    .variable("gpuContainers", `variables.containers.filter(c, has(c.resources) && (${has("c", "limits")} || ${has("c", "requests")}))`)
    .validate({
      expression: `variables.gpuContainers.all(c, ${whole("c", "limits")} && ${whole("c", "requests")})`,
      messageExpression: `'${gpuResource} must be a whole number of GPUs; not so in container(s) ' + ` +
        `variables.gpuContainers.filter(c, !(${whole("c", "limits")} && ${whole("c", "requests")})).map(c, c.name).join(', ')`,
      reason: "Invalid",
    })
    .validate({
      expression: `variables.gpuContainers.all(c, ${equal})`,
      messageExpression: `'${gpuResource} limits must be set and equal requests; not so in container(s) ' + ` +
        `variables.gpuContainers.filter(c, !${equal}).map(c, c.name).join(', ')`,
      reason: "Invalid",
    })
    .bind({ validationActions: ["Deny"] })
    .build({ labels, cel: kubernetesCelCheck });
}

/** GPU limits equal requests and are whole numbers, in pods (a backstop: core validation refuses these first). */
export function gpuResourcesPodsPolicy(): ValidatingPolicySet {
  return gpuResources("gpu-resources-pods", "object.spec", { apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] });
}

/** GPU limits equal requests and are whole numbers, in the pod template of `apps.kubeloop.dev` ReplicaSets. */
export function gpuResourcesTemplatesPolicy(): ValidatingPolicySet {
  return gpuResources("gpu-resources-templates", "object.spec.template.spec", { apiGroups: ["apps.kubeloop.dev"], apiVersions: ["v1alpha1"], resources: ["replicasets"] });
}

const requestsGpus = (list: string): string => `${list}.exists(c, has(c.resources) && ${has("c", "requests")})`;
const toleration = `Object.spec.tolerations{key: '${gpuResource}', operator: 'Exists', effect: 'NoSchedule'}`;

/**
 * Adds the `nvidia.com/gpu` NoSchedule toleration to pods that request GPUs, as the
 * ExtendedResourceToleration plugin does: on CREATE and UPDATE of pods, for requests of
 * containers and init containers (requests are defaulted from limits before admission), unless
 * an equal toleration (key, operator Exists, effect NoSchedule) is there (`AddOrUpdateTolerationInPod`).
 */
export function gpuTolerationPolicy(): MutatingPolicySet {
  return mutatingPolicy("gpu-toleration")
    .forResources({ apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], operations: ["CREATE", "UPDATE"] })
    .when("requests-gpus", `${requestsGpus("object.spec.containers")} || (has(object.spec.initContainers) && ${requestsGpus("object.spec.initContainers")})`)
    .when("not-tolerated", `!has(object.spec.tolerations) || !object.spec.tolerations.exists(t, has(t.key) && t.key == '${gpuResource}' && ` +
      `has(t.operator) && t.operator == 'Exists' && has(t.effect) && t.effect == 'NoSchedule')`)
    .jsonPatch(`has(object.spec.tolerations) ? [JSONPatch{op: 'add', path: '/spec/tolerations/-', value: ${toleration}}] : ` +
      `[JSONPatch{op: 'add', path: '/spec/tolerations', value: [${toleration}]}]`)
    .reinvocationPolicy("IfNeeded")
    .failurePolicy("Fail")
    .bind()
    .build({ labels, cel: kubernetesCelCheck });
}

/** Pods labelled with a PodGroup must be scheduled by `kubeloop-scheduler`. */
export function podGroupSchedulerPolicy(): ValidatingPolicySet {
  return validatingPolicy("pod-group-scheduler")
    .forResources({ apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], operations: ["CREATE"] })
    .forObjects({ matchExpressions: [{ key: podGroupLabel, operator: "Exists" }] })
    .validate({
      expression: `has(object.spec.schedulerName) && object.spec.schedulerName == '${gangSchedulerName}'`,
      messageExpression: `'pod of PodGroup ' + object.metadata.labels['${podGroupLabel}'] + ' must set spec.schedulerName to ${gangSchedulerName}, not ' + ` +
        `(has(object.spec.schedulerName) ? object.spec.schedulerName : 'default-scheduler')`,
      reason: "Forbidden",
    })
    .bind({ validationActions: ["Deny"] })
    .build({ labels, cel: kubernetesCelCheck });
}

/** Every shipped policy, in install order (mutating before validating, as the API server runs them). */
export function samplePolicies(): Array<ValidatingPolicySet | MutatingPolicySet> {
  return [gpuTolerationPolicy(), gpuResourcesPodsPolicy(), gpuResourcesTemplatesPolicy(), podGroupSchedulerPolicy()];
}
