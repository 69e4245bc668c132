import { test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { toSelector, type ListFilter } from "../../../framework/cache/index.ts";
import { rootLogger } from "../../../framework/log/index.ts";
import { Pods, Services, resourceType, type DeepReadonly, type KubeObject, type ObjectKey, type Pod, type ResourceType, type Service } from "../../../framework/meta/index.ts";
import { controllerFor, predicates, type ControllerHost, type Request } from "../../../framework/controller/index.ts";
import { FakeInformer, eventually } from "./fakes.ts";

interface Widget extends KubeObject { spec?: { size?: number } }
const Widgets = resourceType<Widget>({ group: "example.dev", version: "v1", kind: "Widget", plural: "widgets", namespaced: true });

class FakeHost implements ControllerHost {
  readonly informers = new Map<string, FakeInformer<KubeObject>>();
  readonly runnables: Array<{ start(signal: AbortSignal): Promise<void>; needLeaderElection?: boolean }> = [];
  readonly metrics = new Registry();
  readonly log = rootLogger.child({}, { level: "silent" });
  readonly cache = {
    informerFor: <O extends KubeObject>(type: ResourceType<O>, opts?: { namespace?: string }): FakeInformer<O> => {
      const k = `${type.kind}/${opts?.namespace ?? ""}`;
      let inf = this.informers.get(k);
      if (!inf) {
        inf = new FakeInformer<KubeObject>();
        inf.markSynced();
        this.informers.set(k, inf);
      }
      return inf as unknown as FakeInformer<O>;
    },
    // The Reader over the same fake informers (all namespaces), as InformerCache is over its own.
    get: async <O extends KubeObject>(type: ResourceType<O>, key: ObjectKey) =>
      this.cache.informerFor(type).objects.get(key.namespace ? `${key.namespace}/${key.name}` : key.name) as DeepReadonly<O> | undefined,
    list: async <O extends KubeObject>(type: ResourceType<O>, filter: ListFilter = {}) => {
      const selector = toSelector(filter.labelSelector);
      return [...this.cache.informerFor(type).objects.values()].filter((o) =>
        (!filter.namespace || o.metadata?.namespace === filter.namespace) && (!selector || selector.matches(o.metadata?.labels))) as Array<DeepReadonly<O>>;
    },
  };
  add(r: { start(signal: AbortSignal): Promise<void>; needLeaderElection?: boolean }): void {
    this.runnables.push(r);
  }
}

const widget = (name: string, generation = 1, rv = "1"): Widget =>
  ({ apiVersion: "example.dev/v1", kind: "Widget", metadata: { name, namespace: "ns", generation, resourceVersion: rv } });
const pod = (name: string, owner: string, rv = "1"): Pod => ({
  apiVersion: "v1", kind: "Pod",
  metadata: { name, namespace: "ns", resourceVersion: rv, ownerReferences: [{ apiVersion: "example.dev/v1", kind: "Widget", name: owner, uid: "u", controller: true }] },
});
const svc = (name: string, target: string): Service => ({ apiVersion: "v1", kind: "Service", metadata: { name, namespace: "ns", labels: { widget: target } } });

test("the builder wires for / owns / watches with per-source and global predicates into a controller added to the host", async () => {
  const host = new FakeHost();
  const reconciled: string[] = [];
  let cachedSize: number | undefined;
  const controller = controllerFor(host, Widgets, { predicates: [predicates.generationChanged()] })
    .named("widgets")
    .owns(Pods)
    .watches(Services, (s): Request[] => [{ namespace: "ns", name: s.metadata!.labels!.widget! }])
    .withEventFilter(predicates.filter((o) => o.metadata?.name !== "ignored"))
    .withOptions({ maxConcurrentReconciles: 2 })
    .complete(async (req, ctx) => {
      reconciled.push(req.name);
      cachedSize = ctx.getCached()?.spec?.size;
    });
  assert.equal(host.runnables.length, 1);
  assert.equal(host.runnables[0], controller);
  assert.equal(controller.name, "widgets");
  assert.equal(controller.maxConcurrentReconciles, 2);
  const stop = new AbortController();
  const running = controller.start(stop.signal);
  const widgets = host.informers.get("Widget/")! as unknown as FakeInformer<Widget>;
  const pods = host.informers.get("Pod/")!;
  const services = host.informers.get("Service/")!;

  widgets.add({ ...widget("w1"), spec: { size: 3 } });
  await eventually(() => reconciled.length === 1, "for");
  assert.equal(cachedSize, 3);
  widgets.update(widget("w1", 1, "2")); // status-only: dropped by generationChanged on the primary
  pods.add(pod("p1", "w1"));
  await eventually(() => reconciled.length === 2, "owns");
  services.add(svc("s1", "w2"));
  await eventually(() => reconciled.length === 3, "watches");
  pods.add(pod("ignored", "w3")); // global filter
  widgets.add(widget("ignored"));
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(reconciled, ["w1", "w1", "w2"]);
  stop.abort();
  await running;
  assert.match(await host.metrics.metrics(), /controller_runtime_reconcile_total\{controller="widgets",result="success"\} 3/);
});

test("controller names are unique per host; the default name is the lower-case kind", () => {
  const host = new FakeHost();
  const c = controllerFor(host, Widgets).complete(async () => {});
  assert.equal(c.name, "widget");
  assert.throws(() => controllerFor(host, Widgets).complete(async () => {}), /"widget" is already used.*named/);
  controllerFor(host, Widgets).named("widget-2").complete(async () => {});
});

test("types flow from controllerFor to complete", () => {
  const host = new FakeHost();
  const podReconciler = { reconcile: async (_r: Request, ctx: { getCached(): Pod | undefined }) => void ctx.getCached()?.spec?.nodeName };
  controllerFor(host, Pods).named("pods").complete(podReconciler);
  // @ts-expect-error a Pod reconciler cannot be completed on a Service controller
  controllerFor(host, Services).named("svc").complete(podReconciler);
});

test("ctx.reader is the host's cache: a reconciler lists and gets other types through it", async () => {
  const host = new FakeHost();
  const seen: Array<{ pods: string[]; svc: string | undefined }> = [];
  const controller = controllerFor(host, Widgets).complete(async (req, ctx) => {
    const pods = await ctx.reader.list(Pods, { namespace: req.namespace, labelSelector: { matchLabels: { widget: req.name } } });
    const service = await ctx.reader.get(Services, { namespace: req.namespace, name: req.name });
    seen.push({ pods: pods.map((p) => p.metadata!.name!).sort(), svc: service?.metadata?.name });
  });
  const stop = new AbortController();
  const running = controller.start(stop.signal);
  const podInformer = host.cache.informerFor(Pods);
  const labelled = (name: string, w: string, namespace = "ns"): Pod => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace, labels: { widget: w } } });
  podInformer.add(labelled("p1", "w1"));
  podInformer.add(labelled("p2", "w1"));
  podInformer.add(labelled("p3", "w2"));
  podInformer.add(labelled("p4", "w1", "elsewhere"));
  host.cache.informerFor(Services).add({ apiVersion: "v1", kind: "Service", metadata: { name: "w1", namespace: "ns" } });
  (host.informers.get("Widget/")! as unknown as FakeInformer<Widget>).add(widget("w1"));
  await eventually(() => seen.length === 1, "reconcile");
  assert.deepEqual(seen[0], { pods: ["p1", "p2"], svc: "w1" });
  stop.abort();
  await running;
});
