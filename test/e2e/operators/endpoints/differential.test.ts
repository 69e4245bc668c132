/**
 * Differential suite: for each scenario, after quiescence, our `discovery.kubeloop.dev`
 * Endpoints and EndpointSlices of a Service equal kube-controller-manager's core/v1 Endpoints
 * and discovery.k8s.io/v1 EndpointSlices of the same Service (its endpoints and endpointslice
 * controllers run in the same cluster), in canonical form: subsets, labels (managed-by left
 * out), the over-capacity annotation; slices as sets of `{addressType, ports, endpoint}`
 * (`targetRef.resourceVersion`, slice names and the split into slices left out).
 *
 * Pods sit on Nodes the test creates (no kubelet, no kwok): their IPs, phase and readiness are
 * set by hand, and a graceful delete leaves them terminating until the test force-deletes them.
 */
import { test } from "node:test";
import { randomBytes } from "node:crypto";
import { Pods, Services } from "../../../../framework/meta/index.ts";
import { isNotFound } from "../../../../framework/client/index.ts";
import { waitFor } from "../../../../framework/testing/index.ts";
import { KubeloopEndpoints, KubeloopEndpointSlices } from "../../../../operators/endpoints/index.ts";
import {
  assert, createPod, expectSame, service, setPodStatus, updatePod, updateService, useEndpointsSuite,
  type CanonicalView,
} from "./harness.ts";

const suffix = randomBytes(3).toString("hex");
const node = (i: number) => `ep-diff-${suffix}-n${i}`;
const nodes = [node(0), node(1), node(2)];
const suite = useEndpointsSuite({
  namespacePrefix: "ep-diff", nodes: [[nodes[0]!, "zone-a"], [nodes[1]!, "zone-b"], [nodes[2]!]],
  // An Endpoints of ours whose Service does not exist: orphan cleanup at start deletes it.
  beforeStart: async ({ client, ns }) => {
    await client.create(KubeloopEndpoints, {
      apiVersion: KubeloopEndpoints.apiVersion, kind: KubeloopEndpoints.kind, metadata: { name: "orphan", namespace: ns }, spec: { subsets: [] },
    });
  },
});

const ip = (a: number, b: number) => `10.250.${a}.${b}`;
const hasReady = (v: CanonicalView, address: string) => v.endpoints?.subsets.includes(`"addresses":[`) && v.endpoints.subsets.includes(`"ip":"${address}"`);

test("readiness flips, Failed and Succeeded pods, pods without IPs", async () => {
  const c = suite.client;
  await c.create(Services, service(suite.ns, "web", { app: "web" }, {
    ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }, { name: "metrics", port: 9090, targetPort: "metrics", protocol: "TCP" }],
  }, { team: "a" }));
  await createPod(c, suite.ns, { name: "web-0", labels: { app: "web" }, node: nodes[0], ips: [ip(1, 1)], ready: true, ports: [["metrics", 9100]] });
  await createPod(c, suite.ns, { name: "web-1", labels: { app: "web" }, node: nodes[1], ips: [ip(1, 2)], ready: false });
  await createPod(c, suite.ns, { name: "web-2", labels: { app: "web" }, node: nodes[0], phase: "Pending", ready: false });
  await createPod(c, suite.ns, { name: "web-3", labels: { app: "web" }, node: nodes[0], ips: [ip(1, 3)], phase: "Failed", ready: false });
  await createPod(c, suite.ns, { name: "web-4", labels: { app: "web" }, node: nodes[1], ips: [ip(1, 4)], phase: "Succeeded", ready: false });
  await expectSame(c, suite.ns, ["web"], (_n, b) => {
    assert.ok(hasReady(b, ip(1, 1)), "web-0 is a ready address");
    assert.ok(!b.endpoints!.subsets.includes(ip(1, 3)) && !b.endpoints!.subsets.includes(ip(1, 4)), "Failed/Succeeded pods are left out");
  });
  // Flip: web-0 not ready, web-1 ready.
  await setPodStatus(c, suite.ns, "web-0", { ready: false });
  await setPodStatus(c, suite.ns, "web-1", { ready: true });
  await expectSame(c, suite.ns, ["web"], (_n, b) => assert.ok(b.endpoints!.subsets.includes("notReadyAddresses")));
  // web-2 gets an IP; web-0 ready again.
  await setPodStatus(c, suite.ns, "web-2", { ips: [ip(1, 5)], phase: "Running", ready: true });
  await setPodStatus(c, suite.ns, "web-0", { ready: true });
  await expectSame(c, suite.ns, ["web"], (_n, b) => assert.ok(b.endpoints!.subsets.includes(ip(1, 5))));
});

test("named target ports differing per pod, sidecar ports, two protocols on one port number", async () => {
  const c = suite.client;
  await c.create(Services, service(suite.ns, "named", { app: "named" }, {
    ports: [
      { name: "web", port: 80, targetPort: "web", protocol: "TCP" },
      { name: "dns-udp", port: 53, targetPort: 5353, protocol: "UDP" },
      { name: "dns-tcp", port: 53, targetPort: 5353, protocol: "TCP" },
    ],
  }));
  await createPod(c, suite.ns, { name: "named-0", labels: { app: "named" }, node: nodes[0], ips: [ip(2, 1)], ready: true, ports: [["web", 8080]] });
  await createPod(c, suite.ns, { name: "named-1", labels: { app: "named" }, node: nodes[1], ips: [ip(2, 2)], ready: true, ports: [["web", 9090]] });
  await createPod(c, suite.ns, { name: "named-2", labels: { app: "named" }, node: nodes[2], ips: [ip(2, 3)], ready: true });
  await createPod(c, suite.ns, { name: "named-3", labels: { app: "named" }, node: nodes[0], ips: [ip(2, 4)], ready: true, sidecarPorts: [["web", 7070]] });
  await createPod(c, suite.ns, { name: "named-4", labels: { app: "named" }, node: nodes[1], ips: [ip(2, 5)], ready: false, ports: [["web", 8080, "UDP"]] });
  await expectSame(c, suite.ns, ["named"], (_n, b) => {
    for (const port of [8080, 9090, 7070, 5353]) assert.ok(b.endpoints!.subsets.includes(`"port":${port}`), `port ${port} is used`);
    assert.ok(b.slices.some((s) => s.includes(`"port":7070`)), "the sidecar's port");
  });
});

test("publishNotReadyAddresses and terminating pods held by a finalizer", async () => {
  const c = suite.client;
  await c.create(Services, service(suite.ns, "pnra", { app: "term" }, { publishNotReadyAddresses: true }));
  await c.create(Services, service(suite.ns, "plain", { app: "term" }));
  await createPod(c, suite.ns, { name: "term-0", labels: { app: "term" }, node: nodes[0], ips: [ip(3, 1)], ready: true });
  await createPod(c, suite.ns, { name: "term-1", labels: { app: "term" }, node: nodes[1], ips: [ip(3, 2)], ready: false });
  await createPod(c, suite.ns, { name: "term-2", labels: { app: "term" }, node: nodes[0], ips: [ip(3, 3)], ready: true, finalizer: true });
  await createPod(c, suite.ns, { name: "term-3", labels: { app: "term" }, node: nodes[1], ips: [ip(3, 4)], ready: false, finalizer: true });
  await expectSame(c, suite.ns, ["pnra", "plain"]);
  await c.delete(Pods, { namespace: suite.ns, name: "term-2" }, { gracePeriodSeconds: 0 });
  await c.delete(Pods, { namespace: suite.ns, name: "term-3" }, { gracePeriodSeconds: 0 });
  await expectSame(c, suite.ns, ["pnra", "plain"], (name, b) => {
    if (name === "plain") assert.ok(!b.endpoints!.subsets.includes(ip(3, 3)), "a terminating pod leaves the Endpoints");
    else assert.ok(b.endpoints!.subsets.includes(ip(3, 3)), "a terminating pod stays with publishNotReadyAddresses");
    assert.ok(b.slices.some((s) => s.includes(ip(3, 3)) && s.includes(`"terminating":true`)), "slices keep terminating pods");
  });
  // The finalizer goes: the pods go.
  for (const name of ["term-2", "term-3"]) await updatePod(c, suite.ns, name, (p) => { p.metadata!.finalizers = []; });
  await expectSame(c, suite.ns, ["pnra", "plain"], (_n, b) => assert.ok(!b.slices.some((s) => s.includes(ip(3, 3)))));
});

test("headless Services with and without ports, hostname only with a matching subdomain", async () => {
  const c = suite.client;
  await c.create(Services, service(suite.ns, "hl", { app: "hl" }, { clusterIP: "None" }));
  await c.create(Services, service(suite.ns, "hl-noports", { app: "hl" }, { clusterIP: "None", ports: [] }));
  await createPod(c, suite.ns, { name: "hl-0", labels: { app: "hl" }, node: nodes[0], ips: [ip(4, 1)], ready: true, hostname: "h0", subdomain: "hl" });
  await createPod(c, suite.ns, { name: "hl-1", labels: { app: "hl" }, node: nodes[1], ips: [ip(4, 2)], ready: false, hostname: "h1", subdomain: "other" });
  await createPod(c, suite.ns, { name: "hl-2", labels: { app: "hl" }, node: nodes[2], ips: [ip(4, 3)], ready: true, hostname: "h2", subdomain: "hl-noports" });
  await expectSame(c, suite.ns, ["hl", "hl-noports"], (name, b) => {
    assert.ok(b.endpoints!.labels.includes("service.kubernetes.io/headless"));
    if (name === "hl") assert.ok(b.endpoints!.subsets.includes(`"hostname":"h0"`));
    else assert.ok(!b.endpoints!.subsets.includes(`"ports"`) && b.endpoints!.subsets.includes(`"hostname":"h2"`));
  });
});

test("empty and nil selectors", async () => {
  const c = suite.client;
  await c.create(Services, service(suite.ns, "sel-empty", {}));
  await c.create(Services, service(suite.ns, "sel-nil", undefined));
  await expectSame(c, suite.ns, ["sel-empty", "sel-nil"], (name, b) => {
    if (name === "sel-nil") assert.equal(b.endpoints, null, "no Endpoints for a selector-less Service");
  });
});

test("ExternalName <-> ClusterIP transitions", async () => {
  const c = suite.client;
  await c.create(Services, service(suite.ns, "ext", { app: "ext" }));
  await createPod(c, suite.ns, { name: "ext-0", labels: { app: "ext" }, node: nodes[0], ips: [ip(5, 1)], ready: true });
  await expectSame(c, suite.ns, ["ext"], (_n, b) => assert.ok(b.endpoints?.subsets.includes(ip(5, 1))));
  await updateService(c, suite.ns, "ext", (s) => {
    s.spec = { type: "ExternalName", externalName: "example.com", selector: { app: "ext" } };
  });
  await createPod(c, suite.ns, { name: "ext-1", labels: { app: "ext" }, node: nodes[1], ips: [ip(5, 2)], ready: true });
  await expectSame(c, suite.ns, ["ext"], (_n, b) => assert.ok(!b.endpoints?.subsets.includes(ip(5, 2)), "ExternalName: untouched"));
  await updateService(c, suite.ns, "ext", (s) => {
    s.spec = { type: "ClusterIP", selector: { app: "ext" }, ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }] };
  });
  await expectSame(c, suite.ns, ["ext"], (_n, b) => assert.ok(b.endpoints?.subsets.includes(ip(5, 2))));
});

test("selector changes, pod label changes, Service labels", async () => {
  const c = suite.client;
  await c.create(Services, service(suite.ns, "sel", { tier: "x" }, {}, { owner: "one" }));
  await createPod(c, suite.ns, { name: "sel-0", labels: { tier: "x" }, node: nodes[0], ips: [ip(6, 1)], ready: true });
  await createPod(c, suite.ns, { name: "sel-1", labels: { tier: "y" }, node: nodes[1], ips: [ip(6, 2)], ready: true });
  await expectSame(c, suite.ns, ["sel"]);
  await updateService(c, suite.ns, "sel", (s) => {
    s.spec!.selector = { tier: "y" };
    s.metadata!.labels = { owner: "two", extra: "yes" };
  });
  await expectSame(c, suite.ns, ["sel"], (_n, b) => assert.ok(b.endpoints!.subsets.includes(ip(6, 2)) && b.endpoints!.labels.includes("two")));
  await updatePod(c, suite.ns, "sel-0", (p) => { p.metadata!.labels = { tier: "y" }; });
  await updatePod(c, suite.ns, "sel-1", (p) => { p.metadata!.labels = { tier: "z" }; });
  await expectSame(c, suite.ns, ["sel"], (_n, b) => assert.ok(b.endpoints!.subsets.includes(ip(6, 1)) && !b.endpoints!.subsets.includes(ip(6, 2))));
});

test("dual-stack pod IPs: the Service's family is used", async () => {
  const c = suite.client;
  await c.create(Services, service(suite.ns, "fam", { app: "fam" }));
  await createPod(c, suite.ns, { name: "fam-0", labels: { app: "fam" }, node: nodes[0], ips: [ip(7, 1), "fd00:250::71"], ready: true });
  await createPod(c, suite.ns, { name: "fam-1", labels: { app: "fam" }, node: nodes[1], ips: ["fd00:250::72", ip(7, 2)], ready: true });
  await createPod(c, suite.ns, { name: "fam-2", labels: { app: "fam" }, node: nodes[2], ips: ["fd00:250::73"], ready: true });
  await expectSame(c, suite.ns, ["fam"], (_n, b) => assert.ok(b.endpoints!.subsets.includes(ip(7, 2)) && !b.endpoints!.subsets.includes("fd00")));
});

test("pods on a node that does not exist: in the Endpoints, not in the slices", async () => {
  const c = suite.client;
  await c.create(Services, service(suite.ns, "ghost", { app: "ghost" }));
  await c.create(Services, service(suite.ns, "ghost-pnra", { app: "ghost" }, { publishNotReadyAddresses: true }));
  await createPod(c, suite.ns, { name: "ghost-0", labels: { app: "ghost" }, node: nodes[0], ips: [ip(8, 1)], ready: true });
  await createPod(c, suite.ns, { name: "ghost-1", labels: { app: "ghost" }, node: `ep-diff-${suffix}-gone`, ips: [ip(8, 2)], ready: true });
  await expectSame(c, suite.ns, ["ghost", "ghost-pnra"], (name, b) => {
    assert.ok(b.endpoints!.subsets.includes(ip(8, 2)));
    assert.equal(b.slices.some((s) => s.includes(ip(8, 2))), name === "ghost-pnra");
  });
});

test("zones and trafficDistribution hints", async () => {
  const c = suite.client;
  await c.create(Services, service(suite.ns, "tz", { app: "tz" }, { trafficDistribution: "PreferSameZone" }));
  await c.create(Services, service(suite.ns, "tn", { app: "tz" }, { trafficDistribution: "PreferSameNode" }));
  await c.create(Services, service(suite.ns, "tnone", { app: "tz" }));
  for (let i = 0; i < 3; i++) await createPod(c, suite.ns, { name: `tz-${i}`, labels: { app: "tz" }, node: nodes[i], ips: [ip(9, i + 1)], ready: i !== 1 });
  await expectSame(c, suite.ns, ["tz", "tn", "tnone"], (name, b) => {
    assert.ok(b.slices.some((s) => s.includes(`"zone":"zone-a"`)));
    if (name !== "tnone") assert.ok(b.slices.some((s) => s.includes("forZones")));
    if (name === "tn") assert.ok(b.slices.some((s) => s.includes("forNodes")));
  });
  await updateService(c, suite.ns, "tz", (s) => { delete s.spec!.trafficDistribution; });
  await setPodStatus(c, suite.ns, "tz-1", { ready: true });
  await expectSame(c, suite.ns, ["tz", "tn", "tnone"]);
});

test("Service deletion removes both", async () => {
  const c = suite.client;
  await c.create(Services, service(suite.ns, "gone", { app: "gone" }));
  await createPod(c, suite.ns, { name: "gone-0", labels: { app: "gone" }, node: nodes[0], ips: [ip(10, 1)], ready: true });
  await expectSame(c, suite.ns, ["gone"], (_n, b) => assert.ok(b.endpoints !== null && b.slices.length > 0));
  await c.delete(Services, { namespace: suite.ns, name: "gone" });
  await expectSame(c, suite.ns, ["gone"], (_n, b) => assert.ok(b.endpoints === null && b.slices.length === 0));
});

test("bad input: our objects edited or deleted by hand are put back", async () => {
  const c = suite.client;
  await c.create(Services, service(suite.ns, "fix", { app: "fix" }));
  await c.create(Services, service(suite.ns, "nomatch", { app: "nothing-has-this" }));
  await createPod(c, suite.ns, { name: "fix-0", labels: { app: "fix" }, node: nodes[0], ips: [ip(11, 1)], ready: true });
  await expectSame(c, suite.ns, ["fix", "nomatch"], (name, b) => {
    if (name === "nomatch") assert.equal(b.endpoints?.subsets, "[]", "a selector matching nothing gets empty subsets");
  });
  const ep = await c.get(KubeloopEndpoints, { namespace: suite.ns, name: "fix" });
  ep.spec.subsets = [{ addresses: [{ ip: "10.99.99.99" }], ports: [{ port: 1, protocol: "TCP" }] }];
  ep.metadata!.labels = { ...ep.metadata!.labels, intruder: "yes" };
  await c.update(KubeloopEndpoints, ep);
  const slices = await c.list(KubeloopEndpointSlices, { namespace: suite.ns, labelSelector: "kubernetes.io/service-name=fix" });
  for (const s of slices.items) await c.delete(KubeloopEndpointSlices, { namespace: suite.ns, name: s.metadata!.name! });
  await expectSame(c, suite.ns, ["fix"], (_n, b) => assert.ok(b.endpoints!.subsets.includes(ip(11, 1))));
  // A slice edited by hand (an endpoint's conditions and addresses) is put back.
  const [slice] = (await c.list(KubeloopEndpointSlices, { namespace: suite.ns, labelSelector: "kubernetes.io/service-name=fix" })).items;
  slice!.spec.endpoints = [{ addresses: ["10.99.99.98"], conditions: { ready: false } }];
  await c.update(KubeloopEndpointSlices, slice!);
  await expectSame(c, suite.ns, ["fix"]);
  await c.delete(KubeloopEndpoints, { namespace: suite.ns, name: "fix" });
  await expectSame(c, suite.ns, ["fix"]);
  const again = await c.get(KubeloopEndpoints, { namespace: suite.ns, name: "fix" });
  assert.ok(!again.metadata?.labels?.intruder);
});

test("orphan cleanup at start: our Endpoints without a Service are deleted (checkLeftoverEndpoints)", async () => {
  await waitFor(async () => {
    try {
      await suite.client.get(KubeloopEndpoints, { namespace: suite.ns, name: "orphan" });
      return false;
    } catch (err) {
      if (isNotFound(err)) return true;
      throw err;
    }
  }, { timeoutMs: 30_000, intervalMs: 200, description: "the orphan Endpoints to be deleted" });
});

test("no write when nothing changed (TestEndpointUpdates): irrelevant pod and Service updates keep every resourceVersion", async () => {
  const c = suite.client;
  await c.create(Services, service(suite.ns, "quiet", { app: "quiet" }));
  for (let i = 0; i < 3; i++) await createPod(c, suite.ns, { name: `quiet-${i}`, labels: { app: "quiet" }, node: nodes[i], ips: [ip(12, i + 1)], ready: i !== 2 });
  await expectSame(c, suite.ns, ["quiet"]);
  const versions = async () => {
    const ep = await c.get(KubeloopEndpoints, { namespace: suite.ns, name: "quiet" });
    const slices = await c.list(KubeloopEndpointSlices, { namespace: suite.ns, labelSelector: "kubernetes.io/service-name=quiet" });
    return [ep.metadata!.resourceVersion, ...slices.items.map((s) => s.metadata!.resourceVersion).sort()];
  };
  const before = await versions();
  const writesBefore = suite.op.handle.endpoints!.reconciler.writes + suite.op.handle.endpointSlices!.reconciler.writes;
  await updatePod(c, suite.ns, "quiet-0", (p) => { p.metadata!.annotations = { touched: "yes" }; });
  await setPodStatus(c, suite.ns, "quiet-1", { phase: "Running" });
  await updateService(c, suite.ns, "quiet", (s) => { s.metadata!.annotations = { touched: "yes" }; });
  await new Promise((r) => setTimeout(r, 2000));
  assert.deepEqual(await versions(), before);
  assert.equal(suite.op.handle.endpoints!.reconciler.writes + suite.op.handle.endpointSlices!.reconciler.writes, writesBefore);
});
