/**
 * The scheduling suite of `npm run bench` (issue 6 §5): the kubeloop scheduler against
 * kube-scheduler v1.36.3 on one control plane started with the native gang API
 * (`gangScheduling: true`), kwok nodes only:
 * 1. throughput on 100 nodes (32 CPU, 110 pods): N plain pods, then N/10 native gangs of 10,
 *    bound/s first-to-last bind, each scheduler started after its pods exist, at client limits
 *    1000/1000 and at kube-scheduler's defaults 50/100 (`scheduling-throughput.ts`);
 * 2. fragmentation on 3 × 20 nodes × 8 GPUs: ours BinPack vs kube-scheduler default vs
 *    MostAllocated (`scheduling-fragmentation.ts`);
 * 3. a seeded randomized run of at least 50 competing gangs: ours with kubeloop PodGroups, ours
 *    and kube-scheduler with native PodGroups, concurrently on disjoint pools (`scheduling-gangs.ts`).
 * kube-scheduler is a process of the harness's build with its own config and profile names
 * (`scheduling-kube-scheduler.ts`); ours a Manager in this process (`scheduling-ours.ts`).
 *
 * `npm run bench -- --suites scheduling` takes about 16 minutes on the 2-core box (3 repeats of
 * 8 throughput runs of 1000 pods, then fragmentation and 3 × 50 competing gangs). Reading the
 * gang figures at 50/100: kube-scheduler v1.36 patches `status.nominatedNodeName` of every pod
 * that will wait on Permit before binding it (`NominatedNodeNameForExpectation`, beta, on by
 * default since 1.35; `pkg/scheduler/schedule_one.go` `bindingCycle`), about 2 requests per gang
 * member against our 1, so its client limit caps it near QPS/2.
 */
import { rm } from "node:fs/promises";
import { installCustomResourceDefinitions } from "../../framework/api/index.ts";
import { createClient, KubeConfig } from "../../framework/client/index.ts";
import { DEFAULT_SCHEDULER_NAME } from "../../framework/scheduling/index.ts";
import { createFakeNodes, startControlPlane } from "../../framework/testing/index.ts";
import { PodGroupDefinition } from "../../operators/gang-scheduling/index.ts";
import { GPUPlacementPolicyDefinition } from "../../operators/gpu-placement/index.ts";
import { measurementAttempts } from "./cluster.ts";
import { createBinPackPolicy, measureFragmentation, type FragmentationResult } from "./scheduling-fragmentation.ts";
import { runCompetingGangs, type CompetingGangsResult } from "./scheduling-gangs.ts";
import { KUBE_SCHEDULER_DEFAULT, startKubeScheduler } from "./scheduling-kube-scheduler.ts";
import { startOurs } from "./scheduling-ours.ts";
import { measureThroughput, type ThroughputResult } from "./scheduling-throughput.ts";

/** Client limits of one throughput setting (both schedulers alike). */
export interface SchedulingSetting {
  label: string;
  qps: number;
  burst: number;
}

/** The settings the suite knows: raised (1000/1000, the reference probe's) and kube-scheduler's defaults. */
export const schedulingSettings: Readonly<Record<string, SchedulingSetting>> = {
  raised: { label: "raised", qps: 1000, burst: 1000 },
  defaults: { label: "defaults", qps: 50, burst: 100 },
};

/** Parts of the suite. */
export type SchedulingPart = "throughput" | "fragmentation" | "competing";

/** Options of `runSchedulingSuite`. */
export interface SchedulingSuiteOptions {
  settings: readonly SchedulingSetting[];
  parts: readonly SchedulingPart[];
  /** Pods per throughput run (plain; gangs: pods / gangSize groups). Default 1000. */
  pods: number;
  gangSize: number;
  throughputNodes: number;
  /** Throughput runs per setting, kind and side (the report takes the median). */
  repeats: number;
  /** Competing gangs in the randomized run (≥ 50 for the issue's figure). */
  competingGangs: number;
  seed: number;
  say: (line: string) => void;
}

/** Everything the suite measured. */
export interface SchedulingResults {
  method: string;
  seed: number;
  throughputNodes: number;
  repeats: number;
  throughput: ThroughputResult[];
  fragmentation: FragmentationResult[];
  competing: CompetingGangsResult[];
  errors: string[];
}

/** A short description of the method, copied into the results. */
export const SCHEDULING_METHOD =
  "one control plane (kube-apiserver/kcm/kube-scheduler v1.36.3 with GenericWorkload+GangScheduling, kwok nodes); " +
  "the reference is a separate kube-scheduler process of the same build with its own profile names and clientConnection qps/burst, " +
  "ours a kubeloop Manager in the benchmark process (kubeApiQps/kubeApiBurst, Events on a second client with the same limits); " +
  "throughput: pods (and native PodGroups) pre-created, then the scheduler started; bound/s = N / (last - first bind seen by a watch); " +
  "both sides run one after the other on the same nodes, all pods deleted in between, the first side alternating per repeat; " +
  "ratios are of the medians over the repeats";

/**
 * Starts the control plane in `dir`, runs the asked parts, stops it. A failing measurement is
 * recorded in `errors` and the suite goes on.
 */
export async function runSchedulingSuite(dir: string, opts: SchedulingSuiteOptions): Promise<SchedulingResults> {
  const results: SchedulingResults = {
    method: SCHEDULING_METHOD, seed: opts.seed, throughputNodes: opts.throughputNodes, repeats: opts.repeats, throughput: [], fragmentation: [], competing: [], errors: [],
  };
  const say = opts.say;
  const attempt = measurementAttempts(say, results.errors);

  await rm(dir, { recursive: true, force: true });
  say(`scheduling: control plane with the native gang API in ${dir}`);
  const plane = await startControlPlane({ dir, gangScheduling: true, onProgress: (line) => say(`  ${line}`) });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(plane.kubeconfigPath);
  const admin = createClient({ kubeConfig });
  try {
    await installCustomResourceDefinitions(admin, [PodGroupDefinition.crd(), GPUPlacementPolicyDefinition.crd()], { fieldManager: "kubeloop-bench" });
    let run = 0;
    if (opts.parts.includes("throughput")) {
      await createFakeNodes(plane.kubeconfigPath, {
        count: opts.throughputNodes, namePrefix: "sched-node-", cpu: "32", memory: "256Gi", pods: 110, labels: { "kubeloop.dev/bench-pool": "throughput" },
      }, { timeoutMs: 300_000 });
      say(`  ${opts.throughputNodes} kwok nodes ready`);
      // Repeats interleave settings and kinds; the side that goes first alternates per repeat.
      for (let repeat = 0; repeat < opts.repeats; repeat++) {
        for (const setting of opts.settings) {
          for (const kind of ["plain", "gang"] as const) {
            const sides = repeat % 2 === 0 ? (["kube-scheduler", "ours"] as const) : (["ours", "kube-scheduler"] as const);
            for (const side of sides) {
              const { qps, burst } = setting;
              const r = await attempt(`throughput #${repeat + 1} ${setting.label} (${qps}/${burst}) ${kind} ${side}: ${opts.pods} pods${kind === "gang" ? ` in gangs of ${opts.gangSize}` : ""}`, () =>
                measureThroughput(admin, {
                  side, kind, qps, burst, repeat, namespace: `bench-sched-${run++}`, pods: opts.pods, groupSize: opts.gangSize,
                  schedulerName: side === "ours" ? DEFAULT_SCHEDULER_NAME : KUBE_SCHEDULER_DEFAULT,
                  timeoutMs: 60_000 + opts.pods * 200, say,
                  start: side === "ours"
                    ? () => startOurs({ kubeConfig, qps, burst, setup: kind === "gang" ? "gang" : "plain", say })
                    : () => startKubeScheduler({ kubeconfigPath: plane.kubeconfigPath, qps, burst, say }),
                }));
              if (r) {
                results.throughput.push(r);
                say(`    ${r.bound}/${r.pods} bound, first-to-last ${r.firstToLastSeconds.toFixed(2)}s = ${r.podsPerSecond.toFixed(1)} pods/s` +
                  `${kind === "gang" ? `, ${r.fullGroups} full / ${r.partialGroups} partial groups` : ""}`);
              }
            }
          }
        }
      }
    }

    const needsRef = opts.parts.includes("fragmentation") || opts.parts.includes("competing");
    const reference = needsRef ? await startKubeScheduler({ kubeconfigPath: plane.kubeconfigPath, qps: 50, burst: 100, say }) : undefined;
    try {
      if (opts.parts.includes("fragmentation")) {
        const ours = await startOurs({ kubeConfig, qps: 50, burst: 100, setup: "gpu", say });
        try {
          await createBinPackPolicy(admin);
          const r = await attempt("fragmentation: 3 pools of 20 nodes × 8 GPUs, seeded 1/2/4 mix to 50 %, then 8-GPU pods", () =>
            measureFragmentation(admin, plane.kubeconfigPath, { namespace: "bench-fragmentation", nodes: 20, gpusPerNode: 8, seed: opts.seed, say }));
          if (r) {
            results.fragmentation.push(...r);
            for (const f of r) say(`    ${f.side}: nodes touched ${f.nodesTouched}/${f.nodes}, whole free ${f.wholeFreeNodes}, 8-GPU pods placed ${f.eightGpuPodsPlaced}`);
          }
        } finally {
          await ours.stop();
        }
      }
      if (opts.parts.includes("competing")) {
        const ours = await startOurs({ kubeConfig, qps: 1000, burst: 1000, setup: "gang", say });
        try {
          const common = { seed: opts.seed, count: opts.competingGangs, deadlineMs: 420_000, say };
          const runs = await Promise.all([
            attempt(`competing gangs: ours, kubeloop PodGroups, ${opts.competingGangs} gangs, seed ${opts.seed}`, () =>
              runCompetingGangs(admin, plane.kubeconfigPath, { ...common, side: "ours", api: "kubeloop", schedulerName: DEFAULT_SCHEDULER_NAME, namespace: "bench-competing-ours", poolId: "compete-ours" })),
            attempt(`competing gangs: ours, native PodGroups, ${opts.competingGangs} gangs, seed ${opts.seed}`, () =>
              runCompetingGangs(admin, plane.kubeconfigPath, { ...common, side: "ours", api: "native", schedulerName: DEFAULT_SCHEDULER_NAME, namespace: "bench-competing-ours-native", poolId: "compete-ours-native" })),
            attempt(`competing gangs: kube-scheduler, native PodGroups, ${opts.competingGangs} gangs, seed ${opts.seed}`, () =>
              runCompetingGangs(admin, plane.kubeconfigPath, { ...common, side: "kube-scheduler", api: "native", schedulerName: KUBE_SCHEDULER_DEFAULT, namespace: "bench-competing-kube", poolId: "compete-kube" })),
          ]);
          for (const r of runs) {
            if (!r) continue;
            results.competing.push(r);
            say(`    ${r.side} (${r.api}): ${r.bound}/${r.gangs} gangs bound, ${r.partialGroups} partial, ${r.deadlocked} deadlocked, ${r.seconds.toFixed(0)}s`);
          }
        } finally {
          await ours.stop();
        }
      }
    } finally {
      await reference?.stop();
    }
  } catch (err) {
    results.errors.push(`scheduling suite: ${(err as Error).stack ?? String(err)}`);
    say(`FAILED scheduling suite: ${(err as Error).message}`);
  } finally {
    admin.close();
    say("stopping the scheduling control plane");
    await plane.stop({ removeData: true }).catch((err: Error) => results.errors.push(`stopping the scheduling control plane: ${err.message}`));
    await rm(dir, { recursive: true, force: true });
  }
  return results;
}
