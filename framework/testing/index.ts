/**
 * A real Kubernetes control plane for tests and local runs, without Docker: etcd,
 * kube-apiserver, kube-controller-manager, kube-scheduler (v1.36.3, built from Go modules on
 * first use and cached per machine) and the kwok controller, which plays the kubelet for fake
 * nodes. Or an existing cluster through `KUBECONFIG` (kind in CI).
 *
 * Mirrors controller-runtime's envtest (`pkg/internal/testing/controlplane`), which starts
 * only etcd and kube-apiserver, plus what kwokctl's binary runtime adds (controller manager,
 * scheduler, kwok). Everything listens on 127.0.0.1 only.
 *
 * For unit tests, `FakeClient` over an `InMemoryApi`: a `Client` with the API server's storage
 * semantics (resourceVersions, conflicts, status subresource, finalizers, patches, selectors,
 * watches), recorded actions and reactors, as controller-runtime's `client/fake`.
 *
 * ```ts
 * const plane = await startControlPlane({ onProgress: console.error });
 * await createFakeNodes(plane.kubeconfigPath, { count: 3, gpus: 8, gpuProduct: "NVIDIA-H100-80GB-HBM3" });
 * // ... use plane.kubeconfigPath ...
 * await plane.stop({ removeData: true });
 * ```
 */
export {
  attachControlPlane,
  controlPlaneStatus,
  auditLogOf,
  defaultClusterDir,
  destroyControlPlane,
  existingControlPlane,
  startControlPlane,
  testControlPlane,
  type ControlPlane,
  type ControlPlaneProcess,
  type ControlPlaneStatus,
  type RestartableComponent,
  type StartControlPlaneOptions,
} from "./controlplane.ts";
export { AUDITED_NAMESPACE } from "./flags.ts";
export {
  customResourceDefinitionProblems,
  validateCustomResourceDefinitions,
  validateCustomResourceDefinitionsOnServer,
  type CrdFieldError,
  type CrdProblemsOptions,
  type CrdVerdict,
} from "./crd-validation.ts";
export {
  admissionPolicyTypeProblems,
  typeCheckValidatingAdmissionPolicies,
  type PolicyExpressionWarning,
  type PolicyTypeCheckVerdict,
} from "./policy-typecheck.ts";
export {
  allComponents,
  componentVersions,
  defaultBinaryCacheDir,
  ensureBinaries,
  type BinaryPaths,
  type Component,
  type ControlPlaneComponent,
  type EnsureBinariesOptions,
} from "./binaries.ts";
export {
  createFakeNodes,
  deleteFakeNodes,
  fakeNodeLabel,
  fakeNodeObject,
  isNodeReadyAndSchedulable,
  type CreateFakeNodesOptions,
  type FakeNodeSet,
  type FakeNodeSpec,
} from "./fakenodes.ts";
export { PortInUseError, pickFreePorts } from "./ports.ts";
export { loadKwokStages, type KwokStage } from "./stages.ts";
export { waitFor, WaitTimeoutError, type WaitForOptions } from "./wait.ts";
export { seededRandom } from "./seeded-random.ts";
export { testEnvironment, createTestNamespace, deleteTestNamespace, type TestEnvironment } from "./environment.ts";
export { InMemoryApi, type InMemoryApiOptions, type ObjectTracker } from "./in-memory-api.ts";
export { FakeClient, apiError, type Action, type Reaction, type Reactor, type ReactorFilter, type Verb } from "./fake-client.ts";
export { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, PatchError, type JsonPatchOp } from "./patch.ts";
