/**
 * The main job: a real control plane comes up (or the cluster in `KUBECONFIG` is used), the
 * operators' CRDs are installed, the operators run in this process, and sample ReplicaSets are
 * applied on fake nodes, with a Service `web` in front of one of them. The terminal shows desired /
 * current / ready per ReplicaSet, and the Service's endpoints as our Endpoints and EndpointSlices
 * hold them beside kube-controller-manager's own, while the story plays: convergence, a scale-up
 * through the scale subresource, a deleted pod replaced, a scale-down. A step has converged when
 * ours equal the built-in ones too. Then it keeps reconciling until Ctrl-C, or exits 0 with `--exit-after-convergence`.
 *
 *   npm run demo [-- --exit-after-convergence] [--nodes 3] [--dir D] [--keep-cluster] [--verbose]
 *
 * Exits 1 when a step does not converge within `--step-timeout-seconds` (default 180).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import YAML from "yaml";
import { installCustomResourceDefinitions } from "../framework/api/index.ts";
import { createClient, isAlreadyExists, KubeConfig, type KubeClient } from "../framework/client/index.ts";
import { sleep } from "../framework/flowcontrol/index.ts";
import { rootLogger } from "../framework/log/index.ts";
import { Manager } from "../framework/manager/index.ts";
import { EndpointsResource, Namespaces, Pods, ServiceAccounts, Services, keyOf, type Pod, type Service } from "../framework/meta/index.ts";
import { createFakeNodes, existingControlPlane, startControlPlane, waitFor, type ControlPlane } from "../framework/testing/index.ts";
import { allDefinitions, setupOperators } from "./registry.ts";
import { ReplicaSets, type ReplicaSet } from "./replicaset/index.ts";
import {
  BuiltinEndpointSlices, canonicalSliceEndpoints, canonicalSubsets, KubeloopEndpoints, KubeloopEndpointSlices, stableJson,
} from "./endpoints/index.ts";

const NAMESPACE = "kubeloop-demo";
const SAMPLES = ["web.yaml", "api.yaml"].map((f) => new URL(`./replicaset/samples/${f}`, import.meta.url));

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
  const plane = await startControlPlane({ ...(flags.dir ? { dir: flags.dir } : {}), onProgress: (l) => say(`  ${l}`) });
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
  try {
    say(`installing ${allDefinitions.length} CustomResourceDefinition(s): ${allDefinitions.map((d) => d.name).join(", ")}`);
    await installCustomResourceDefinitions(client, allDefinitions.map((d) => d.crd()), { fieldManager: "kubeloop-demo" });
    await ensureNamespace(client);

    mgr = new Manager({ client, name: "kubeloop-demo", metricsBindAddress: "127.0.0.1:0", healthProbeBindAddress: "127.0.0.1:0" });
    setupOperators(mgr, ["replicaset", "endpoints"]);
    running = mgr.start(stop.signal);
    await mgr.cache.waitForSync(stop.signal);
    say("operators running: replicaset, endpoints (in this process, one manager)");

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
    client.close();
    if (plane.local && !flags["keep-cluster"]) {
      say("stopping the control plane");
      await plane.stop({ removeData: true });
    } else if (plane.local) {
      say(`control plane left running (--keep-cluster): KUBECONFIG=${plane.kubeconfigPath}; \`npm run cluster -- down\` stops it`);
    }
  }
}

process.exit(await main());
