/**
 * The Endpoints operator: `discovery.kubeloop.dev/v1alpha1` Endpoints and EndpointSlices
 * computed from Services, pods and nodes as kube-controller-manager v1.36's endpoints and
 * EndpointSlice controllers compute core/v1 Endpoints and discovery.k8s.io/v1 slices (see
 * README.md).
 *
 * ```ts
 * const mgr = new Manager({ ... });
 * setupEndpointsControllers(mgr, { workers: 5, maxEndpointsPerSlice: 100 });
 * await mgr.start(signal);
 * ```
 */
export { setupEndpointsControllers, servicesSelecting, MAX_RETRIES } from "./controller.ts";
export type { EndpointsControllerHost, EndpointsControllerOptions, EndpointsControllersHandle } from "./controller.ts";
export {
  EndpointsDefinition, EndpointSliceDefinition, KubeloopEndpoints, KubeloopEndpointSlices, BuiltinEndpointSlices, GROUP,
} from "./api.ts";
export type {
  EndpointsObject, EndpointSliceObject, EndpointSubset, EndpointAddress, EndpointPort, SliceEndpoint, SlicePort, AddressType, BuiltinEndpointSlice,
} from "./api.ts";
export { EndpointsReconciler, StaleEndpointsTracker, ENDPOINTS_MANAGED_BY } from "./endpoints-reconciler.ts";
export { EndpointSliceReconciler, SliceWriteTracker, SLICE_CONTROLLER_NAME } from "./slices-reconciler.ts";
export { desiredSubsets, podToEndpointAddress, endpointsLabels, labelsCorrect, HEADLESS_LABEL } from "./endpoints-desired.ts";
export { repackSubsets, sortSubsets, truncateSubsets, capacityAnnotationSetCorrectly, MAX_ENDPOINTS_CAPACITY, OVER_CAPACITY_ANNOTATION } from "./repack.ts";
export { planSlices, reconcileByPortMapping, getSliceToFill, sliceLabels, SERVICE_NAME_LABEL, SLICE_MANAGED_BY_LABEL, DEFAULT_MAX_ENDPOINTS_PER_SLICE } from "./slice-placement.ts";
export type { SliceState, SlicePlan, PlanInput } from "./slice-placement.ts";
export { addressTypesForService, endpointPortsFor, podToSliceEndpoint, endpointKey, portMapKey, ZONE_LABEL } from "./slices-desired.ts";
export { shouldPodBeInEndpoints, findPort, isPodReady, podEndpointsChanged, canonicalIp } from "./pods.ts";
export { canonicalSubsets, canonicalSliceEndpoints, stableJson } from "./canonical.ts";
export { TriggerTimeTracker, LAST_CHANGE_TRIGGER_TIME_ANNOTATION } from "./trigger-time.ts";
