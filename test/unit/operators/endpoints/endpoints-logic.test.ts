/**
 * Unit tests of the Endpoints controller's pure logic, ported from kubernetes v1.36
 * `pkg/controller/endpoint/endpoints_controller_test.go` (TestTruncateEndpoints,
 * TestSyncServiceAddresses, TestSyncEndpointsProtocol*, TestSyncEndpointsHeadlessWithoutPort,
 * TestPodToEndpointAddressForService*, TestSyncEndpointsItemsEmptySelectorSelectsAll*,
 * TestSyncServiceOverCapacity) and `pkg/api/v1/endpoints/util_test.go` (TestPackSubsets).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Pod, Service } from "../../../../framework/meta/index.ts";
import {
  canonicalIp, capacityAnnotationSetCorrectly, desiredSubsets, endpointsLabels, findPort, labelsCorrect, podToEndpointAddress, repackSubsets,
  shouldPodBeInEndpoints, truncateSubsets, type EndpointSubset,
} from "../../../../operators/endpoints/index.ts";

function svc(spec: Partial<NonNullable<Service["spec"]>> = {}, name = "foo"): Service {
  return {
    apiVersion: "v1", kind: "Service",
    metadata: { name, namespace: "ns" },
    spec: { selector: { foo: "bar" }, clusterIP: "1.1.1.1", ipFamilies: ["IPv4"], ports: [{ port: 80, targetPort: 8080, protocol: "TCP" }], ...spec },
  };
}

function pod(name: string, opts: { ready?: boolean; phase?: string; terminating?: boolean; ips?: string[]; ports?: Array<{ name: string; containerPort: number; protocol?: "TCP" | "UDP" | "SCTP" }>; hostname?: string; subdomain?: string } = {}): Pod {
  const ips = opts.ips ?? ["10.1.1.1"];
  return {
    apiVersion: "v1", kind: "Pod",
    metadata: { name, namespace: "ns", uid: `uid-${name}`, labels: { foo: "bar" }, ...(opts.terminating ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}) },
    spec: { nodeName: "node-1", containers: [{ name: "c", ports: opts.ports ?? [{ name: "port1", containerPort: 8080 }] }], ...(opts.hostname ? { hostname: opts.hostname } : {}), ...(opts.subdomain ? { subdomain: opts.subdomain } : {}) },
    status: {
      phase: (opts.phase ?? "Running") as "Running",
      conditions: [{ type: "Ready", status: opts.ready === false ? "False" : "True" }],
      ...(ips.length ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}),
    },
  };
}

const counts = (subsets: EndpointSubset[]) => ({
  ready: subsets.reduce((n, s) => n + (s.addresses?.length ?? 0), 0),
  notReady: subsets.reduce((n, s) => n + (s.notReadyAddresses?.length ?? 0), 0),
});

test("TestSyncServiceAddresses: the truth table of phase, readiness, deletion and publishNotReadyAddresses", () => {
  const cases: Array<[string, Parameters<typeof pod>[1], boolean, number, number]> = [
    ["pod running phase", { phase: "Running" }, false, 1, 0],
    ["pod running phase being deleted", { phase: "Running", terminating: true }, false, 0, 0],
    ["pod unknown phase container ready", { phase: "Unknown" }, false, 1, 0],
    ["pod unknown phase container ready being deleted", { phase: "Unknown", terminating: true }, false, 0, 0],
    ["pod pending phase container ready", { phase: "Pending" }, false, 1, 0],
    ["pod pending phase container ready being deleted", { phase: "Pending", terminating: true }, false, 0, 0],
    ["pod unknown phase container not ready", { phase: "Unknown", ready: false }, false, 0, 1],
    ["pod pending phase container not ready", { phase: "Pending", ready: false }, false, 0, 1],
    ["pod failed phase", { phase: "Failed", ready: false }, false, 0, 0],
    ["pod succeeded phase", { phase: "Succeeded", ready: false }, false, 0, 0],
    ["pod running phase and tolerate unready", { phase: "Running", ready: false }, true, 1, 0],
    ["pod running phase and tolerate unready being deleted", { phase: "Running", ready: false, terminating: true }, true, 1, 0],
    ["pod unknown phase and tolerate unready", { phase: "Unknown", ready: false }, true, 1, 0],
    ["pod unknown phase and tolerate unready being deleted", { phase: "Unknown", ready: false, terminating: true }, true, 1, 0],
    ["pod pending phase and tolerate unready", { phase: "Pending", ready: false }, true, 1, 0],
    ["pod pending phase and tolerate unready being deleted", { phase: "Pending", ready: false, terminating: true }, true, 1, 0],
    ["pod failed phase and tolerate unready", { phase: "Failed", ready: false }, true, 0, 0],
    ["pod succeeded phase and tolerate unready endpoints", { phase: "Succeeded", ready: false }, true, 0, 0],
  ];
  for (const [name, p, pnra, ready, notReady] of cases) {
    const { subsets } = desiredSubsets(svc({ publishNotReadyAddresses: pnra }), [pod("fakepod", p)]);
    assert.deepEqual(counts(subsets), { ready, notReady }, name);
  }
});

test("ShouldPodBeInEndpoints: no IP, terminal phases, terminating only when included", () => {
  assert.equal(shouldPodBeInEndpoints(pod("a", { ips: [] }), true), false);
  assert.equal(shouldPodBeInEndpoints(pod("a", { phase: "Failed" }), true), false);
  assert.equal(shouldPodBeInEndpoints(pod("a", { terminating: true }), false), false);
  assert.equal(shouldPodBeInEndpoints(pod("a", { terminating: true }), true), true);
});

test("TestSyncEndpointsProtocolMultiProtocolSamePort: one port number, two protocols", () => {
  const service = svc({ ports: [{ name: "tcp", port: 53, targetPort: 5353, protocol: "TCP" }, { name: "udp", port: 53, targetPort: 5353, protocol: "UDP" }] });
  const { subsets } = desiredSubsets(service, [pod("p0")]);
  assert.deepEqual(subsets.map((s) => s.ports), [[{ name: "tcp", port: 5353, protocol: "TCP" }, { name: "udp", port: 5353, protocol: "UDP" }]]);
});

test("TestSyncEndpointsHeadlessWithoutPort and a ClusterIP Service without ports", () => {
  const headless = desiredSubsets(svc({ clusterIP: "None", ports: [] }), [pod("p0")]);
  assert.equal(headless.subsets.length, 1);
  assert.equal(headless.subsets[0]!.ports, undefined);
  assert.equal(headless.subsets[0]!.addresses?.[0]?.ip, "10.1.1.1");
  assert.deepEqual(desiredSubsets(svc({ ports: [] }), [pod("p0")]).subsets, []);
});

test("FindPort: named target ports by name and protocol, containers then sidecars only", () => {
  const p = pod("p", { ports: [{ name: "web", containerPort: 8080 }, { name: "dns", containerPort: 53, protocol: "UDP" }] });
  assert.equal(findPort(p, { port: 80, targetPort: "web", protocol: "TCP" }), 8080);
  assert.equal(findPort(p, { port: 53, targetPort: "dns", protocol: "TCP" }), undefined);
  assert.equal(findPort(p, { port: 53, targetPort: "dns", protocol: "UDP" }), 53);
  assert.equal(findPort(p, { port: 80, targetPort: 9000, protocol: "TCP" }), 9000);
  p.spec!.initContainers = [
    { name: "init", ports: [{ name: "side", containerPort: 7000 }] },
    { name: "sidecar", restartPolicy: "Always", ports: [{ name: "side", containerPort: 7070 }] },
  ];
  assert.equal(findPort(p, { port: 80, targetPort: "side", protocol: "TCP" }), 7070);
  // A pod without the named port gets no entry for that Service port.
  const { subsets } = desiredSubsets(svc({ ports: [{ name: "a", port: 80, targetPort: "web" }, { name: "b", port: 81, targetPort: "nope" }] }), [p]);
  assert.deepEqual(subsets.map((s) => s.ports?.map((x) => x.port)), [[8080]]);
});

test("TestPodToEndpointAddressForService: family from ipFamilies, ClusterIP, else the pod IP; IPs re-stringified", () => {
  const dual = pod("p", { ips: ["1.2.3.4", "2000::0"] });
  assert.equal(podToEndpointAddress(svc({ ipFamilies: ["IPv4"] }), dual)?.ip, "1.2.3.4");
  assert.equal(podToEndpointAddress(svc({ ipFamilies: ["IPv6"], clusterIP: "3000::1" }), dual)?.ip, "2000::");
  assert.equal(podToEndpointAddress(svc({ ipFamilies: [], clusterIP: "3000::1" }), dual)?.ip, "2000::");
  assert.equal(podToEndpointAddress(svc({ ipFamilies: [], clusterIP: "None" }), dual)?.ip, "1.2.3.4");
  assert.equal(podToEndpointAddress(svc({ ipFamilies: ["IPv6"] }), pod("v4", { ips: ["1.2.3.4"] })), undefined);
  const addr = podToEndpointAddress(svc(), pod("p"))!;
  assert.deepEqual(addr, { ip: "10.1.1.1", nodeName: "node-1", targetRef: { kind: "Pod", namespace: "ns", name: "p", uid: "uid-p" } });
});

test("hostname only when the pod's subdomain is the Service's name", () => {
  assert.equal(podToEndpointAddress(svc(), pod("p", { hostname: "h", subdomain: "foo" }))?.hostname, "h");
  assert.equal(podToEndpointAddress(svc(), pod("p", { hostname: "h", subdomain: "bar" }))?.hostname, undefined);
});

test("canonicalIp mirrors Go's net.IP.String()", () => {
  assert.equal(canonicalIp("2001:0db8:0000:0000:0000:0000:0000:0001"), "2001:db8::1");
  assert.equal(canonicalIp("2001:db8:0:1:0:0:0:1"), "2001:db8:0:1::1");
  assert.equal(canonicalIp("::ffff:1.2.3.4"), "1.2.3.4");
  assert.equal(canonicalIp("010.001.002.003"), "10.1.2.3");
  assert.equal(canonicalIp("fd00::1:0:0:0:1"), "fd00:0:0:1::1");
});

test("TestPackSubsets: dedup by IP and UID, not-ready wins per port, grouped by port set", () => {
  const a = (ip: string, uid = `u-${ip}`) => ({ ip, targetRef: { kind: "Pod", uid } });
  const p = (port: number, name = "") => ({ name, port, protocol: "TCP" });
  // Two subsets with the same port merge, addresses sorted.
  assert.deepEqual(repackSubsets([{ addresses: [a("5.6.7.8")], ports: [p(111)] }, { addresses: [a("1.2.3.4")], ports: [p(111)] }]),
    [{ addresses: [a("1.2.3.4"), a("5.6.7.8")], ports: [p(111)] }]);
  // The same address twice on one port: once.
  assert.deepEqual(repackSubsets([{ addresses: [a("1.2.3.4"), a("1.2.3.4")], ports: [p(111)] }]), [{ addresses: [a("1.2.3.4")], ports: [p(111)] }]);
  // Same IP, different UIDs: two addresses.
  assert.equal(repackSubsets([{ addresses: [a("1.2.3.4", "x"), a("1.2.3.4", "y")], ports: [p(111)] }])[0]!.addresses!.length, 2);
  // Ready and not ready on the same port: not ready wins.
  assert.deepEqual(repackSubsets([{ addresses: [a("1.2.3.4")], ports: [p(111)] }, { notReadyAddresses: [a("1.2.3.4")], ports: [p(111)] }]),
    [{ notReadyAddresses: [a("1.2.3.4")], ports: [p(111)] }]);
  // Two addresses with the same two ports: one subset with both ports.
  assert.deepEqual(repackSubsets([
    { addresses: [a("1.2.3.4")], ports: [p(111, "a")] }, { addresses: [a("1.2.3.4")], ports: [p(222, "b")] },
    { addresses: [a("5.6.7.8")], ports: [p(222, "b")] }, { addresses: [a("5.6.7.8")], ports: [p(111, "a")] },
  ]), [{ addresses: [a("1.2.3.4"), a("5.6.7.8")], ports: [p(111, "a"), p(222, "b")] }]);
  // Different port sets: two subsets.
  assert.equal(repackSubsets([{ addresses: [a("1.2.3.4")], ports: [p(111)] }, { addresses: [a("5.6.7.8")], ports: [p(222)] }]).length, 2);
  // No ports: kept without ports.
  assert.deepEqual(repackSubsets([{ addresses: [a("1.2.3.4")] }]), [{ addresses: [a("1.2.3.4")] }]);
  // IPs sort as strings (upstream LessEndpointAddress compares the IP strings' bytes): "10.0.0.10" < "10.0.0.9".
  assert.deepEqual(repackSubsets([{ addresses: [a("10.0.0.9"), a("10.0.0.10")], ports: [p(1)] }])[0]!.addresses!.map((x) => x.ip), ["10.0.0.10", "10.0.0.9"]);
});

test("TestTruncateEndpoints: proportional truncation at 1000", () => {
  const cases: Array<[string, number[], number[], number[], number[]]> = [
    ["empty", [], [], [], []],
    ["total endpoints < max capacity", [50, 100, 100, 100, 100], [50, 100, 100, 100, 100], [50, 100, 100, 100, 100], [50, 100, 100, 100, 100]],
    ["total endpoints = max capacity", [100, 100, 100, 100, 100], [100, 100, 100, 100, 100], [100, 100, 100, 100, 100], [100, 100, 100, 100, 100]],
    ["total ready endpoints < max capacity, but total endpoints > max capacity", [90, 110, 50, 10, 20], [101, 200, 200, 201, 298], [90, 110, 50, 10, 20], [73, 144, 144, 145, 214]],
    ["total ready endpoints > max capacity", [205, 400, 402, 400, 693], [100, 200, 200, 200, 300], [98, 191, 192, 191, 328], [0, 0, 0, 0, 0]],
  ];
  for (const [desc, ready, notReady, wantReady, wantNotReady] of cases) {
    const subsets: EndpointSubset[] = ready.map((n, i) => ({
      addresses: Array.from({ length: n }, (_, k) => ({ ip: `10.0.${i}.${k}` })),
      notReadyAddresses: Array.from({ length: notReady[i]! }, (_, k) => ({ ip: `10.1.${i}.${k}` })),
    }));
    const truncated = truncateSubsets(subsets);
    assert.equal(truncated, ready.reduce((a, b) => a + b, 0) + notReady.reduce((a, b) => a + b, 0) > 1000, desc);
    assert.deepEqual(subsets.map((s) => s.addresses?.length ?? 0), wantReady, desc);
    assert.deepEqual(subsets.map((s) => s.notReadyAddresses?.length ?? 0), wantNotReady, desc);
  }
});

test("TestSyncServiceOverCapacity: the annotation must be present iff over capacity", () => {
  const many = (n: number): EndpointSubset[] => [{ addresses: Array.from({ length: n }, (_, k) => ({ ip: `10.0.${k >> 8}.${k & 255}` })) }];
  assert.equal(capacityAnnotationSetCorrectly(undefined, many(1000)), true);
  assert.equal(capacityAnnotationSetCorrectly({ "endpoints.kubernetes.io/over-capacity": "warning" }, many(1000)), false);
  assert.equal(capacityAnnotationSetCorrectly(undefined, many(1001)), false);
  assert.equal(capacityAnnotationSetCorrectly({ "endpoints.kubernetes.io/over-capacity": "truncated" }, many(1001)), false);
});

test("TestSyncEndpointsHeadlessServiceLabel and labels: Service labels, headless, managed-by", () => {
  const managedBy = { "endpoints.kubernetes.io/managed-by": "ours" };
  const headless = svc({ clusterIP: "None" });
  headless.metadata!.labels = { a: "b" };
  assert.deepEqual(endpointsLabels(headless, managedBy), { a: "b", "service.kubernetes.io/headless": "", "endpoints.kubernetes.io/managed-by": "ours" });
  assert.equal(labelsCorrect(endpointsLabels(headless, managedBy), headless, managedBy), true);
  assert.equal(labelsCorrect({ a: "b", "service.kubernetes.io/headless": "" }, headless, managedBy), false, "managed-by missing");
  assert.equal(labelsCorrect({ ...endpointsLabels(headless, managedBy), extra: "x" }, headless, managedBy), false);
  assert.deepEqual(endpointsLabels(svc(), managedBy), managedBy);
});
