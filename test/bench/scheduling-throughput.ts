/**
 * Scheduling throughput, the reference probe's method (`shared/reference/scheduling.md` §A3):
 * N pods (or N/10 gangs of 10) pre-created while no scheduler serves their `schedulerName`, then
 * the scheduler started; bound/s = N / (last − first bind), the binds as a watch of the namespace
 * sees them (the first event of each pod with `spec.nodeName`). Both schedulers run on the same
 * 100 kwok nodes one after the other, every pod deleted in between, so they never compete.
 * Gangs: native `scheduling.k8s.io/v1alpha2` PodGroups (`gang.minCount` 10), pods joining through
 * `spec.schedulingGroup`, identical for both sides but for `schedulerName`; afterwards every group
 * is checked all-or-nothing.
 */
import type { KubeClient } from "../../framework/client/index.ts";
import { Pods, type Pod } from "../../framework/meta/index.ts";
import { waitFor } from "../../framework/testing/index.ts";
import { NativePodGroups, type NativePodGroup } from "../../operators/gang-scheduling/index.ts";
import { deleteAllPods, ensureNamespace, followPods, runParallel } from "./cluster.ts";

/** One throughput run. */
export interface ThroughputResult {
  side: "ours" | "kube-scheduler";
  kind: "plain" | "gang";
  /** Which repeat (0-based). */
  repeat: number;
  /** Client QPS/burst of the scheduler that ran. */
  qps: number;
  burst: number;
  pods: number;
  /** Pods per group (gangs) or 1. */
  groupSize: number;
  /** Pods bound when the run ended (== pods unless it timed out). */
  bound: number;
  /** First to last bind seen by the watch, in seconds. */
  firstToLastSeconds: number;
  /** pods / firstToLastSeconds. */
  podsPerSecond: number;
  /** Scheduler started → last bind, in seconds (includes its start-up and informer sync). */
  startToLastSeconds: number;
  /** Groups with 0 < bound < groupSize at the end (gangs only; 0 for plain). */
  partialGroups: number;
  /** Groups fully bound at the end. */
  fullGroups: number;
}

/** Something that schedules and can be stopped. */
export interface StartedScheduler {
  stop(): Promise<void>;
}

/** The pods of one run. */
function pod(namespace: string, name: string, schedulerName: string, group: string | undefined): Pod {
  return {
    apiVersion: "v1", kind: "Pod",
    metadata: { name, namespace, labels: { "kubeloop.dev/bench": "scheduling", ...(group ? { "kubeloop.dev/bench-group": group } : {}) } },
    spec: {
      schedulerName,
      terminationGracePeriodSeconds: 0,
      containers: [{ name: "app", image: "registry.k8s.io/pause:3.10", resources: { requests: { cpu: "10m", memory: "16Mi" } } }],
      ...(group ? { schedulingGroup: { podGroupName: group } } : {}),
    } as Pod["spec"],
  };
}

/** When each pod was first seen bound. */
interface BindWatch {
  boundAtMs: Map<string, number>;
  stop(): void;
}

/** Watches the namespace's pods from the list's resourceVersion on; records each pod's first bind (performance.now). */
async function watchBinds(admin: KubeClient, namespace: string): Promise<BindWatch> {
  const boundAtMs = new Map<string, number>();
  const noteBound = (pod: Pod) => {
    const name = pod.metadata?.name;
    if (name && pod.spec?.nodeName && !boundAtMs.has(name)) boundAtMs.set(name, performance.now());
  };
  const follow = await followPods(admin, namespace, "bind watch", {
    onListed: (pods) => { for (const p of pods) noteBound(p); },
    onEvent: (_type, pod) => noteBound(pod),
  });
  return { boundAtMs, stop: follow.stop };
}

/**
 * One run: creates `pods` pods for `schedulerName` in `namespace` (gangs of `groupSize` when
 * above 1, each with its native PodGroup), waits until all exist, starts the scheduler with
 * `start`, waits for every bind (or `timeoutMs`), stops it and deletes the pods and groups.
 */
export async function measureThroughput(admin: KubeClient, opts: {
  side: ThroughputResult["side"]; kind: ThroughputResult["kind"]; repeat: number; qps: number; burst: number;
  namespace: string; schedulerName: string; pods: number; groupSize: number; timeoutMs: number;
  start: () => Promise<StartedScheduler>; say: (line: string) => void;
}): Promise<ThroughputResult> {
  const { namespace, pods, groupSize } = opts;
  await ensureNamespace(admin, namespace);
  const groups = opts.kind === "gang" ? Math.ceil(pods / groupSize) : 0;
  await runParallel(groups, 32, async (g) => {
    const pg: NativePodGroup = {
      apiVersion: "scheduling.k8s.io/v1alpha2", kind: "PodGroup",
      metadata: { name: `g${g}`, namespace }, spec: { schedulingPolicy: { gang: { minCount: groupSize } } },
    };
    await admin.create(NativePodGroups, pg);
  });
  await runParallel(pods, 64, async (i) => {
    const group = opts.kind === "gang" ? `g${Math.floor(i / groupSize)}` : undefined;
    await admin.create(Pods, pod(namespace, `p${i}`, opts.schedulerName, group));
  });
  await waitFor(async () => (await admin.list(Pods, { namespace })).items.length >= pods || undefined,
    { timeoutMs: 60_000, intervalMs: 500, description: `${pods} pods in ${namespace}` });
  const binds = await watchBinds(admin, namespace);
  let scheduler: StartedScheduler | undefined;
  try {
    const startedMs = performance.now();
    scheduler = await opts.start();
    let lastSaid = performance.now();
    await waitFor(async () => {
      if (binds.boundAtMs.size >= pods) return true;
      if (performance.now() - lastSaid > 10_000) {
        opts.say(`    ${binds.boundAtMs.size}/${pods} bound after ${((performance.now() - startedMs) / 1000).toFixed(0)}s`);
        lastSaid = performance.now();
      }
      return undefined;
    }, { timeoutMs: opts.timeoutMs, intervalMs: 100, description: `${pods} pods of ${namespace} bound` }).catch((err: Error) => opts.say(`    ${err.message}`));
    const times = [...binds.boundAtMs.values()];
    const first = Math.min(...times);
    const last = Math.max(...times);
    const firstToLastSeconds = times.length > 1 ? (last - first) / 1000 : 0;
    // The end state, read once the binds are done: whole groups only.
    let partialGroups = 0;
    let fullGroups = 0;
    if (opts.kind === "gang") {
      const bound = new Map<string, number>();
      for (const p of (await admin.list(Pods, { namespace })).items) {
        const g = (p.spec as { schedulingGroup?: { podGroupName?: string } } | undefined)?.schedulingGroup?.podGroupName;
        if (g && p.spec?.nodeName) bound.set(g, (bound.get(g) ?? 0) + 1);
      }
      for (const n of bound.values()) {
        if (n >= groupSize) fullGroups++;
        else if (n > 0) partialGroups++;
      }
    }
    return {
      side: opts.side, kind: opts.kind, repeat: opts.repeat, qps: opts.qps, burst: opts.burst, pods, groupSize: opts.kind === "gang" ? groupSize : 1,
      bound: times.length, firstToLastSeconds, podsPerSecond: firstToLastSeconds > 0 ? times.length / firstToLastSeconds : 0,
      startToLastSeconds: times.length > 0 ? (last - startedMs) / 1000 : 0, partialGroups, fullGroups,
    };
  } finally {
    binds.stop();
    await scheduler?.stop();
    await deleteAllPods(admin, namespace);
    if (groups > 0) {
      for (const pg of (await admin.list(NativePodGroups, { namespace })).items) {
        await admin.delete(NativePodGroups, { namespace, name: pg.metadata!.name! }).catch(() => {});
      }
    }
  }
}
