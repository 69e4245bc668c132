/**
 * The main job: a real control plane comes up (or the cluster in `KUBECONFIG` is used), the
 * operators' CRDs are installed, the operators run in this process, and sample ReplicaSets are
 * applied on fake nodes, with a Service `web` in front of one of them. The terminal shows desired /
 * current / ready per ReplicaSet, and the Service's endpoints as our Endpoints and EndpointSlices
 * hold them beside kube-controller-manager's own, while the story plays: convergence, a scale-up
 * through the scale subresource, a deleted pod replaced, a scale-down. A step has converged when
 * ours equal the built-in ones too. Then the kubeloop scheduler (one per process, with the
 * gang-scheduling and GPU placement plugins) plays its own: kwok GPU nodes of two products, a
 * BinPack GPUPlacementPolicy whose status shows the inventory, a PodGroup gang that waits for its
 * last member and then starts at once, and an 8-GPU pod that names no scheduler, sent to the
 * kubeloop scheduler by the gpu-placement admission webhook, on the whole node BinPack kept free. Then
 * admission (step 8, `demo-admission.ts`): a shipped policy refuses a pod on the API server, and
 * its in-process evaluation gives the same message. Then it keeps reconciling until Ctrl-C, or
 * exits 0 with `--exit-after-convergence`.
 *
 *   npm run demo [-- --exit-after-convergence] [--nodes 3] [--dir D] [--keep-cluster] [--verbose]
 *
 * Exits 1 when a step does not converge within `--step-timeout-seconds` (default 180).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import YAML from "yaml";
import { installCustomResourceDefinitions } from "../framework/api/index.ts";
import { createClient, isAlreadyExists, isNotFound, KubeConfig, type KubeClient } from "../framework/client/index.ts";
import { sleep } from "../framework/flowcontrol/index.ts";
import { rootLogger } from "../framework/log/index.ts";
import { Manager } from "../framework/manager/index.ts";
import { EndpointsResource, Namespaces, Nodes, Pods, ServiceAccounts, Services, keyOf, type Pod, type Service } from "../framework/meta/index.ts";
import { DEFAULT_SCHEDULER_NAME } from "../framework/scheduling/index.ts";
import { createFakeNodes, deleteFakeNodes, existingControlPlane, startControlPlane, waitFor, type ControlPlane, type FakeNodeSpec } from "../framework/testing/index.ts";
import { POD_GROUP_LABEL, PodGroups, type PodGroup } from "./gang-scheduling/index.ts";
import { GOVERNING_POLICY_ANNOTATION, GPU_RESOURCE, GPUPlacementPolicies, SCHEDULER_NAME_WEBHOOK, type GPUPlacementPolicy } from "./gpu-placement/index.ts";
import { admissionStory, removeAdmissionStory } from "./demo-admission.ts";
import { permission } from "../framework/rbac/index.ts";
import { leastPrivilegeClient, removeLeastPrivilege, rulesLines, type LeastPrivilege } from "./demo-rbac.ts";
import { addDemoWebhookServer, DEMO_WEBHOOK_CONFIGURATION, installDemoWebhooks, removeDemoWebhooks } from "./demo-webhooks.ts";
import { allDefinitions, setupOperators } from "./registry.ts";
import { ReplicaSets, type ReplicaSet } from "./replicaset/index.ts";
import {
  BuiltinEndpointSlices, canonicalSliceEndpoints, canonicalSubsets, KubeloopEndpoints, KubeloopEndpointSlices, stableJson,
} from "./endpoints/index.ts";

const NAMESPACE = "kubeloop-demo";
const SAMPLES = ["web.yaml", "api.yaml"].map((f) => new URL(`./replicaset/samples/${f}`, import.meta.url));
/** The operators this process runs: every one, so ONE kubeloop scheduler has the gang and GPU plugins. */
const OPERATORS = ["replicaset", "endpoints", "gang-scheduling", "gpu-placement"];
const POLICY_SAMPLE = new URL("./gpu-placement/samples/train-binpack.yaml", import.meta.url);
const A100 = "NVIDIA-A100-SXM4-80GB";
const T4 = "Tesla-T4";
/** kwok GPU nodes as GPU feature discovery would label them: two 8-GPU A100s (eligible for the policy), one 4-GPU T4 (not). */
const GPU_NODES: FakeNodeSpec[] = [
  { name: "gpu-a100-0", cpu: "64", memory: "512Gi", gpus: 8, gpuProduct: A100, gpuMemoryMiB: 81920 },
  { name: "gpu-a100-1", cpu: "64", memory: "512Gi", gpus: 8, gpuProduct: A100, gpuMemoryMiB: 81920 },
  { name: "gpu-t4-0", cpu: "16", memory: "64Gi", gpus: 4, gpuProduct: T4, gpuMemoryMiB: 15360 },
];
/** The gang: a PodGroup of 4 workers with 2 GPUs each. */
const GANG = "trainer";
const GANG_SIZE = 4;

const { values: flags } = parseArgs({
  options: {
    "exit-after-convergence": { type: "boolean", default: false },
    nodes: { type: "string", default: "3" },
    dir: { type: "string" },
    "keep-cluster": { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
    "step-timeout-seconds": { type: "string", default: "180" },
  },
});
const stepTimeoutMs = Number(flags["step-timeout-seconds"]) * 1000;
rootLogger.level = flags.verbose ? "info" : "warn";

const started = Date.now();
const say = (line: string): void => {
  process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${line}\n`);
};

/** Connects to `KUBECONFIG`, or starts a local control plane with fake nodes. */
async function controlPlane(): Promise<ControlPlane> {
  if (process.env.KUBECONFIG) {
    say(`using the cluster in KUBECONFIG=${process.env.KUBECONFIG}`);
    return existingControlPlane();
  }
  say("starting a local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok)");
  // gangScheduling: the native scheduling.k8s.io/v1alpha2 PodGroup API is served too (flags only).
  const plane = await startControlPlane({ ...(flags.dir ? { dir: flags.dir } : {}), gangScheduling: true, onProgress: (l) => say(`  ${l}`) });
  const count = Number(flags.nodes);
  say(`creating ${count} fake nodes (kwok plays their kubelets)`);
  const names = await createFakeNodes(plane.kubeconfigPath, { count, cpu: "8", memory: "32Gi", pods: 110 });
  say(`nodes Ready: ${names.join(", ")}`);
  return plane;
}

async function ensureNamespace(client: KubeClient): Promise<void> {
  try {
    await client.create(Namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACE } });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
  await waitFor(() => client.get(ServiceAccounts, { namespace: NAMESPACE, name: "default" }), {
    timeoutMs: 60_000, description: `ServiceAccount ${NAMESPACE}/default`,
  });
}

/** One line per ReplicaSet: desired, current, ready, available, and where its pods run. */
function table(mgr: Manager): string {
  const rsets = mgr.cache.informerFor(ReplicaSets, { namespace: NAMESPACE }).store.list(NAMESPACE);
  const pods = mgr.cache.informerFor(Pods, { namespace: NAMESPACE }).store.list(NAMESPACE);
  const rows = rsets
    .sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1))
    .map((rs) => {
      const owned = pods.filter((p) => p.metadata?.ownerReferences?.some((r) => r.uid === rs.metadata?.uid));
      const byNode = new Map<string, number>();
      for (const p of owned) byNode.set(p.spec?.nodeName ?? "<pending>", (byNode.get(p.spec?.nodeName ?? "<pending>") ?? 0) + 1);
      const s: Partial<NonNullable<ReplicaSet["status"]>> = rs.status ?? {};
      const placement = [...byNode].sort().map(([n, c]) => `${n}:${c}`).join(" ");
      return `  ${rs.metadata!.name!.padEnd(6)} desired=${rs.spec.replicas} current=${s.replicas ?? 0} ready=${s.readyReplicas ?? 0} available=${s.availableReplicas ?? 0}  pods on ${placement || "-"}`;
    });
  const e = endpointsView(mgr);
  rows.push(`  service web: Endpoints ours ${e.ours} | built-in ${e.builtin}; EndpointSlices ours ${e.oursSlices} | built-in ${e.builtinSlices}`);
  return rows.join("\n");
}

/** The Service `web`'s endpoints as our objects and the built-in ones hold them (ready/not ready counts), and whether they agree. */
function endpointsView(mgr: Manager): { ours: string; builtin: string; oursSlices: string; builtinSlices: string; agree: boolean } {
  const key = `${NAMESPACE}/web`;
  const ours = mgr.cache.informerFor(KubeloopEndpoints, { namespace: NAMESPACE }).store.get(key);
  const builtin = mgr.cache.informerFor(EndpointsResource, { namespace: NAMESPACE }).store.get(key);
  const oursSlices = mgr.cache.informerFor(KubeloopEndpointSlices, { namespace: NAMESPACE }).store.list(NAMESPACE)
    .filter((sl) => sl.metadata?.labels?.["kubernetes.io/service-name"] === "web");
  const builtinSlices = mgr.cache.informerFor(BuiltinEndpointSlices, { namespace: NAMESPACE }).store.list(NAMESPACE)
    .filter((sl) => sl.metadata?.labels?.["kubernetes.io/service-name"] === "web");
  const count = (subsets: ReadonlyArray<{ addresses?: readonly unknown[]; notReadyAddresses?: readonly unknown[] }> | undefined) => {
    const r = (subsets ?? []).reduce((n, x) => n + (x.addresses?.length ?? 0), 0);
    const nr = (subsets ?? []).reduce((n, x) => n + (x.notReadyAddresses?.length ?? 0), 0);
    return `${r} ready/${nr} not ready`;
  };
  const oursEps = canonicalSliceEndpoints(oursSlices.map((sl) => ({ addressType: sl.spec.addressType, ports: sl.spec.ports ?? null, endpoints: sl.spec.endpoints ?? null })));
  const builtinEps = canonicalSliceEndpoints(builtinSlices.map((sl) => ({ addressType: sl.addressType, ports: sl.ports ?? null, endpoints: (sl.endpoints ?? null) as never })));
  const agree = ours !== undefined && builtin !== undefined &&
    stableJson(canonicalSubsets(ours.spec.subsets)) === stableJson(canonicalSubsets((builtin.subsets ?? []) as never)) &&
    stableJson(oursEps) === stableJson(builtinEps);
  return {
    ours: ours ? count(ours.spec.subsets) : "-",
    builtin: builtin ? count(builtin.subsets) : "-",
    oursSlices: `${oursSlices.length} with ${oursSlices.reduce((n, sl) => n + (sl.spec.endpoints?.length ?? 0), 0)} endpoints`,
    builtinSlices: `${builtinSlices.length} with ${builtinSlices.reduce((n, sl) => n + (sl.endpoints?.length ?? 0), 0)} endpoints`,
    agree,
  };
}

/** The generation each ReplicaSet must have reached in the cache: the one our last write produced. */
const writtenGeneration = new Map<string, number>();

/** Writes `spec.replicas` of a ReplicaSet (through `/scale` when `viaScale`) and notes the generation it produced. */
async function scale(client: KubeClient, name: string, replicas: number, viaScale: boolean): Promise<void> {
  const key = { namespace: NAMESPACE, name };
  await client.patch(ReplicaSets, key, { type: "merge", body: { spec: { replicas } } }, viaScale ? { subresource: "scale" } : {});
  writtenGeneration.set(name, (await client.get(ReplicaSets, key)).metadata?.generation ?? 0);
}

/**
 * True when every ReplicaSet in the cache is at least at the generation we wrote, its status
 * observed that generation, and it has exactly the desired pods, all available.
 */
function converged(mgr: Manager): boolean {
  const rsets = mgr.cache.informerFor(ReplicaSets, { namespace: NAMESPACE }).store.list(NAMESPACE);
  const pods = mgr.cache.informerFor(Pods, { namespace: NAMESPACE }).store.list(NAMESPACE);
  return rsets.length === SAMPLES.length && endpointsView(mgr).agree && rsets.every((rs) => {
    const s = rs.status;
    const owned = pods.filter((p) => p.metadata?.ownerReferences?.some((r) => r.uid === rs.metadata?.uid));
    return (rs.metadata?.generation ?? 0) >= (writtenGeneration.get(rs.metadata!.name!) ?? 0) &&
      s !== undefined && s.observedGeneration === rs.metadata?.generation && s.replicas === rs.spec.replicas &&
      s.readyReplicas === rs.spec.replicas && s.availableReplicas === rs.spec.replicas && owned.length === rs.spec.replicas;
  });
}

/** Prints the table whenever it changes until the ReplicaSets converge. @throws Error after the step timeout. */
async function showUntilConverged(mgr: Manager, step: string, signal: AbortSignal): Promise<void> {
  const stepStart = Date.now();
  let last = "";
  for (;;) {
    const now = table(mgr);
    if (now !== last) {
      say(`${step}:\n${now}`);
      last = now;
    }
    if (converged(mgr)) {
      say(`converged in ${((Date.now() - stepStart) / 1000).toFixed(1)}s`);
      return;
    }
    if (Date.now() - stepStart > stepTimeoutMs) throw new Error(`${step}: not converged after ${stepTimeoutMs / 1000}s`);
    if (signal.aborted) throw signal.reason;
    await sleep(250);
  }
}

/**
 * A pod of the gang or the big job: app=train (so the BinPack policy selects it), `gpus` whole
 * GPUs (limit = request), on kubeloop-scheduler unless `schedulerName` is false (none named).
 */
function trainPod(name: string, gpus: number, group?: string, schedulerName = true): Pod {
  return {
    apiVersion: "v1", kind: "Pod",
    metadata: { name, namespace: NAMESPACE, labels: { app: "train", ...(group ? { [POD_GROUP_LABEL]: group } : {}) } },
    spec: {
      ...(schedulerName ? { schedulerName: DEFAULT_SCHEDULER_NAME } : {}),
      containers: [{
        name: "train", image: "registry.k8s.io/pause:3.10",
        resources: { requests: { cpu: "1", [GPU_RESOURCE]: String(gpus) }, limits: { [GPU_RESOURCE]: String(gpus) } },
      }],
    },
  };
}

/** The policy's inventory, one line per product, and its whole free nodes / stranded GPUs. */
function inventoryLines(policy: GPUPlacementPolicy | undefined): string {
  const s = policy?.status;
  const rows = (s?.inventory ?? []).map((i) => `  ${i.product.padEnd(22)} nodes=${i.nodes} total=${i.total} allocated=${i.allocated} free=${i.free}`);
  return [...rows, `  policy ${policy?.metadata?.name}: eligibleNodes=${s?.eligibleNodes ?? "-"} wholeFreeNodes=${s?.wholeFreeNodes ?? "-"} ` +
    `strandedGPUs=${s?.strandedGPUs ?? "-"} largestRequest=${s?.largestRequest ?? "-"} selectedPods=${s?.selectedPods ?? "-"}`].join("\n");
}

/** Waits until the policy's status says `want`, then prints the inventory. */
async function showInventory(client: KubeClient, name: string, step: string, want: (p: GPUPlacementPolicy) => boolean, signal: AbortSignal): Promise<void> {
  const policy = await waitFor(async () => {
    const p = await client.get(GPUPlacementPolicies, { name });
    return want(p) ? p : undefined;
  }, { timeoutMs: stepTimeoutMs, description: `${step}: the status of GPUPlacementPolicy ${name}`, signal });
  say(`${step}: GPUPlacementPolicy ${name} status (the cluster's GPUs, as the inventory controller counts them):\n${inventoryLines(policy)}`);
}

/** `name: node (phase)` per pod, or `name: pending (message)` while unscheduled. */
function podLine(p: Pod): string {
  const cond = p.status?.conditions?.find((c) => c.type === "PodScheduled");
  const where = p.spec?.nodeName ? `on ${p.spec.nodeName} (${p.status?.phase ?? "?"})` : `pending${cond?.message ? `: ${cond.message}` : ""}`;
  return `  ${p.metadata!.name!.padEnd(12)} ${where}`;
}

async function trainPods(client: KubeClient): Promise<Pod[]> {
  const list = await client.list(Pods, { namespace: NAMESPACE, labelSelector: "app=train" });
  return list.items.sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
}

/** Removes what an earlier run against the same cluster left: the train pods and the gang's PodGroup. */
async function cleanTrainPods(client: KubeClient, signal: AbortSignal): Promise<void> {
  const pods = await trainPods(client);
  for (const p of pods) await client.delete(Pods, { namespace: NAMESPACE, name: p.metadata!.name! }, { gracePeriodSeconds: 0 }).catch((e: unknown) => { if (!isNotFound(e)) throw e; });
  await client.delete(PodGroups, { namespace: NAMESPACE, name: GANG }).catch((e: unknown) => { if (!isNotFound(e)) throw e; });
  if (pods.length > 0) {
    await waitFor(async () => (await trainPods(client)).length === 0, { timeoutMs: stepTimeoutMs, description: "the previous run's train pods to be gone", signal });
  }
}

/** What the scheduling story added to a cluster it did not start (removed again on exit): GPU nodes it created, the policy it applied. */
const leftInExistingCluster = { nodes: [] as string[], policy: undefined as string | undefined };

/**
 * Steps 5-7: GPU nodes and the BinPack policy's inventory; a gang that waits for its last member
 * and then binds at once (packed on one A100 node); an 8-GPU pod on the A100 node kept whole.
 * @throws Error when a step does not converge within the step timeout.
 */
async function schedulingStory(client: KubeClient, plane: ControlPlane, signal: AbortSignal): Promise<void> {
  const missing: FakeNodeSpec[] = [];
  for (const n of GPU_NODES) {
    try {
      await client.get(Nodes, { name: n.name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      missing.push(n);
    }
  }
  say(`step 5: GPU nodes (kwok), labelled as GPU feature discovery would: ${GPU_NODES.map((n) => `${n.name} ${n.gpus}x${n.gpuProduct}`).join(", ")}`);
  if (missing.length > 0) leftInExistingCluster.nodes.push(...await createFakeNodes(plane.kubeconfigPath, missing, { signal }));
  await cleanTrainPods(client, signal);
  const policy = YAML.parse(readFileSync(POLICY_SAMPLE, "utf8")) as GPUPlacementPolicy;
  const policyName = policy.metadata!.name!;
  say(`step 5: apply GPUPlacementPolicy ${policyName} (operators/gpu-placement/samples/train-binpack.yaml): app=train pods on A100/H100 nodes, BinPack`);
  await client.patch(GPUPlacementPolicies, { name: policyName }, { type: "apply", body: policy, fieldManager: "kubeloop-demo", force: true });
  leftInExistingCluster.policy = policyName;
  const a100 = (p: GPUPlacementPolicy) => p.status?.inventory?.find((i) => i.product === A100);
  await showInventory(client, policyName, "step 5", (p) => a100(p)?.total === 16 && a100(p)?.allocated === 0 &&
    p.status?.wholeFreeNodes === 2 && p.status.inventory?.some((i) => i.product === T4) === true, signal);

  say(`step 6: PodGroup ${GANG} (minMember ${GANG_SIZE}) and ${GANG_SIZE - 1} of its workers (2 GPUs each, schedulerName ${DEFAULT_SCHEDULER_NAME})`);
  const group: PodGroup = { apiVersion: "scheduling.kubeloop.dev/v1alpha1", kind: "PodGroup", metadata: { name: GANG, namespace: NAMESPACE }, spec: { minMember: GANG_SIZE } };
  await client.create(PodGroups, group);
  for (let i = 0; i < GANG_SIZE - 1; i++) await client.create(Pods, trainPod(`${GANG}-${i}`, 2, GANG));
  const waiting = await waitFor(async () => {
    const pods = await trainPods(client);
    const told = pods.filter((p) => !p.spec?.nodeName && p.status?.conditions?.some((c) => c.type === "PodScheduled" && c.status === "False"));
    return pods.length === GANG_SIZE - 1 && told.length === pods.length ? pods : undefined;
  }, { timeoutMs: stepTimeoutMs, description: `step 6: the ${GANG_SIZE - 1} workers to be reported waiting for the last one`, signal });
  // Each worker retried on its siblings' arrival (an UnscheduledPod event) says how many exist; give them a few seconds to say it.
  const counted = `${GANG_SIZE - 1}/${GANG_SIZE} pods of PodGroup`;
  const told = await waitFor(async () => {
    const pods = await trainPods(client);
    return pods.every((p) => p.status?.conditions?.some((c) => c.message?.includes(counted))) ? pods : undefined;
  }, { timeoutMs: 5000, description: "the workers' latest messages", signal }).catch(() => waiting);
  say(`step 6: the gang waits for its last member; nothing is bound:\n${told.map(podLine).join("\n")}`);
  await sleep(2000);
  if ((await trainPods(client)).some((p) => p.spec?.nodeName)) throw new Error("step 6: a worker was bound before the gang had minMember pods");

  say(`step 6: create the last worker ${GANG}-${GANG_SIZE - 1}; the gang is placed in one cycle, all or nothing`);
  const lastCreated = Date.now();
  await client.create(Pods, trainPod(`${GANG}-${GANG_SIZE - 1}`, 2, GANG));
  const bound = await waitFor(async () => {
    const pods = await trainPods(client);
    return pods.length === GANG_SIZE && pods.every((p) => p.spec?.nodeName && p.status?.phase === "Running") ? pods : undefined;
  }, { timeoutMs: stepTimeoutMs, description: `step 6: the ${GANG_SIZE} workers to be bound and Running`, signal });
  const phase = await waitFor(async () => {
    const pg = await client.get(PodGroups, { namespace: NAMESPACE, name: GANG });
    return pg.status?.phase === "Running" ? pg.status.phase : undefined;
  }, { timeoutMs: stepTimeoutMs, description: `step 6: PodGroup ${GANG} to be Running`, signal });
  say(`step 6: all ${GANG_SIZE} bound and Running ${((Date.now() - lastCreated) / 1000).toFixed(1)}s after the last one was created; PodGroup ${GANG} phase ${phase}; ` +
    `BinPack packed them on ${new Set(bound.map((p) => p.spec!.nodeName)).size} node(s):\n${bound.map(podLine).join("\n")}`);
  await showInventory(client, policyName, "step 6", (p) => a100(p)?.allocated === 2 * GANG_SIZE, signal);

  say("step 7: an 8-GPU pod (app=train) that names no scheduler: it needs a whole A100 node, which BinPack kept free");
  const sent = await client.create(Pods, trainPod("trainer-8gpu", 8, undefined, false));
  say(`step 7: admission webhook ${SCHEDULER_NAME_WEBHOOK} set schedulerName ${sent.spec?.schedulerName} ` +
    `(${GOVERNING_POLICY_ANNOTATION}: ${sent.metadata?.annotations?.[GOVERNING_POLICY_ANNOTATION] ?? "none"})`);
  if (sent.spec?.schedulerName !== DEFAULT_SCHEDULER_NAME) throw new Error(`step 7: the webhook did not send the pod to ${DEFAULT_SCHEDULER_NAME}`);
  const big = await waitFor(async () => {
    const p = await client.get(Pods, { namespace: NAMESPACE, name: "trainer-8gpu" });
    return p.spec?.nodeName && p.status?.phase === "Running" ? p : undefined;
  }, { timeoutMs: stepTimeoutMs, description: "step 7: the 8-GPU pod to be bound and Running (was an A100 node kept whole?)", signal });
  say(`step 7: placed:\n${podLine(big)}`);
  await showInventory(client, policyName, "step 7", (p) => a100(p)?.allocated === 2 * GANG_SIZE + 8 && p.status?.largestRequest === 8, signal);
}

async function main(): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => {
    say("stopping (Ctrl-C again exits at once)");
    if (stop.signal.aborted) process.exit(130);
    stop.abort(new Error("interrupted"));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const plane = await controlPlane();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(plane.kubeconfigPath);
  const client = createClient({ kubeConfig });
  let mgr: Manager | undefined;
  let running: Promise<void> | undefined;
  let operatorIdentity: LeastPrivilege | undefined;
  try {
    say(`installing ${allDefinitions.length} CustomResourceDefinition(s): ${allDefinitions.map((d) => d.name).join(", ")}`);
    await installCustomResourceDefinitions(client, allDefinitions.map((d) => d.crd()), { fieldManager: "kubeloop-demo" });
    await ensureNamespace(client);

    // The table below compares with the built-in Endpoints and slices through the same cache.
    const viewerReads = [permission(EndpointsResource, ["list", "watch"]), permission(BuiltinEndpointSlices, ["list", "watch"])];
    operatorIdentity = await leastPrivilegeClient(client, kubeConfig, NAMESPACE, OPERATORS, viewerReads, { webhookConfiguration: DEMO_WEBHOOK_CONFIGURATION });
    say(`the operators act as ${operatorIdentity.user} (impersonated), allowed only the ${operatorIdentity.operatorRules.length} rules ` +
      `generated from their code, as the chart's ClusterRole is (and list/watch on built-in Endpoints and EndpointSlices for this table):\n` +
      rulesLines(operatorIdentity.operatorRules) + `\n  and in namespace ${NAMESPACE} only (the webhook certificates' Secret):\n` + rulesLines(operatorIdentity.namespacedRules));
    mgr = new Manager({ client: operatorIdentity.client, name: "kubeloop-demo", metricsBindAddress: "127.0.0.1:0", healthProbeBindAddress: "127.0.0.1:0" });
    const webhooks = addDemoWebhookServer(mgr, NAMESPACE);
    setupOperators(mgr, OPERATORS, { webhooks: webhooks.server });
    running = mgr.start(stop.signal);
    await mgr.cache.waitForSync(stop.signal);
    await installDemoWebhooks(client, webhooks, NAMESPACE, stepTimeoutMs, stop.signal);
    say(`admission webhook ${SCHEDULER_NAME_WEBHOOK} served on https://127.0.0.1:${webhooks.server.port()} ` +
      `(MutatingWebhookConfiguration ${DEMO_WEBHOOK_CONFIGURATION}, for namespace ${NAMESPACE} only; CA and certificate in Secret ${NAMESPACE}/${DEMO_WEBHOOK_CONFIGURATION}-certificates)`);
    say(`operators running: ${OPERATORS.join(", ")} (in this process, one manager, one ${DEFAULT_SCHEDULER_NAME} with the gang and GPU plugins)`);

    say(`applying Service web (selector app=web) to namespace ${NAMESPACE}: its Endpoints and EndpointSlices, ours beside the built-in ones`);
    await client.patch(Services, { namespace: NAMESPACE, name: "web" }, {
      type: "apply",
      body: { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: NAMESPACE }, spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: 80, protocol: "TCP" }] } } as Service,
      fieldManager: "kubeloop-demo", force: true,
    });

    say(`applying the samples in operators/replicaset/samples/ to namespace ${NAMESPACE}`);
    for (const url of SAMPLES) {
      const rs = YAML.parse(readFileSync(url, "utf8")) as ReplicaSet;
      await client.patch(ReplicaSets, { namespace: NAMESPACE, name: rs.metadata!.name! },
        { type: "apply", body: { ...rs, metadata: { ...rs.metadata, namespace: NAMESPACE } }, fieldManager: "kubeloop-demo", force: true });
    }
    await showUntilConverged(mgr, "step 1: sample ReplicaSets web (3) and api (2)", stop.signal);

    say("step 2: scale web to 6 through the scale subresource (what `kubectl scale` does)");
    await scale(client, "web", 6, true);
    await showUntilConverged(mgr, "step 2: web scaled up", stop.signal);

    const pods = mgr.cache.informerFor(Pods, { namespace: NAMESPACE }).store.list(NAMESPACE)
      .filter((p: Pod) => p.metadata?.labels?.app === "web" && !p.metadata.deletionTimestamp);
    const victim = pods[0];
    if (!victim) throw new Error("step 3: web has no pod to delete");
    say(`step 3: delete pod ${keyOf(victim)}; the operator replaces it`);
    await client.delete(Pods, { namespace: NAMESPACE, name: victim.metadata!.name! });
    await waitFor(async () => !mgr!.cache.informerFor(Pods, { namespace: NAMESPACE }).store.get(keyOf(victim)), {
      timeoutMs: stepTimeoutMs, description: `pod ${keyOf(victim)} to be gone`, signal: stop.signal,
    });
    await showUntilConverged(mgr, "step 3: web healed", stop.signal);

    say("step 4: scale web down to 2; pods go in the upstream order (unscheduled, not ready, deletion cost, ...)");
    await scale(client, "web", 2, false);
    await showUntilConverged(mgr, "step 4: web scaled down", stop.signal);

    await schedulingStory(client, plane, stop.signal);
    await admissionStory(client, NAMESPACE, say, stepTimeoutMs, stop.signal);

    if (flags["exit-after-convergence"]) {
      say("every step converged; exiting (--exit-after-convergence)");
      stop.abort(new Error("done"));
    } else {
      say("every step converged; still reconciling: try `kubectl -n kubeloop-demo scale krs web --replicas 5` " +
        `with KUBECONFIG=${plane.kubeconfigPath}. Ctrl-C to stop.`);
      let last = table(mgr);
      while (!stop.signal.aborted) {
        await sleep(500);
        const now = table(mgr);
        if (now !== last) say(`update:\n${now}`);
        last = now;
      }
    }
    return 0;
  } catch (err) {
    if (stop.signal.aborted && (err === stop.signal.reason)) return 130;
    say(`FAILED: ${(err as Error).message}`);
    return 1;
  } finally {
    stop.abort(new Error("demo finished"));
    await running?.catch((err: Error) => say(`manager: ${err.message}`));
    if (!plane.local) {
      await removeWhatTheStoryAdded(client, plane);
      await removeAdmissionStory(client, NAMESPACE).catch((err: Error) => say(`could not delete the step 8 policy: ${err.message}`));
      await removeLeastPrivilege(client).catch((err: Error) => say(`could not delete the operators' ClusterRole: ${err.message}`));
      await removeDemoWebhooks(client).catch((err: Error) => say(`could not delete the demo's webhook configuration: ${err.message}`));
    }
    operatorIdentity?.client.close();
    client.close();
    if (plane.local && !flags["keep-cluster"]) {
      say("stopping the control plane");
      await plane.stop({ removeData: true });
    } else if (plane.local) {
      say(`control plane left running (--keep-cluster): KUBECONFIG=${plane.kubeconfigPath}; \`npm run cluster -- down\` stops it`);
    }
  }
}

/** On a cluster the demo did not start: deletes the GPU nodes and the policy the scheduling story added (the namespace stays). */
async function removeWhatTheStoryAdded(client: KubeClient, plane: ControlPlane): Promise<void> {
  const { nodes, policy } = leftInExistingCluster;
  await cleanTrainPods(client, AbortSignal.timeout(stepTimeoutMs)).catch((err: Error) => say(`could not delete the train pods: ${err.message}`));
  if (policy) await client.delete(GPUPlacementPolicies, { name: policy }).catch((err: Error) => say(`could not delete GPUPlacementPolicy ${policy}: ${err.message}`));
  if (nodes.length > 0) {
    await deleteFakeNodes(plane.kubeconfigPath, nodes).catch((err: Error) => say(`could not delete the fake GPU nodes: ${err.message}`));
    say(`removed what the demo added to the cluster: GPU nodes ${nodes.join(", ")}${policy ? `, GPUPlacementPolicy ${policy}` : ""}`);
  }
}

process.exit(await main());
