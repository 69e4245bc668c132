/**
 * Shared pieces of the Endpoints operator's e2e tests: the cluster with our CRDs, the operator
 * running in this process for one namespace, pods whose status the test sets by hand on Nodes
 * the test creates (no kubelet, no kwok: nothing else changes them), and the differential
 * comparison with kube-controller-manager's own Endpoints and EndpointSlices.
 */
import assert from "node:assert/strict";
import { after, before } from "node:test";
import { isDeepStrictEqual } from "node:util";
import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import { isConflict, isNotFound, type KubeClient } from "../../../../framework/client/index.ts";
import { installCustomResourceDefinitions } from "../../../../framework/api/index.ts";
import { SharedInformer } from "../../../../framework/cache/index.ts";
import { Manager } from "../../../../framework/manager/index.ts";
import { rootLogger } from "../../../../framework/log/index.ts";
import {
  EndpointsResource, Nodes, Pods, Services, type CustomResourceDefinition, type DeepReadonly, type Pod, type Service,
} from "../../../../framework/meta/index.ts";
import { createTestNamespace, deleteTestNamespace, testEnvironment, waitFor } from "../../../../framework/testing/index.ts";
import {
  BuiltinEndpointSlices, canonicalSliceEndpoints, canonicalSubsets, KubeloopEndpoints, KubeloopEndpointSlices, OVER_CAPACITY_ANNOTATION,
  isPodReady, setupEndpointsControllers, stableJson, type EndpointSliceObject, type EndpointsControllersHandle, type EndpointsObject,
} from "../../../../operators/endpoints/index.ts";
import { operatorClient } from "../../support/chart-rbac.ts";

export { assert };
export const TIMEOUT_MS = 60_000;

/** The cluster and a client, with the CRDs installed. */
export interface Cluster {
  client: KubeClient;
  kubeconfigPath: string;
  /** The operator's client: it impersonates the chart's ServiceAccount (`operatorClient`). */
  operatorClient: KubeClient;
}

/** Connects to the test cluster and installs the operator's CRDs from `crds/`. */
export async function connect(): Promise<Cluster> {
  const env = await testEnvironment();
  const { plane, client } = env;
  const crds: CustomResourceDefinition[] = [];
  for (const file of ["endpoints.discovery.kubeloop.dev.yaml", "endpointslices.discovery.kubeloop.dev.yaml"]) {
    crds.push(parse(await readFile(new URL(`../../../../crds/${file}`, import.meta.url), "utf8")) as CustomResourceDefinition);
  }
  // Differential scenarios race two controllers: neither may have its first create held by the API server.
  await installCustomResourceDefinitions(client, crds, { fieldManager: "kubeloop-endpoints-e2e", timeoutMs: TIMEOUT_MS, waitPastCreateDelay: true });
  return { client, kubeconfigPath: plane.kubeconfigPath, operatorClient: await operatorClient(env, "endpoints") };
}

/** The operator running in this process, its cache scoped to one namespace. */
export interface Operator {
  handle: EndpointsControllersHandle;
  /** The manager's cache: the informers the controllers read. */
  cache: Manager["cache"];
  stop(): Promise<void>;
}

/** Starts the operator for `namespace` and waits for its caches. */
export async function startOperator(client: KubeClient, namespace: string, opts: { maxEndpointsPerSlice?: number } = {}): Promise<Operator> {
  const mgr = new Manager({
    client,
    name: `endpoints-e2e-${namespace}`,
    metricsBindAddress: "0",
    healthProbeBindAddress: "0",
    cache: { defaultNamespace: namespace },
    log: rootLogger,
  });
  const handle = setupEndpointsControllers(mgr, opts);
  const stop = new AbortController();
  const running = mgr.start(stop.signal);
  running.catch(() => {});
  await mgr.cache.waitForSync(AbortSignal.timeout(TIMEOUT_MS));
  return {
    handle,
    cache: mgr.cache,
    async stop() {
      stop.abort();
      await running;
    },
  };
}

export const createNamespace = (client: KubeClient, prefix: string) => createTestNamespace(client, prefix, TIMEOUT_MS);

/** Deletes the namespace after force-deleting its pods (they sit on nodes without a kubelet). */
export async function deleteNamespace(client: KubeClient, namespace: string): Promise<void> {
  const pods = await client.list(Pods, { namespace }).catch(() => ({ items: [] as Pod[] }));
  await Promise.all(pods.items.map(async (p) => {
    if (p.metadata?.finalizers?.length) {
      await client.patch(Pods, { namespace, name: p.metadata.name! }, { type: "merge", body: { metadata: { finalizers: null } } }).catch(() => {});
    }
    await client.delete(Pods, { namespace, name: p.metadata!.name! }, { gracePeriodSeconds: 0 }).catch(() => {});
  }));
  await deleteTestNamespace(client, namespace);
}

/** Creates a Node nobody runs (not a kwok node), with a zone label when given. */
export async function createNode(client: KubeClient, name: string, zone?: string): Promise<void> {
  await client.create(Nodes, {
    apiVersion: "v1", kind: "Node",
    metadata: { name, labels: { "kubeloop.dev/test": "endpoints", ...(zone ? { "topology.kubernetes.io/zone": zone } : {}) } },
  });
}

/** What a test pod looks like. */
export interface PodSpec {
  name: string;
  labels: Record<string, string>;
  node?: string;
  /** Pod IPs (the first is `podIP`); none: no IP. */
  ips?: string[];
  ready?: boolean;
  phase?: "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";
  /** Container ports: `[name, port, protocol?]`. */
  ports?: Array<[string, number, string?]>;
  /** Ports of a restartable init container (a sidecar). */
  sidecarPorts?: Array<[string, number, string?]>;
  hostname?: string;
  subdomain?: string;
  finalizer?: boolean;
}

const containerPorts = (ports: Array<[string, number, string?]> | undefined) =>
  (ports ?? []).map(([name, containerPort, protocol]) => ({ name, containerPort, protocol: (protocol ?? "TCP") as "TCP" | "UDP" | "SCTP" }));

/** Creates a pod bound to `node` and sets its status (IPs, phase, Ready) by hand. */
export async function createPod(client: KubeClient, ns: string, p: PodSpec): Promise<void> {
  await client.create(Pods, {
    apiVersion: "v1", kind: "Pod",
    metadata: { name: p.name, namespace: ns, labels: p.labels, ...(p.finalizer ? { finalizers: ["kubeloop.dev/hold"] } : {}) },
    spec: {
      ...(p.node ? { nodeName: p.node } : { schedulerName: "kubeloop-e2e-unserved" }),
      ...(p.hostname ? { hostname: p.hostname } : {}),
      ...(p.subdomain ? { subdomain: p.subdomain } : {}),
      ...(p.sidecarPorts ? { initContainers: [{ name: "sidecar", image: "fakeimage", restartPolicy: "Always", ports: containerPorts(p.sidecarPorts) }] } : {}),
      containers: [{ name: "main", image: "fakeimage", ports: containerPorts(p.ports) }],
      terminationGracePeriodSeconds: 0,
    },
  });
  await setPodStatus(client, ns, p.name, p);
}

/** Sets a pod's status: IPs, phase and the Ready condition. */
export async function setPodStatus(client: KubeClient, ns: string, name: string, p: Pick<PodSpec, "ips" | "ready" | "phase">): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const cur = await client.get(Pods, { namespace: ns, name });
    const ips = p.ips ?? (cur.status?.podIPs ?? []).map((x) => x.ip);
    cur.status = {
      ...cur.status,
      phase: p.phase ?? cur.status?.phase ?? "Running",
      ...(ips.length ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}),
      conditions: [{ type: "Ready", status: (p.ready ?? isReady(cur)) ? "True" : "False", lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z") }],
    };
    try {
      await client.updateStatus(Pods, cur);
      return;
    } catch (err) {
      if (!isConflict(err) || attempt >= 10) throw err;
    }
  }
}

function isReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/** GET, change, PUT of a Service, retried on conflict. */
export async function updateService(client: KubeClient, ns: string, name: string, change: (svc: Service) => void): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const svc = await client.get(Services, { namespace: ns, name });
    change(svc);
    try {
      await client.update(Services, svc);
      return;
    } catch (err) {
      if (!isConflict(err) || attempt >= 10) throw err;
    }
  }
}

/** GET, change, PUT of a pod, retried on conflict. */
export async function updatePod(client: KubeClient, ns: string, name: string, change: (pod: Pod) => void): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const pod = await client.get(Pods, { namespace: ns, name });
    change(pod);
    try {
      await client.update(Pods, pod);
      return;
    } catch (err) {
      if (!isConflict(err) || attempt >= 10) throw err;
    }
  }
}

/** The labels that say who manages an object, left out of comparisons. */
const MANAGED_BY_KEYS = ["endpoints.kubernetes.io/managed-by", "endpointslice.kubernetes.io/managed-by"];

function comparableLabels(labels: Record<string, string> | undefined): Record<string, string> {
  const out = { ...labels };
  for (const k of MANAGED_BY_KEYS) delete out[k];
  return out;
}

/** One side of the differential comparison in canonical form. */
export interface CanonicalView {
  endpoints: null | { subsets: string; labels: string; overCapacity: string | null };
  slices: string[];
  sliceLabels: string[];
}

/** kube-controller-manager's Endpoints and slices of a Service, in canonical form. */
export async function builtinView(client: KubeClient, ns: string, name: string): Promise<CanonicalView> {
  let endpoints: CanonicalView["endpoints"] = null;
  try {
    const ep = await client.get(EndpointsResource, { namespace: ns, name });
    endpoints = {
      subsets: stableJson(canonicalSubsets((ep.subsets ?? []) as EndpointsObject["spec"]["subsets"])),
      labels: stableJson(comparableLabels(ep.metadata?.labels)),
      overCapacity: ep.metadata?.annotations?.[OVER_CAPACITY_ANNOTATION] ?? null,
    };
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const slices = (await client.list(BuiltinEndpointSlices, { namespace: ns, labelSelector: `kubernetes.io/service-name=${name},endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io` })).items
    .filter((s) => !s.metadata?.deletionTimestamp);
  return {
    endpoints,
    slices: canonicalSliceEndpoints(slices.map((s) => ({ addressType: s.addressType, ports: s.ports ?? null, endpoints: (s.endpoints ?? null) as never }))),
    sliceLabels: [...new Set(slices.map((s) => stableJson(comparableLabels(s.metadata?.labels))))].sort(),
  };
}

/** Our Endpoints and slices of a Service, in canonical form. */
export async function ourView(client: KubeClient, ns: string, name: string): Promise<CanonicalView> {
  let endpoints: CanonicalView["endpoints"] = null;
  try {
    const ep = await client.get(KubeloopEndpoints, { namespace: ns, name });
    endpoints = {
      subsets: stableJson(canonicalSubsets(ep.spec?.subsets)),
      labels: stableJson(comparableLabels(ep.metadata?.labels)),
      overCapacity: ep.metadata?.annotations?.[OVER_CAPACITY_ANNOTATION] ?? null,
    };
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const slices = (await client.list(KubeloopEndpointSlices, { namespace: ns, labelSelector: `kubernetes.io/service-name=${name}` })).items
    .filter((s) => !s.metadata?.deletionTimestamp);
  return {
    endpoints,
    slices: canonicalSliceEndpoints(slices.map((s) => ({ addressType: s.spec.addressType, ports: s.spec.ports ?? null, endpoints: s.spec.endpoints ?? null }))),
    sliceLabels: [...new Set(slices.map((s) => stableJson(comparableLabels(s.metadata?.labels))))].sort(),
  };
}

/**
 * Waits until our Endpoints and slices of each Service equal the built-in ones in canonical
 * form, and still do 1 s later (quiescence). `check` may add an assertion on the built-in
 * view, so a scenario also proves it exercised what it meant to.
 * @throws AssertionError with the last difference when they do not converge within `timeoutMs`.
 */
export async function expectSame(client: KubeClient, ns: string, names: string[], check?: (name: string, builtin: CanonicalView) => void, timeoutMs = 30_000): Promise<void> {
  let last: unknown;
  const compareAll = async (): Promise<boolean> => {
    for (const name of names) {
      const [b, o] = await Promise.all([builtinView(client, ns, name), ourView(client, ns, name)]);
      try {
        if (!isDeepStrictEqual(o, b)) throw new assert.AssertionError({ message: `Service ${ns}/${name}: ours differ from the built-in ones:\n${describeDifference(o, b)}` });
        check?.(name, b);
      } catch (err) {
        last = err;
        return false;
      }
    }
    return true;
  };
  try {
    await waitFor(compareAll, { timeoutMs, intervalMs: 250, description: `Endpoints and slices of ${names.join(", ")} to equal the built-in ones` });
  } catch (err) {
    throw last ?? err;
  }
  await new Promise((r) => setTimeout(r, 1000));
  if (!(await compareAll())) throw last;
}

/** An endpoint or address as far as `contradictions` looks at it: the pod it names and, for slices, its conditions. */
export interface PublishedEndpoint {
  targetRef?: { kind?: string; name?: string; uid?: string } | null;
  conditions?: { serving?: boolean | null; terminating?: boolean | null } | null;
}

/**
 * The published endpoints (slice endpoints, or Endpoints addresses without `conditions`) that
 * contradict the pods the API server holds now: the target pod is gone (or is another pod of
 * that name), or a slice endpoint's `terminating` is not whether the pod has a
 * deletionTimestamp, or its `serving` is not the pod's Ready condition. One line each.
 */
export function contradictions(pods: ReadonlyMap<string, Pod>, published: ReadonlyArray<PublishedEndpoint>): string[] {
  const out: string[] = [];
  for (const ep of published) {
    const ref = ep.targetRef;
    if (!ref || ref.kind !== "Pod" || !ref.name) continue;
    const pod = pods.get(ref.name);
    if (!pod || pod.metadata?.uid !== ref.uid) {
      out.push(`pod ${ref.name} is gone`);
      continue;
    }
    if (!ep.conditions) continue;
    if ((ep.conditions.terminating ?? false) !== !!pod.metadata?.deletionTimestamp) out.push(`pod ${ref.name}: terminating ${ep.conditions.terminating}, deletionTimestamp ${pod.metadata?.deletionTimestamp ?? "unset"}`);
    if ((ep.conditions.serving ?? false) !== isPodReady(pod)) out.push(`pod ${ref.name}: serving ${ep.conditions.serving}, Ready ${isPodReady(pod)}`);
  }
  return out;
}

/**
 * Where each side's Endpoints and slices of `ns/name` contradict the API server's pods now
 * (`contradictions`), for telling a controller that lags behind the API server from one that
 * computes a different answer. kube-controller-manager lags like this when a sync finds its own
 * slice cache stale ("EndpointSlice informer cache is out of date"): it retries only after the
 * key's backoff, which a pod on a missing node (a failed sync each time) raises past a minute,
 * and its own writes reaching its cache do not requeue the Service (`ShouldSync`); ours requeues
 * on them.
 */
export async function sidesBehindServer(client: KubeClient, ns: string, name: string): Promise<{ builtin: string[]; ours: string[] }> {
  const pods = new Map((await client.list(Pods, { namespace: ns })).items.map((p) => [p.metadata!.name!, p]));
  const addresses = (subsets: ReadonlyArray<{ addresses?: ReadonlyArray<PublishedEndpoint> | null; notReadyAddresses?: ReadonlyArray<PublishedEndpoint> | null }> | null | undefined) =>
    (subsets ?? []).flatMap((s) => [...(s.addresses ?? []), ...(s.notReadyAddresses ?? [])]).map((a) => ({ targetRef: a.targetRef ?? null }));
  const builtinEndpoints = await client.get(EndpointsResource, { namespace: ns, name }).catch(() => undefined);
  const ourEndpoints = await client.get(KubeloopEndpoints, { namespace: ns, name }).catch(() => undefined);
  const builtinSlices = (await client.list(BuiltinEndpointSlices, { namespace: ns, labelSelector: `kubernetes.io/service-name=${name},endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io` })).items;
  const ourSlices = (await client.list(KubeloopEndpointSlices, { namespace: ns, labelSelector: `kubernetes.io/service-name=${name}` })).items;
  return {
    builtin: contradictions(pods, [...addresses(builtinEndpoints?.subsets as EndpointsObject["spec"]["subsets"]), ...builtinSlices.flatMap((s) => s.endpoints ?? [])]),
    ours: contradictions(pods, [...addresses(ourEndpoints?.spec?.subsets), ...ourSlices.flatMap((s) => s.spec.endpoints ?? [])]),
  };
}

/**
 * What the operator's caches and queues hold for the Service `ns/name`, against the API server:
 * each pod of the namespace the Service selects (on the server or in our cache) with its
 * resourceVersion, deletionTimestamp, phase and node on both sides, whether our Node cache has
 * its node, our slices against the server's, the slice write tracker's verdict, each controller's
 * requeue count for the key, and each informer's list count and last resourceVersion. For the
 * failure message of a differential step, so a difference that does not replay can be explained.
 */
export async function describeOperatorState(client: KubeClient, op: Operator, ns: string, name: string): Promise<string> {
  const key = `${ns}/${name}`;
  const svc = await client.get(Services, { namespace: ns, name }).catch(() => undefined);
  const selector = svc?.spec?.selector ?? {};
  const selects = (p: DeepReadonly<Pod>) => Object.entries(selector).every(([k, v]) => p.metadata?.labels?.[k] === v);
  const podInformer = op.cache.informerFor(Pods);
  const nodeInformer = op.cache.informerFor(Nodes);
  const sliceInformer = op.cache.informerFor(KubeloopEndpointSlices);
  const serverPods = new Map((await client.list(Pods, { namespace: ns })).items.filter(selects).map((p) => [p.metadata!.name!, p]));
  const cachedPods = new Map(podInformer.store.list(ns).filter(selects).map((p) => [p.metadata!.name!, p]));
  const brief = (p: DeepReadonly<Pod> | undefined) => p
    ? `rv=${p.metadata?.resourceVersion} del=${p.metadata?.deletionTimestamp ?? "-"} phase=${p.status?.phase ?? "-"} node=${p.spec?.nodeName ?? "-"} ready=${p.status?.conditions?.find((c) => c.type === "Ready")?.status ?? "-"}`
    : "absent";
  const lines = [`operator state for Service ${key} (selector ${JSON.stringify(selector)}):`];
  for (const pod of new Set([...serverPods.keys(), ...cachedPods.keys()])) {
    const node = serverPods.get(pod)?.spec?.nodeName ?? cachedPods.get(pod)?.spec?.nodeName;
    lines.push(`  pod ${pod}: server ${brief(serverPods.get(pod))}; ours ${brief(cachedPods.get(pod))}; node in our cache: ${node ? nodeInformer.store.get(node) !== undefined : "-"}`);
  }
  const serverSlices = (await client.list(KubeloopEndpointSlices, { namespace: ns, labelSelector: `kubernetes.io/service-name=${name}` })).items;
  const cachedSlices = sliceInformer.store.list(ns).filter((s) => s.metadata?.labels?.["kubernetes.io/service-name"] === name);
  const rvs = (xs: ReadonlyArray<DeepReadonly<EndpointSliceObject>>) => xs.map((s) => `${s.metadata?.name}@${s.metadata?.resourceVersion}(${s.spec.endpoints?.length ?? 0})`).sort().join(" ") || "none";
  lines.push(`  slices: server ${rvs(serverSlices)}; ours ${rvs(cachedSlices)}`);
  const slices = op.handle.endpointSlices;
  if (slices) lines.push(`  slice tracker stale: ${slices.reconciler.tracker.isStale(key, cachedSlices as EndpointSliceObject[])}; slice queue: requeues ${slices.controller.queue.numRequeues(key)}, depth ${slices.controller.queue.len()}`);
  if (op.handle.endpoints) lines.push(`  endpoints queue: requeues ${op.handle.endpoints.controller.queue.numRequeues(key)}, depth ${op.handle.endpoints.controller.queue.len()}`);
  for (const inf of [podInformer, nodeInformer, sliceInformer]) if (inf instanceof SharedInformer) lines.push(`  informer ${inf.name}: lists ${inf.listCount}, last resourceVersion ${inf.lastSyncResourceVersion}, apply errors ${inf.applyErrorCount}`);
  return lines.join("\n");
}

/** A short account of how two views differ (the first few differing entries of each part). */
export function describeDifference(ours: CanonicalView, builtin: CanonicalView): string {
  const lines: string[] = [];
  const setDiff = (label: string, a: string[], b: string[]): void => {
    const sa = new Set(a);
    const sb = new Set(b);
    const onlyA = a.filter((x) => !sb.has(x));
    const onlyB = b.filter((x) => !sa.has(x));
    if (onlyA.length || onlyB.length || a.length !== b.length) {
      lines.push(`${label}: ours ${a.length}, built-in ${b.length}`);
      for (const x of onlyA.slice(0, 3)) lines.push(`  only ours:     ${x.slice(0, 400)}`);
      for (const x of onlyB.slice(0, 3)) lines.push(`  only built-in: ${x.slice(0, 400)}`);
    }
  };
  if ((ours.endpoints === null) !== (builtin.endpoints === null)) lines.push(`Endpoints: ours ${ours.endpoints ? "present" : "absent"}, built-in ${builtin.endpoints ? "present" : "absent"}`);
  else if (ours.endpoints && builtin.endpoints) {
    if (ours.endpoints.labels !== builtin.endpoints.labels) lines.push(`labels: ours ${ours.endpoints.labels}, built-in ${builtin.endpoints.labels}`);
    if (ours.endpoints.overCapacity !== builtin.endpoints.overCapacity) lines.push(`over-capacity: ours ${ours.endpoints.overCapacity}, built-in ${builtin.endpoints.overCapacity}`);
    const flat = (subsets: string) => (JSON.parse(subsets) as Array<Record<string, unknown>>).flatMap((sub) =>
      ["addresses", "notReadyAddresses"].flatMap((k) => ((sub[k] ?? []) as unknown[]).map((a) => `${k} ${JSON.stringify(a)} ports ${JSON.stringify(sub.ports ?? [])}`)));
    setDiff("Endpoints addresses", flat(ours.endpoints.subsets), flat(builtin.endpoints.subsets));
  }
  setDiff("slice endpoints", ours.slices, builtin.slices);
  setDiff("slice labels", ours.sliceLabels, builtin.sliceLabels);
  return lines.join("\n") || "(no difference in the parts compared: the check failed)";
}

/** A ClusterIP Service selecting `selector`, with the given ports. */
export function service(ns: string, name: string, selector: Record<string, string> | undefined, spec: Partial<NonNullable<Service["spec"]>> = {}, labels?: Record<string, string>): Service {
  return {
    apiVersion: "v1", kind: "Service",
    metadata: { name, namespace: ns, ...(labels ? { labels } : {}) },
    spec: { ...(selector ? { selector } : {}), ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }], ...spec },
  };
}

/** What `useEndpointsSuite` sets up for a test file; the fields are set by its `before` hook. */
export interface EndpointsSuite extends Cluster {
  /** The file's own namespace (its pods force-deleted and it deleted after the file). */
  ns: string;
  /** The operator running for `ns`. */
  op: Operator;
}

/**
 * Registers the file's `before`/`after` hooks: connect (CRDs installed), the given Nodes nobody
 * runs (`[name, zone?]`, deleted after the file), a namespace `<namespacePrefix>-<random>`,
 * `beforeStart(suite)` (objects the operator must find at start-up), then the operator for that
 * namespace; after the file the operator stops and the namespace and Nodes go.
 */
export function useEndpointsSuite(opts: {
  namespacePrefix: string; nodes: ReadonlyArray<readonly [string, string?]>; beforeStart?: (suite: EndpointsSuite) => Promise<void>;
}): EndpointsSuite {
  const suite = {} as EndpointsSuite;
  before(async () => {
    Object.assign(suite, await connect());
    for (const [name, zone] of opts.nodes) await createNode(suite.client, name, zone);
    suite.ns = await createNamespace(suite.client, opts.namespacePrefix);
    await opts.beforeStart?.(suite);
    suite.op = await startOperator(suite.operatorClient, suite.ns);
  });
  after(async () => {
    if (!suite.client) return;
    await suite.op?.stop();
    if (suite.ns) await deleteNamespace(suite.client, suite.ns);
    for (const [name] of opts.nodes) await suite.client.delete(Nodes, { name }).catch(() => {});
    suite.client.close();
    suite.operatorClient.close();
  });
  return suite;
}
