/**
 * The two reconcilers against the in-memory API (`FakeClient`), with the API's objects as the
 * cache: ports of `TestSyncEndpointsItems`, `TestSyncEndpointsItemsPreexistingIdentical` (no
 * write), `TestSyncServiceExternalNameType`, `TestSyncEndpointsItemsPreserveNoSelector`,
 * `TestSyncEndpointsServiceNotFound`, `TestMultiplePodChanges` (stale cache: no write, retry),
 * `TestSyncServiceOverCapacity` (annotation), and of the slice reconciler's sync: create, no-op,
 * pod on a missing node (written without it, then an error for the retry).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Store, LABEL_INDEX, labelIndexFunc } from "../../../../framework/cache/index.ts";
import { Nodes, Services, type Node, type Pod, type Service } from "../../../../framework/meta/index.ts";
import { FakeClient, InMemoryApi } from "../../../../framework/testing/index.ts";
import {
  EndpointSliceReconciler, EndpointsReconciler, KubeloopEndpoints, KubeloopEndpointSlices, type EndpointsObject,
} from "../../../../operators/endpoints/index.ts";

const signal = new AbortController().signal;

function setup() {
  const api = new InMemoryApi({ hasStatusSubresource: () => false });
  const client = new FakeClient(api);
  const pods = new Store<Pod>({ [LABEL_INDEX]: labelIndexFunc });
  const services = api.objects(Services);
  const endpoints = api.objects(KubeloopEndpoints);
  const reconciler = new EndpointsReconciler({ client, services, pods, endpoints });
  return { api, client, pods, services, endpoints, reconciler };
}

const svc = (spec: Partial<NonNullable<Service["spec"]>> = {}, labels?: Record<string, string>): Service => ({
  apiVersion: "v1", kind: "Service",
  metadata: { name: "foo", namespace: "ns", ...(labels ? { labels } : {}), creationTimestamp: "2026-01-01T00:00:00Z" },
  spec: { selector: { foo: "bar" }, clusterIP: "10.0.0.1", ipFamilies: ["IPv4"], ports: [{ port: 80, targetPort: 8080, protocol: "TCP" }], ...spec },
});

const pod = (i: number, ready = true): Pod => ({
  apiVersion: "v1", kind: "Pod",
  metadata: { name: `pod${i}`, namespace: "ns", uid: `uid-${i}`, labels: { foo: "bar" }, resourceVersion: "1" },
  spec: { nodeName: "node-1", containers: [{ name: "c" }] },
  status: { phase: "Running", podIP: `1.2.3.${i}`, podIPs: [{ ip: `1.2.3.${i}` }], conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
});

const writes = (client: FakeClient) => ["create", "update", "delete"].flatMap((v) => client.succeeded(v as "create", "Endpoints"));

test("TestSyncEndpointsItems: the Endpoints is created with addresses, labels and the trigger time; a second sync writes nothing", async () => {
  const { client, pods, services, reconciler, endpoints } = setup();
  services.add(svc({}, { team: "a" }));
  pods.upsert(pod(1));
  pods.upsert(pod(2, false));
  await reconciler.reconcile({ namespace: "ns", name: "foo" }, { signal });
  const ep = endpoints.get("ns/foo")!;
  assert.deepEqual(ep.spec.subsets, [{
    addresses: [{ ip: "1.2.3.1", nodeName: "node-1", targetRef: { kind: "Pod", namespace: "ns", name: "pod1", uid: "uid-1" } }],
    notReadyAddresses: [{ ip: "1.2.3.2", nodeName: "node-1", targetRef: { kind: "Pod", namespace: "ns", name: "pod2", uid: "uid-2" } }],
    ports: [{ port: 8080, protocol: "TCP" }],
  }]);
  assert.deepEqual(ep.metadata?.labels, { team: "a", "endpoints.kubernetes.io/managed-by": "endpoint-controller.kubeloop.dev" });
  assert.equal(ep.metadata?.annotations?.["endpoints.kubernetes.io/last-change-trigger-time"], "2026-01-01T00:00:00Z");
  client.clearActions();
  await reconciler.reconcile({ namespace: "ns", name: "foo" }, { signal });
  assert.deepEqual(writes(client), [], "TestSyncEndpointsItemsPreexistingIdentical: no write");
});

test("TestSyncServiceExternalNameType and TestSyncEndpointsItemsPreserveNoSelector: nothing written, existing Endpoints untouched", async () => {
  for (const spec of [{ type: "ExternalName" as const, externalName: "example.com" }, { selector: undefined }]) {
    const { client, pods, services, reconciler, endpoints } = setup();
    const s = svc(spec);
    if (!("selector" in spec) || spec.selector !== undefined) services.add(s);
    else {
      delete s.spec!.selector;
      services.add(s);
    }
    pods.upsert(pod(1));
    endpoints.add({ apiVersion: KubeloopEndpoints.apiVersion, kind: KubeloopEndpoints.kind, metadata: { name: "foo", namespace: "ns" }, spec: { subsets: [{ addresses: [{ ip: "6.7.8.9" }] }] } } as EndpointsObject);
    client.clearActions();
    await reconciler.reconcile({ namespace: "ns", name: "foo" }, { signal });
    assert.deepEqual(writes(client), []);
    assert.equal(endpoints.get("ns/foo")!.spec.subsets![0]!.addresses![0]!.ip, "6.7.8.9");
  }
});

test("TestSyncEndpointsServiceNotFound: our Endpoints is deleted", async () => {
  const { pods, reconciler, endpoints } = setup();
  pods.upsert(pod(1));
  endpoints.add({ apiVersion: KubeloopEndpoints.apiVersion, kind: KubeloopEndpoints.kind, metadata: { name: "foo", namespace: "ns" }, spec: {} } as EndpointsObject);
  await reconciler.reconcile({ namespace: "ns", name: "foo" }, { signal });
  assert.equal(endpoints.get("ns/foo"), undefined);
});

test("TestMultiplePodChanges: a cache holding the version we replaced makes the sync retry instead of writing", async () => {
  const { api, client, pods, services } = setup();
  services.add(svc());
  pods.upsert(pod(1));
  // A lagging cache: a copy of the Endpoints frozen at the version before our update.
  const lagging = new Store<EndpointsObject>();
  const reconciler = new EndpointsReconciler({ client, services, pods, endpoints: lagging });
  await reconciler.reconcile({ namespace: "ns", name: "foo" }, { signal }); // create
  lagging.upsert(structuredClone(api.objects(KubeloopEndpoints).get("ns/foo")!) as EndpointsObject);
  pods.upsert(pod(1, false));
  await reconciler.reconcile({ namespace: "ns", name: "foo" }, { signal }); // update; the cache still has the old version
  pods.upsert(pod(1, true));
  client.clearActions();
  assert.deepEqual(await reconciler.reconcile({ namespace: "ns", name: "foo" }, { signal }), { requeue: true });
  assert.deepEqual(writes(client), []);
  lagging.upsert(structuredClone(api.objects(KubeloopEndpoints).get("ns/foo")!) as EndpointsObject);
  await reconciler.reconcile({ namespace: "ns", name: "foo" }, { signal });
  assert.equal(writes(client).length, 1);
});

test("TestSyncServiceOverCapacity: 1001 addresses -> 1000 and the annotation; back under -> removed", async () => {
  const { pods, services, reconciler, endpoints } = setup();
  services.add(svc());
  for (let i = 0; i < 1001; i++) {
    const p = pod(i);
    p.status!.podIP = `1.2.${i >> 8}.${i & 255}`;
    p.status!.podIPs = [{ ip: p.status!.podIP }];
    pods.upsert(p);
  }
  await reconciler.reconcile({ namespace: "ns", name: "foo" }, { signal });
  let ep = endpoints.get("ns/foo")!;
  assert.equal(ep.spec.subsets![0]!.addresses!.length, 1000);
  assert.equal(ep.metadata?.annotations?.["endpoints.kubernetes.io/over-capacity"], "truncated");
  // The address cut is the last in upstream's order, the IP strings compared byte-wise: "1.2.3.99"
  // (pod 867), not "1.2.3.232" (pod 1000); the differential truncation test showed it.
  assert.ok(!ep.spec.subsets![0]!.addresses!.some((a) => a.ip === "1.2.3.99"));
  assert.ok(ep.spec.subsets![0]!.addresses!.some((a) => a.ip === "1.2.3.232"));
  pods.delete("ns/pod1000");
  await reconciler.reconcile({ namespace: "ns", name: "foo" }, { signal });
  ep = endpoints.get("ns/foo")!;
  assert.equal(ep.metadata?.annotations?.["endpoints.kubernetes.io/over-capacity"], undefined);
});

test("EndpointSlice sync: creates, then no write; a pod on a missing node is left out and the sync fails for a retry", async () => {
  const api = new InMemoryApi({ hasStatusSubresource: () => false });
  const client = new FakeClient(api);
  const pods = new Store<Pod>({ [LABEL_INDEX]: labelIndexFunc });
  // The in-memory API's stores have no label index: listByLabelSet scans them.
  const sliceStore = api.objects(KubeloopEndpointSlices);
  const services = api.objects(Services);
  const nodes = api.objects(Nodes);
  nodes.add({ apiVersion: "v1", kind: "Node", metadata: { name: "node-1", labels: { "topology.kubernetes.io/zone": "z" } } } as Node);
  services.add({ ...svc(), metadata: { ...svc().metadata, uid: "svc-uid" } });
  pods.upsert(pod(1));
  const r = new EndpointSliceReconciler({ client, services, pods, nodes, slices: sliceStore });
  await r.reconcile({ namespace: "ns", name: "foo" }, { signal });
  const created = sliceStore.list("ns");
  assert.equal(created.length, 1);
  assert.deepEqual(created[0]!.metadata?.ownerReferences, [{ apiVersion: "v1", kind: "Service", name: "foo", uid: "svc-uid", controller: true, blockOwnerDeletion: true }]);
  assert.equal(created[0]!.spec.endpoints![0]!.zone, "z");
  client.clearActions();
  await r.reconcile({ namespace: "ns", name: "foo" }, { signal });
  assert.deepEqual(["create", "update", "delete"].flatMap((v) => client.succeeded(v as "create", "EndpointSlice")), []);
  const lost = pod(2);
  lost.spec!.nodeName = "gone";
  pods.upsert(lost);
  pods.upsert(pod(3));
  await assert.rejects(r.reconcile({ namespace: "ns", name: "foo" }, { signal }), /node is not found/);
  assert.deepEqual(sliceStore.list("ns")[0]!.spec.endpoints!.map((e) => e.targetRef!.name).sort(), ["pod1", "pod3"]);
});
