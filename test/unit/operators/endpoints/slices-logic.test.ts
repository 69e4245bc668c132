/**
 * Unit tests of the EndpointSlice reconciler's pure logic, ported from `k8s.io/endpointslice`
 * v0.36 `reconciler_test.go` (TestReconcile1Pod, TestReconcileManyPods,
 * TestReconcileEndpointSlicesSomePreexisting, TestReconcileEndpointSlicesUpdating,
 * TestReconcileEndpointSlicesRecycling, TestReconcileEndpointSlicesUpdatePacking,
 * TestReconcileEndpointSlicesNamedPorts, TestReconcileMaxEndpointsPerSlice,
 * TestReconcilerPodMissingNode, TestReconcile_TrafficDistribution,
 * TestReconcileHeadlessServiceNoPorts, TestReconcilerFinalizeSvcDeletionTimestamp) and
 * `utils_test.go` (TestGetSliceToFill, getAddressTypesForService).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Node, Pod, Service } from "../../../../framework/meta/index.ts";
import { addressTypesForService, getSliceToFill, planSlices, type SliceState } from "../../../../operators/endpoints/index.ts";

const CONTROLLER = "test-controller";

function svc(spec: Partial<NonNullable<Service["spec"]>> = {}, meta: Partial<NonNullable<Service["metadata"]>> = {}): Service {
  return {
    apiVersion: "v1", kind: "Service",
    metadata: { name: "foo", namespace: "default", uid: "svc-uid", ...meta },
    spec: { selector: { foo: "bar" }, clusterIP: "10.0.0.1", ipFamilies: ["IPv4"], ports: [{ name: "foo", port: 80, targetPort: 8080, protocol: "TCP" }], ...spec },
  };
}

function pod(i: number, opts: { ready?: boolean; terminating?: boolean; node?: string; ips?: string[]; ports?: Array<{ name: string; containerPort: number }> } = {}): Pod {
  const ips = opts.ips ?? [`1.2.${i >> 8}.${i & 255}`];
  return {
    apiVersion: "v1", kind: "Pod",
    metadata: { name: `pod${i}`, namespace: "default", uid: `uid-${i}`, labels: { foo: "bar" }, ...(opts.terminating ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}) },
    spec: { nodeName: opts.node ?? "node-1", containers: [{ name: "c", ports: opts.ports ?? [] }] },
    status: { phase: "Running", conditions: [{ type: "Ready", status: opts.ready === false ? "False" : "True" }], podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) },
  };
}

const nodes: Record<string, Node> = {
  "node-1": { apiVersion: "v1", kind: "Node", metadata: { name: "node-1", labels: { "topology.kubernetes.io/zone": "zone-a" } } },
  "node-2": { apiVersion: "v1", kind: "Node", metadata: { name: "node-2", labels: { "topology.kubernetes.io/zone": "zone-b" } } },
};

function plan(service: Service, pods: Pod[], existing: SliceState[] = [], max = 100) {
  return planSlices({ service, pods, nodeOf: (n) => nodes[n], existing: structuredClone(existing), maxEndpointsPerSlice: max, controllerName: CONTROLLER });
}

/** Applies a plan to `existing` the way the API server would (names for creates), returning the new slices. */
function apply(existing: SliceState[], p: ReturnType<typeof plan>): SliceState[] {
  let n = existing.length;
  const out = existing.filter((s) => !p.delete.includes(s.name!) && !p.update.some((u) => u.name === s.name));
  out.push(...p.update.map((s) => structuredClone(s)));
  out.push(...p.create.map((s) => ({ ...structuredClone(s), name: `foo-${n++}` })));
  return out;
}

test("TestReconcile1Pod: one slice with the pod's endpoint, conditions, zone, labels", () => {
  const p = plan(svc(), [pod(1)]);
  assert.equal(p.create.length, 1);
  assert.deepEqual(p.update, []);
  const slice = p.create[0]!;
  assert.equal(slice.addressType, "IPv4");
  assert.deepEqual(slice.ports, [{ name: "foo", port: 8080, protocol: "TCP" }]);
  assert.deepEqual(slice.endpoints, [{
    addresses: ["1.2.0.1"], conditions: { ready: true, serving: true, terminating: false },
    targetRef: { kind: "Pod", namespace: "default", name: "pod1", uid: "uid-1" }, nodeName: "node-1", zone: "zone-a",
  }]);
  assert.deepEqual(slice.labels, { "kubernetes.io/service-name": "foo", "endpointslice.kubernetes.io/managed-by": CONTROLLER });
});

test("TestReconcileManyPods and TestReconcileMaxEndpointsPerSlice: slices of at most max endpoints", () => {
  const pods = Array.from({ length: 250 }, (_, i) => pod(i));
  assert.deepEqual(plan(svc(), pods).create.map((s) => s.endpoints.length).sort((a, b) => a - b), [50, 100, 100]);
  assert.deepEqual(plan(svc(), pods, [], 500).create.map((s) => s.endpoints.length), [250]);
  assert.equal(plan(svc(), pods, [], 1).create.length, 250);
});

test("unchanged state writes nothing (no-op resync)", () => {
  const pods = Array.from({ length: 150 }, (_, i) => pod(i));
  const slices = apply([], plan(svc(), pods));
  const again = plan(svc(), pods, slices);
  assert.deepEqual([again.create.length, again.update.length, again.delete.length], [0, 0, 0]);
});

test("TestReconcileEndpointSlicesUpdating: a changed endpoint updates its slice in place", () => {
  const pods = Array.from({ length: 250 }, (_, i) => pod(i));
  const slices = apply([], plan(svc(), pods));
  pods[5] = pod(5, { ready: false });
  const p = plan(svc(), pods, slices);
  assert.deepEqual([p.create.length, p.update.length, p.delete.length], [0, 1, 0]);
  const ep = p.update[0]!.endpoints.find((e) => e.targetRef?.name === "pod5")!;
  assert.deepEqual(ep.conditions, { ready: false, serving: false, terminating: false });
});

test("TestReconcileEndpointSlicesSomePreexisting / Recycling: endpoints stay where they are; a create paired with a delete becomes an update", () => {
  const pods = Array.from({ length: 10 }, (_, i) => pod(i));
  const slices = apply([], plan(svc(), pods));
  // All pods replaced by new ones: the old slice empties (delete) and a new one is needed (create): one update.
  const fresh = Array.from({ length: 10 }, (_, i) => pod(100 + i));
  const p = plan(svc(), fresh, slices);
  assert.deepEqual([p.create.length, p.update.length, p.delete.length], [0, 1, 0]);
  assert.equal(p.update[0]!.name, slices[0]!.name);
});

test("TestReconcileEndpointSlicesUpdatePacking: new endpoints fill the slices being updated, fullest first, then the closest-to-full unchanged one", () => {
  const pods = Array.from({ length: 180 }, (_, i) => pod(i));
  let slices = apply([], plan(svc(), pods)); // 100 + 80
  // Remove 10 pods from the 100-slice (it is updated) and add 15 new pods: 10 go to the updated slice, the rest to the other.
  const inFull = slices.find((s) => s.endpoints.length === 100)!;
  const removed = new Set(inFull.endpoints.slice(0, 10).map((e) => e.targetRef!.name));
  const next = [...pods.filter((p) => !removed.has(p.metadata!.name!)), ...Array.from({ length: 15 }, (_, i) => pod(500 + i))];
  const p = plan(svc(), next, slices);
  slices = apply(slices, p);
  assert.equal(p.create.length, 0);
  assert.deepEqual(slices.map((s) => s.endpoints.length).sort((a, b) => a - b), [85, 100]);
});

test("TestGetSliceToFill", () => {
  const s = (n: number) => ({ endpoints: new Array<number>(n).fill(0) });
  assert.equal(getSliceToFill([], 1, 100), undefined);
  const a = s(90);
  const b = s(95);
  assert.equal(getSliceToFill([a, b], 5, 100), b);
  assert.equal(getSliceToFill([a, b], 10, 100), a);
  assert.equal(getSliceToFill([a, b], 11, 100), undefined);
});

test("TestReconcileEndpointSlicesNamedPorts: pods with different resolved ports get different slices", () => {
  const service = svc({ ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }] });
  const pods = Array.from({ length: 6 }, (_, i) => pod(i, { ports: [{ name: "http", containerPort: 8080 + (i % 3) }] }));
  const p = plan(service, pods);
  assert.deepEqual(p.create.map((s) => s.ports[0]!.port).sort(), [8080, 8081, 8082]);
});

test("TestReconcileHeadlessServiceNoPorts and the placeholder slice", () => {
  const p = plan(svc({ clusterIP: "None", ports: [] }), [pod(1)]);
  assert.deepEqual(p.create.map((s) => [s.ports, s.endpoints.length, s.labels["service.kubernetes.io/headless"]]), [[[], 1, ""]]);
  // No pods: one empty placeholder, and it is kept on the next sync.
  const empty = plan(svc(), []);
  assert.deepEqual(empty.create.map((s) => [s.ports, s.endpoints]), [[[], []]]);
  const again = plan(svc(), [], apply([], empty));
  assert.deepEqual([again.create.length, again.update.length, again.delete.length], [0, 0, 0]);
});

test("TestReconcilerPodMissingNode: skipped and reported, unless publishNotReadyAddresses", () => {
  const pods = [pod(1), pod(2, { node: "gone" })];
  const p = plan(svc(), pods);
  assert.deepEqual(p.missingNodes, ["gone"]);
  assert.equal(p.create[0]!.endpoints.length, 1);
  const q = plan(svc({ publishNotReadyAddresses: true }), pods);
  assert.deepEqual(q.missingNodes, []);
  assert.equal(q.create[0]!.endpoints.length, 2);
});

test("terminating pods: included, ready only with publishNotReadyAddresses", () => {
  const [a] = plan(svc(), [pod(1, { terminating: true })]).create[0]!.endpoints;
  assert.deepEqual(a!.conditions, { ready: false, serving: true, terminating: true });
  const [b] = plan(svc({ publishNotReadyAddresses: true }), [pod(1, { terminating: true, ready: false })]).create[0]!.endpoints;
  assert.deepEqual(b!.conditions, { ready: true, serving: false, terminating: true });
});

test("TestReconcile_TrafficDistribution: zone hints for PreferSameZone/PreferClose, node hints for PreferSameNode, none otherwise", () => {
  const pods = [pod(1), pod(2, { node: "node-2", ready: false })];
  const zone = plan(svc({ trafficDistribution: "PreferSameZone" }), pods).create[0]!.endpoints;
  assert.deepEqual(zone.find((e) => e.targetRef!.name === "pod1")!.hints, { forZones: [{ name: "zone-a" }] });
  assert.equal(zone.find((e) => e.targetRef!.name === "pod2")!.hints, undefined, "not-ready endpoints get no hints");
  const node = plan(svc({ trafficDistribution: "PreferSameNode" }), pods).create[0]!.endpoints;
  assert.deepEqual(node.find((e) => e.targetRef!.name === "pod1")!.hints, { forZones: [{ name: "zone-a" }], forNodes: [{ name: "node-1" }] });
  const withHints = apply([], plan(svc({ trafficDistribution: "PreferClose" }), pods));
  // Switching PreferClose -> PreferSameNode changes only hints: the unchanged slice is updated.
  const p = plan(svc({ trafficDistribution: "PreferSameNode" }), pods, withHints);
  assert.equal(p.update.length, 1);
  // Removing trafficDistribution removes the hints of the unchanged slice (upstream
  // RemoveHintsFromSlices; the randomized differential run found ours keeping them).
  const cleared = plan(svc(), pods, withHints);
  assert.equal(cleared.update.length, 1);
  assert.ok(cleared.update[0]!.endpoints.every((e) => e.hints === undefined));
  assert.equal(plan(svc(), pods, apply(withHints, cleared)).update.length, 0, "and then nothing is left to write");
  // The topology annotation takes precedence: no hints from trafficDistribution.
  const annotated = plan(svc({ trafficDistribution: "PreferSameZone" }, { annotations: { "service.kubernetes.io/topology-mode": "Auto" } }), pods).create[0]!.endpoints;
  assert.ok(annotated.every((e) => e.hints === undefined));
});

test("TestReconcilerFinalizeSvcDeletionTimestamp: no creates while the Service is being deleted", () => {
  const p = plan(svc({}, { deletionTimestamp: "2026-01-01T00:00:00Z" }), [pod(1)]);
  assert.deepEqual(p.create, []);
});

test("slices not owned by the Service, and of address types it no longer has, are deleted", () => {
  const foreign: SliceState = { name: "foo-old", addressType: "IPv4", ports: [], endpoints: [], labels: {}, ownedByService: false };
  const v6: SliceState = { name: "foo-v6", addressType: "IPv6", ports: [], endpoints: [], labels: {}, ownedByService: true };
  const p = plan(svc(), [pod(1)], [foreign, v6]);
  // The new slice is not turned into an update of a slice another Service (a deleted namesake) owns.
  assert.deepEqual(p.delete.sort(), ["foo-old", "foo-v6"]);
  assert.equal(p.create.length, 1);
  assert.deepEqual(p.update, []);
});

test("getAddressTypesForService", () => {
  assert.deepEqual(addressTypesForService(svc({ ipFamilies: ["IPv6", "IPv4"] })), ["IPv6", "IPv4"]);
  assert.deepEqual(addressTypesForService(svc({ ipFamilies: [], clusterIP: "fd00::1" })), ["IPv6"]);
  assert.deepEqual(addressTypesForService(svc({ ipFamilies: [], clusterIP: "None" })), ["IPv4", "IPv6"]);
});

test("Service label changes update the slices' labels (reserved keys ignored)", () => {
  const slices = apply([], plan(svc(), [pod(1)]));
  const labelled = svc({}, { labels: { team: "a", "kubernetes.io/service-name": "evil" } });
  const p = plan(labelled, [pod(1)], slices);
  assert.equal(p.update.length, 1);
  assert.deepEqual(p.update[0]!.labels, { team: "a", "kubernetes.io/service-name": "foo", "endpointslice.kubernetes.io/managed-by": CONTROLLER });
});
