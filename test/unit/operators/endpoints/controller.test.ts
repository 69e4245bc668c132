/**
 * The controllers wired by `setupEndpointsControllers` on fake informers and the in-memory API:
 * a Service event syncs at once; a pod change reaches the Services that select it, after the
 * batch period when one is set (upstream `TestPodUpdatesBatching`); a pod change that cannot
 * affect endpoints syncs nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { toSelector, type ListFilter } from "../../../../framework/cache/index.ts";
import type { ControllerHost } from "../../../../framework/controller/index.ts";
import { rootLogger } from "../../../../framework/log/index.ts";
import { Pods, Services, type DeepReadonly, type KubeObject, type ObjectKey, type Pod, type ResourceType, type Service } from "../../../../framework/meta/index.ts";
import { FakeClient, InMemoryApi } from "../../../../framework/testing/index.ts";
import { KubeloopEndpoints, setupEndpointsControllers, type EndpointsObject } from "../../../../operators/endpoints/index.ts";
import { FakeInformer, eventually } from "../../controller/fakes.ts";

class FakeHost implements ControllerHost {
  readonly informers = new Map<string, FakeInformer<KubeObject>>();
  readonly runnables: Array<{ start(signal: AbortSignal): Promise<void> }> = [];
  readonly metrics = new Registry();
  readonly log = rootLogger.child({}, { level: "silent" });
  readonly api = new InMemoryApi({ hasStatusSubresource: () => false });
  readonly client = new FakeClient(this.api);
  readonly cache = {
    informerFor: <O extends KubeObject>(type: ResourceType<O>): FakeInformer<O> => {
      let inf = this.informers.get(type.kind);
      if (!inf) {
        inf = new FakeInformer<KubeObject>();
        inf.markSynced();
        this.informers.set(type.kind, inf);
      }
      return inf as unknown as FakeInformer<O>;
    },
    get: async <O extends KubeObject>(type: ResourceType<O>, key: ObjectKey) =>
      this.cache.informerFor(type).objects.get(key.namespace ? `${key.namespace}/${key.name}` : key.name) as DeepReadonly<O> | undefined,
    list: async <O extends KubeObject>(type: ResourceType<O>, filter: ListFilter = {}) => {
      const selector = toSelector(filter.labelSelector);
      return [...this.cache.informerFor(type).objects.values()].filter((o) =>
        (!filter.namespace || o.metadata?.namespace === filter.namespace) && (!selector || selector.matches(o.metadata?.labels))) as Array<DeepReadonly<O>>;
    },
  };
  add(r: { start(signal: AbortSignal): Promise<void> }): void {
    this.runnables.push(r);
  }
}

const service: Service = {
  apiVersion: "v1", kind: "Service",
  metadata: { name: "foo", namespace: "ns", resourceVersion: "1", creationTimestamp: "2026-01-01T00:00:00Z" },
  spec: { selector: { app: "web" }, clusterIP: "10.0.0.1", ipFamilies: ["IPv4"], ports: [{ port: 80, targetPort: 8080, protocol: "TCP" }] },
};
const pod = (rv: string, ready: boolean, annotations?: Record<string, string>): Pod => ({
  apiVersion: "v1", kind: "Pod",
  metadata: { name: "p", namespace: "ns", uid: "uid-p", labels: { app: "web" }, resourceVersion: rv, ...(annotations ? { annotations } : {}) },
  spec: { nodeName: "n", containers: [{ name: "c" }] },
  status: { phase: "Running", podIP: "1.2.3.4", podIPs: [{ ip: "1.2.3.4" }], conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
});

test("TestPodUpdatesBatching: a pod change syncs its Services after the batch period; irrelevant changes sync nothing", async () => {
  const host = new FakeHost();
  setupEndpointsControllers(host, { batchPeriodMs: 400, endpointSlices: false, workers: 1 });
  const stop = new AbortController();
  const running = host.runnables.map((r) => r.start(stop.signal));
  const services = host.cache.informerFor(Services);
  const pods = host.cache.informerFor(Pods);
  const ours = host.cache.informerFor(KubeloopEndpoints);
  const ourEndpoints = () => host.api.objects(KubeloopEndpoints).get("ns/foo");
  // Keep the fake cache of our Endpoints in step with the in-memory API (a watch would).
  const mirror = () => {
    const cur = ourEndpoints();
    if (cur) (ours.objects.has("ns/foo") ? ours.update(structuredClone(cur) as EndpointsObject) : ours.add(structuredClone(cur) as EndpointsObject));
  };
  try {
    pods.add(pod("1", true));
    services.add(service); // a Service event: synced at once
    await eventually(() => ourEndpoints() !== undefined, "the Endpoints to be created");
    mirror();
    assert.equal(ourEndpoints()!.spec.subsets![0]!.addresses![0]!.ip, "1.2.3.4");
    // The mirrored add is an event of our Endpoints: let its (no-op) sync run first.
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(host.client.succeeded("update", "Endpoints").length, 0, "a sync with nothing changed writes nothing");

    const updates = () => host.client.succeeded("update", "Endpoints").length;
    pods.update(pod("2", true, { irrelevant: "yes" }));
    pods.update(pod("3", false));
    const flippedAt = Date.now();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(updates(), 0, "nothing before the batch period");
    await eventually(() => updates() === 1, "the batched update", 5000);
    assert.ok(Date.now() - flippedAt >= 400);
    mirror();
    assert.equal(ourEndpoints()!.spec.subsets![0]!.notReadyAddresses![0]!.ip, "1.2.3.4");
    // An annotation-only change (a new resourceVersion): no sync, no write.
    pods.update(pod("4", false, { other: "x" }));
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(updates(), 1);
  } finally {
    stop.abort();
    await Promise.allSettled(running);
  }
});
