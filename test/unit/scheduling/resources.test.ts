import { test } from "node:test";
import assert from "node:assert/strict";
import type { Node, Pod } from "../../../framework/meta/index.ts";
import {
  hostPortConflicts, hostPortsOf, isScalarResourceName, milliValue, nodeInfoOf, NodeInfoBuilder, nonZeroRequests,
  parseQuantityNanos, podInfoOf, podRequests, toAmounts, value,
} from "../../../framework/scheduling/resources.ts";

type Res = Record<string, string>;
const ctr = (name: string, requests?: Res, extra: Record<string, unknown> = {}) =>
  ({ name, image: "x", ...(requests ? { resources: { requests } } : {}), ...extra });
function pod(spec: Record<string, unknown>, meta: Record<string, unknown> = {}, status?: Record<string, unknown>): Pod {
  return { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "ns", ...meta }, spec: spec as unknown as Pod["spec"], ...(status ? { status } : {}) } as Pod;
}
function node(allocatable: Res, name = "n1"): Node {
  return { apiVersion: "v1", kind: "Node", metadata: { name }, status: { allocatable, capacity: allocatable } } as Node;
}

test("quantities: MilliValue and Value round up, as apimachinery's Quantity", () => {
  assert.equal(milliValue("100m"), 100);
  assert.equal(milliValue("0.1"), 100);
  assert.equal(milliValue("1"), 1000);
  assert.equal(milliValue("1.0001"), 1001);
  assert.equal(milliValue("1500u"), 2); // 1.5m -> 2m
  assert.equal(milliValue("1n"), 1);
  assert.equal(milliValue(2), 2000);
  assert.equal(milliValue("2e3"), 2_000_000);
  assert.equal(milliValue("1E-3"), 1);
  assert.equal(value("1Gi"), 1073741824);
  assert.equal(value("1.5Gi"), 1610612736);
  assert.equal(value("200Mi"), 209715200);
  assert.equal(value("1G"), 1e9);
  assert.equal(value("1k"), 1000);
  assert.equal(value("128974848"), 128974848);
  assert.equal(value("129e6"), 129000000);
  assert.equal(value("100m"), 1); // Value() is ceil
  assert.equal(value("0"), 0);
  assert.equal(value("8"), 8);
  assert.equal(value("1Ei"), 2 ** 60);
  assert.equal(parseQuantityNanos("0.0000000001"), 1n); // finer than 1n rounds up
  assert.equal(parseQuantityNanos("-1m"), -1_000_000n);
  assert.equal(parseQuantityNanos("+.5"), 500_000_000n);
});

test("quantities: malformed ones throw with the quantity in the message", () => {
  for (const bad of ["", "1x", "1K", "1 Gi", "abc", "1.2.3", "1e"]) {
    assert.throws(() => parseQuantityNanos(bad), (e: Error) => e.message.includes(JSON.stringify(bad)), bad);
  }
});

test("scalar resource names: extended, hugepages, prefixed native, attachable volumes; plain unknown names are not", () => {
  for (const n of ["nvidia.com/gpu", "example.com/foo", "hugepages-2Mi", "kubernetes.io/batch", "attachable-volumes-csi-x"]) {
    assert.equal(isScalarResourceName(n), true, n);
  }
  for (const n of ["cpu", "memory", "foo", "requests.example.com/x", "example.com/a/b"]) assert.equal(isScalarResourceName(n), false, n);
  assert.deepEqual(toAmounts({ cpu: "1500m", memory: "1Gi", pods: "110", "nvidia.com/gpu": "8", foo: "3", "ephemeral-storage": "10Gi" }),
    { cpu: 1500, memory: 1073741824, pods: 110, "nvidia.com/gpu": 8, "ephemeral-storage": 10737418240 });
});

test("podRequests: regular containers are summed; requests are exact sums, converted once", () => {
  const p = pod({ containers: [ctr("a", { cpu: "0.5m", memory: "1Mi" }), ctr("b", { cpu: "0.5m", "nvidia.com/gpu": "1" })] });
  assert.deepEqual(podRequests(p), { cpu: 1, memory: 1048576, "nvidia.com/gpu": 1 });
});

test("podRequests: init containers define a floor (max of each init container and the sum)", () => {
  const p = pod({
    initContainers: [ctr("i1", { cpu: "2", memory: "1Gi" }), ctr("i2", { cpu: "500m", memory: "3Gi" })],
    containers: [ctr("a", { cpu: "1", memory: "1Gi" }), ctr("b", { cpu: "500m", memory: "512Mi" })],
  });
  assert.deepEqual(podRequests(p), { cpu: 2000, memory: 3 * 1073741824 });
});

test("podRequests: sidecars (restartable init containers) add to the sum and to later init containers' use", () => {
  // KEP-753 example: sidecar 1 cpu, then init 2 cpu (uses 1 + 2 = 3), regular 1 cpu (total 1 + 1 = 2) -> max 3
  const p = pod({
    initContainers: [ctr("side", { cpu: "1" }, { restartPolicy: "Always" }), ctr("init", { cpu: "2" })],
    containers: [ctr("main", { cpu: "1" })],
  });
  assert.deepEqual(podRequests(p), { cpu: 3000 });
  // init before the sidecar does not see it: max(2, 1 + 1) = 2
  const q = pod({
    initContainers: [ctr("init", { cpu: "2" }), ctr("side", { cpu: "1" }, { restartPolicy: "Always" })],
    containers: [ctr("main", { cpu: "1" })],
  });
  assert.deepEqual(podRequests(q), { cpu: 2000 });
});

test("podRequests: overhead is added; pod-level requests replace cpu/memory of the containers", () => {
  const p = pod({ containers: [ctr("a", { cpu: "100m" })], overhead: { cpu: "250m", memory: "120Mi" } });
  assert.deepEqual(podRequests(p), { cpu: 350, memory: 120 * 1048576 });
  const q = pod({
    resources: { requests: { cpu: "2", memory: "1Gi" } },
    containers: [ctr("a", { cpu: "500m", "nvidia.com/gpu": "2" })],
    overhead: { cpu: "100m" },
  });
  assert.deepEqual(podRequests(q), { cpu: 2100, memory: 1073741824, "nvidia.com/gpu": 2 });
});

test("podRequests: container status resources of a resized pod count (max of spec, actuated, allocated)", () => {
  const p = pod({ containers: [ctr("a", { cpu: "500m" })] }, {}, {
    containerStatuses: [{ name: "a", ready: true, restartCount: 0, image: "x", imageID: "", resources: { requests: { cpu: "1" } }, allocatedResources: { cpu: "750m" } }],
  });
  assert.deepEqual(podRequests(p), { cpu: 1000 });
  const infeasible = pod({ containers: [ctr("a", { cpu: "4" })] }, {}, {
    conditions: [{ type: "PodResizePending", status: "True", reason: "Infeasible" }],
    containerStatuses: [{ name: "a", ready: true, restartCount: 0, image: "x", imageID: "", resources: { requests: { cpu: "1" } } }],
  });
  assert.deepEqual(podRequests(infeasible), { cpu: 1000 });
});

test("nonZeroRequests: 100m / 200Mi per container without a request; explicit zero stays zero", () => {
  const p = pod({ containers: [ctr("a"), ctr("b", { cpu: "0", memory: "1Gi" }), ctr("c", { "nvidia.com/gpu": "1" })] });
  assert.deepEqual(podRequests(p), { cpu: 0, memory: 1073741824, "nvidia.com/gpu": 1 });
  assert.deepEqual(nonZeroRequests(p), { cpu: 200, memory: 1073741824 + 2 * 209715200, "nvidia.com/gpu": 1 });
  const empty = pod({ containers: [ctr("a")] });
  assert.deepEqual(podRequests(empty), {});
  assert.deepEqual(nonZeroRequests(empty), { cpu: 100, memory: 209715200 });
  // with pod-level requests, the default applies only to a resource set at neither level
  const podLevel = pod({ resources: { requests: { cpu: "1" } }, containers: [ctr("a"), ctr("b")] });
  assert.deepEqual(nonZeroRequests(podLevel), { cpu: 1000, memory: 2 * 209715200 });
});

test("podInfoOf computes both views once", () => {
  const p = pod({ containers: [ctr("a", { memory: "1Gi" })] });
  const info = podInfoOf(p);
  assert.equal(info.pod, p);
  assert.deepEqual(info.requests, { memory: 1073741824 });
  assert.deepEqual(info.nonZeroRequests, { cpu: 100, memory: 1073741824 });
});

test("host ports: sidecars and containers with hostPort > 0, defaults 0.0.0.0/TCP; conflicts as HostPortInfo", () => {
  const p = pod({
    initContainers: [
      ctr("init", undefined, { ports: [{ containerPort: 1, hostPort: 81 }] }),
      ctr("side", undefined, { restartPolicy: "Always", ports: [{ containerPort: 1, hostPort: 82, protocol: "UDP" }] }),
    ],
    containers: [ctr("a", undefined, { ports: [{ containerPort: 80 }, { containerPort: 80, hostPort: 8080, hostIP: "10.0.0.1" }] })],
  });
  assert.deepEqual(hostPortsOf(p), [
    { ip: "0.0.0.0", protocol: "UDP", port: 82 },
    { ip: "10.0.0.1", protocol: "TCP", port: 8080 },
  ]);
  const used = [{ ip: "10.0.0.1", protocol: "TCP", port: 8080 }];
  assert.equal(hostPortConflicts(used, { ip: "10.0.0.1", protocol: "TCP", port: 8080 }), true);
  assert.equal(hostPortConflicts(used, { ip: "0.0.0.0", protocol: "TCP", port: 8080 }), true);
  assert.equal(hostPortConflicts(used, { ip: "10.0.0.2", protocol: "TCP", port: 8080 }), false);
  assert.equal(hostPortConflicts(used, { ip: "10.0.0.1", protocol: "UDP", port: 8080 }), false);
  assert.equal(hostPortConflicts([{ ip: "0.0.0.0", protocol: "TCP", port: 1 }], { ip: "10.0.0.9", protocol: "TCP", port: 1 }), true);
});

test("NodeInfo: allocatable from status, pods accounted on add and released on remove", () => {
  const n = node({ cpu: "4", memory: "8Gi", pods: "110", "nvidia.com/gpu": "8" });
  const a = pod({ containers: [ctr("a", { cpu: "1", "nvidia.com/gpu": "2" }, { ports: [{ containerPort: 1, hostPort: 80 }] })] }, { uid: "a" });
  const b = pod({ containers: [ctr("b")] }, { uid: "b", name: "b" });
  const ni = nodeInfoOf(n, [a, b]);
  assert.deepEqual(ni.allocatable, { cpu: 4000, memory: 8 * 1073741824, pods: 110, "nvidia.com/gpu": 8 });
  assert.equal(ni.pods.length, 2);
  assert.deepEqual(ni.requested, { cpu: 1000, "nvidia.com/gpu": 2 });
  assert.deepEqual(ni.nonZeroRequested, { cpu: 1100, memory: 2 * 209715200, "nvidia.com/gpu": 2 });
  assert.deepEqual(ni.usedPorts, [{ ip: "0.0.0.0", protocol: "TCP", port: 80 }]);

  const snapshot = ni.clone();
  const g0 = ni.generation;
  assert.equal(ni.removePod("a")?.pod, a);
  assert.ok(ni.generation > g0);
  assert.equal(ni.removePod("a"), undefined);
  assert.deepEqual(ni.pods.map((p) => p.pod.metadata?.uid), ["b"]);
  assert.deepEqual(ni.requested, { cpu: 0, "nvidia.com/gpu": 0 });
  assert.deepEqual(ni.usedPorts, []);
  // the clone is independent
  assert.equal(snapshot.pods.length, 2);
  assert.deepEqual(snapshot.requested, { cpu: 1000, "nvidia.com/gpu": 2 });
  assert.equal(snapshot.generation, g0);

  assert.throws(() => ni.addPod(podInfoOf(b)), /pod b is already on node n1/);
  ni.updatePod(podInfoOf(pod({ containers: [ctr("b", { cpu: "3" })] }, { uid: "b", name: "b" })));
  assert.deepEqual(ni.requested.cpu, 3000);
  assert.equal(ni.hasPod("b"), true);
});

test("NodeInfo: pods may arrive before their node; node throws until set", () => {
  const ni = new NodeInfoBuilder();
  ni.addPod(podInfoOf(pod({ containers: [ctr("a", { cpu: "1" })] }, { uid: "x" })));
  assert.throws(() => ni.node, /no Node yet/);
  assert.equal(ni.nodeOrUndefined, undefined);
  ni.setNode(node({ cpu: "2" }));
  assert.equal(ni.node.metadata?.name, "n1");
  assert.deepEqual(ni.allocatable, { cpu: 2000 });
  assert.deepEqual(ni.requested, { cpu: 1000 });
});

test("podRequests: upstream's sidecar tables (component-helpers helpers_test.go)", () => {
  const side = (name: string, cpu: string) => ctr(name, { cpu }, { restartPolicy: "Always" });
  // "multiple restartable and regular init containers": init-2 needs 5 + the sidecars started before it (1 + 2) = 8
  const p = pod({
    initContainers: [ctr("init-1", { cpu: "5" }), side("r1", "1"), side("r2", "2"), ctr("init-2", { cpu: "5" }), side("r3", "3")],
    containers: [ctr("c", { cpu: "1" })],
  });
  assert.deepEqual(podRequests(p), { cpu: 8000 });
  // "restartable-init, init and regular": max(10 + 100, 10 + 200) = 210
  const q = pod({ initContainers: [side("r", "10"), ctr("i", { cpu: "200" })], containers: [ctr("c", { cpu: "100" })] });
  assert.deepEqual(podRequests(q), { cpu: 210000 });
});

test("quantities: 1500 strings parse, or fail, with apimachinery v0.36.3's ParseQuantity verdict, MilliValue and Value", async () => {
  const { readFile } = await import("node:fs/promises");
  const golden = JSON.parse(await readFile(new URL("./plugins/golden/quantities.json", import.meta.url), "utf8")) as Array<{ q: string; ok: boolean; milli: number; value: number }>;
  assert.ok(golden.length >= 1500);
  const mismatches: string[] = [];
  let compared = 0;
  for (const g of golden) {
    let got: { ok: boolean; milli: number; value: number };
    try {
      got = { ok: true, milli: milliValue(g.q), value: value(g.q) };
    } catch {
      got = { ok: false, milli: 0, value: 0 };
    }
    // Out of scope, where Go's int64 arithmetic overflows or caps (|milli| >= 2^63, beyond 9.2e15
    // cores or 9.2 PB), and negative values (upstream rounds some of them oddly; requests and
    // allocatable are never negative: API validation). Both still agree on whether the string parses.
    const outOfRange = got.ok && (Math.abs(got.milli) >= 2 ** 63 || got.milli < 0 || g.q.startsWith("-"));
    if (got.ok !== g.ok || (!outOfRange && (got.milli !== g.milli || got.value !== g.value))) {
      mismatches.push(`${JSON.stringify(g.q)}: got ${JSON.stringify(got)}, upstream ${JSON.stringify(g)}`);
    }
    if (!outOfRange) compared++;
  }
  assert.deepEqual(mismatches, []);
  assert.ok(compared > 1000, `values compared: ${compared}`);
  assert.ok(golden.filter((g) => !g.ok).length > 100, "malformed strings are part of the table");
});

test("quantities: absurd exponents saturate instead of building huge numbers", () => {
  const t = Date.now();
  assert.equal(value("1e999999999") > 1e40, true);
  assert.equal(value("0e999999999"), 0);
  assert.equal(milliValue("1e-999999999"), 1); // rounded up to 1n, then to 1m
  assert.equal(milliValue("-1e-999999999"), -1);
  assert.ok(Date.now() - t < 1000);
});
