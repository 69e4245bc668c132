/**
 * A seeded randomized run of competing gangs (issue 6 §4), the generator and the observation loop
 * of `test/e2e/operators/gang-scheduling/randomized.test.ts` as a module: `count` gangs of 2..6
 * pods of 1..3 CPUs, all PodGroups created first, then every member in one seeded interleaved
 * order, on a pool of 4 kwok nodes × 8 CPUs (room for a few gangs at a time). Observed every
 * 250 ms: a group seen with 0 < bound < minMember is looked at again 2 s later (its binds are
 * separate requests) and counted partial if it still is. Whenever the placements have not changed
 * for 1.5 s, the bound gangs "finish" (their pods are deleted), which frees room; a gang never
 * bound by the deadline is a deadlock.
 *
 * Groups are kubeloop PodGroups (label `scheduling.kubeloop.dev/pod-group`) or native
 * `scheduling.k8s.io/v1alpha2` PodGroups (`spec.schedulingGroup`), so kube-scheduler's native gang
 * scheduling can run the same sequence.
 */
import type { KubeClient } from "../../framework/client/index.ts";
import { Pods, type Pod } from "../../framework/meta/index.ts";
import { createFakeNodes, seededRandom } from "../../framework/testing/index.ts";
import { NativePodGroups, POD_GROUP_LABEL, PodGroupDefinition, PodGroups, type NativePodGroup } from "../../operators/gang-scheduling/index.ts";
import { ensureNamespace } from "./cluster.ts";


/** A gang of the run: `size` members (minMember = size), each asking for `cpu` CPUs. */
export interface Gang {
  name: string;
  size: number;
  cpu: number;
}

/** The gangs and the seeded order their members are created in. */
export function competingGangs(seed: number, count: number): { gangs: Gang[]; members: Array<{ gang: Gang; pod: string }> } {
  const rand = seededRandom(seed);
  const gangs = Array.from({ length: count }, (_, i) => ({ name: `g${i}`, size: 2 + Math.floor(rand() * 5), cpu: 1 + Math.floor(rand() * 3) }));
  const members = gangs.flatMap((gang) => Array.from({ length: gang.size }, (_, i) => ({ gang, pod: `${gang.name}-${i}` })));
  for (let i = members.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [members[i], members[j]] = [members[j]!, members[i]!];
  }
  return { gangs, members };
}

/** What one randomized run observed. */
export interface CompetingGangsResult {
  side: string;
  api: "kubeloop" | "native";
  seed: number;
  /** The kwok nodes of the pool (the caller deletes them). */
  nodes: string[];
  gangs: number;
  pods: number;
  /** Gangs seen fully bound at some point. */
  bound: number;
  /** Groups still partially bound 2 s after being seen so. */
  partialGroups: number;
  /** Gangs never bound by the deadline. */
  deadlocked: number;
  /** Observations that caught a group between its binds (it completed within 2 s). */
  transientObservations: number;
  seconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs the sequence for `schedulerName` in `namespace` on a fresh pool of 4 × 8-CPU kwok nodes
 * (`poolId` names them); the scheduler must be running. Never throws on a partial group or a
 * deadlock: it counts them. The e2e test `gang-scheduling/randomized.test.ts` runs it too and
 * asserts none.
 */
export async function runCompetingGangs(admin: KubeClient, kubeconfigPath: string, opts: {
  side: string; api: "kubeloop" | "native"; schedulerName: string; namespace: string; poolId: string;
  seed: number; count: number; deadlineMs: number; say: (line: string) => void;
}): Promise<CompetingGangsResult> {
  const { namespace } = opts;
  await ensureNamespace(admin, namespace);
  const pool = { "kubeloop.dev/bench-pool": opts.poolId };
  const nodes = await createFakeNodes(kubeconfigPath, { count: 4, cpu: "8", namePrefix: `${opts.poolId}-`, labels: pool }, { timeoutMs: 120_000 });
  const { gangs, members } = competingGangs(opts.seed, opts.count);
  for (const g of gangs) {
    if (opts.api === "kubeloop") {
      await admin.create(PodGroups, PodGroupDefinition.make({ metadata: { name: g.name, namespace }, spec: { minMember: g.size } }));
    } else {
      const pg: NativePodGroup = { apiVersion: "scheduling.k8s.io/v1alpha2", kind: "PodGroup", metadata: { name: g.name, namespace }, spec: { schedulingPolicy: { gang: { minCount: g.size } } } };
      await admin.create(NativePodGroups, pg);
    }
  }
  const started = performance.now();
  for (const m of members) {
    const pod: Pod = {
      apiVersion: "v1", kind: "Pod",
      metadata: { name: m.pod, namespace, labels: { [POD_GROUP_LABEL]: m.gang.name } },
      spec: {
        schedulerName: opts.schedulerName, terminationGracePeriodSeconds: 0, nodeSelector: pool,
        containers: [{ name: "c", image: "registry.k8s.io/pause:3.10", resources: { requests: { cpu: String(m.gang.cpu) } } }],
        // The label names the kubeloop group; for the native run the label is inert (no kubeloop PodGroup exists) and
        // kube-scheduler and ours read spec.schedulingGroup.
        ...(opts.api === "native" ? { schedulingGroup: { podGroupName: m.gang.name } } : {}),
      } as Pod["spec"],
    };
    if (opts.api === "native") delete pod.metadata!.labels;
    await admin.create(Pods, pod);
  }

  const size = new Map(gangs.map((g) => [g.name, g.size]));
  const groupOf = (p: Pod): string | undefined =>
    p.metadata?.labels?.[POD_GROUP_LABEL] ?? (p.spec as { schedulingGroup?: { podGroupName?: string } } | undefined)?.schedulingGroup?.podGroupName;
  const everBound = new Set<string>();
  let partials = 0;
  let transient = 0;
  let lastSignature = "";
  let stableSinceMs = Date.now();
  const deadline = Date.now() + opts.deadlineMs;
  let lastSaid = Date.now();
  while (everBound.size < gangs.length && Date.now() < deadline) {
    const pods = (await admin.list(Pods, { namespace })).items.filter((p) => !p.metadata?.deletionTimestamp);
    const bound = new Map<string, number>();
    for (const p of pods) {
      const g = groupOf(p);
      if (g && p.spec?.nodeName) bound.set(g, (bound.get(g) ?? 0) + 1);
    }
    for (const [g, n] of bound) {
      if (n < size.get(g)!) {
        await sleep(2000);
        const again = (await admin.list(Pods, { namespace })).items
          .filter((p) => groupOf(p) === g && !p.metadata?.deletionTimestamp && p.spec?.nodeName).length;
        if (again < size.get(g)!) {
          partials++;
          opts.say(`    ${opts.side}: PodGroup ${g} partially bound: ${n}/${size.get(g)}, still ${again} 2 s later`);
        } else transient++;
      }
      everBound.add(g);
    }
    const signature = [...bound.keys()].sort().join(",");
    if (signature !== lastSignature) {
      lastSignature = signature;
      stableSinceMs = Date.now();
    } else if (bound.size > 0 && Date.now() - stableSinceMs > 1500) {
      for (const g of bound.keys()) {
        for (let i = 0; i < size.get(g)!; i++) await admin.delete(Pods, { namespace, name: `${g}-${i}` }, { gracePeriodSeconds: 0 }).catch(() => {});
      }
      lastSignature = "";
    }
    if (Date.now() - lastSaid > 15_000) {
      opts.say(`    ${opts.side}: ${everBound.size}/${gangs.length} gangs bound so far`);
      lastSaid = Date.now();
    }
    await sleep(250);
  }
  const deadlocked = gangs.length - everBound.size;
  if (deadlocked > 0) opts.say(`    ${opts.side}: never bound: ${gangs.filter((g) => !everBound.has(g.name)).map((g) => g.name).join(", ")}`);
  return {
    side: opts.side, api: opts.api, seed: opts.seed, nodes, gangs: gangs.length, pods: members.length, bound: everBound.size,
    partialGroups: partials, deadlocked, transientObservations: transient, seconds: (performance.now() - started) / 1000,
  };
}
