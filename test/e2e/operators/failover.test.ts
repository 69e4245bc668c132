/**
 * High availability as the chart deploys it: two operator processes (`node operators/main.ts`
 * with the chart's flags, a 15 s / 10 s / 2 s Lease) against the real control plane.
 * - kill -9 of the leader in the middle of a 1000-pod scale-up: the standby takes the Lease once
 *   it expires and finishes the scale-up; no key is lost (the ReplicaSet converges), no pod is
 *   created twice (the pods a watch sees never exceed the replicas, and nothing is deleted), and
 *   the killed process is gone before the take-over;
 * - SIGTERM to the leader: it releases the Lease (client-go `ReleaseOnCancel`) and exits 0, and
 *   the standby takes over within about two retry periods.
 * The take-over times are printed as test diagnostics (`take-over after kill -9: ...`) and are
 * checked only against the Lease's own bounds. The pods name a scheduler nobody runs, so they
 * stay Pending and load neither kube-scheduler nor kwok. Needs a cluster (`KUBECONFIG`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Leases, Pods, type Lease } from "../../../framework/meta/index.ts";
import { waitFor } from "../../../framework/testing/index.ts";
import { ReplicaSetDefinition, ReplicaSets } from "../../../operators/replicaset/index.ts";
import { startOperator, type OperatorProcess } from "../support/operator-process.ts";
import { replicaSetCrds, useTestNamespace } from "../support/test-namespace.ts";

const env = useTestNamespace("kubeloop-failover", { crds: replicaSetCrds() });
const LEASE_DURATION_MS = 15_000;
const RETRY_PERIOD_MS = 2_000;
const REPLICAS = 1000;
/** The chart's flags, plus a client limit that makes the scale-up last long enough to kill the leader in its middle. */
const flags = ["--kube-api-qps=100", "--kube-api-burst=100"];

/** Polls the Lease every 100 ms until `holder` holds it; resolves with the wall time it was first seen so. */
async function heldBy(lease: string, holder: string, timeoutMs: number): Promise<number> {
  await waitFor(async () => {
    const l: Lease | undefined = await env.client.get(Leases, { namespace: env.namespace, name: lease }).catch(() => undefined);
    return l?.spec?.holderIdentity === holder || undefined;
  }, { timeoutMs, intervalMs: 100, description: `Lease ${lease} to be held by ${holder}` });
  return Date.now();
}

/** Pods seen by a watch of the namespace: names ever ADDED, DELETED count, and the most that existed at once. */
function watchPods(signal: AbortSignal) {
  const seen = { added: new Set<string>(), deleted: 0, most: 0 };
  const done = (async () => {
    for await (const e of env.client.watch(Pods, { namespace: env.namespace, signal })) {
      if (e.type === "ERROR") throw new Error(`pod watch: ${JSON.stringify(e.object)}`);
      const name = e.object.metadata?.name ?? "";
      if (e.type === "ADDED") seen.added.add(name);
      if (e.type === "DELETED") seen.deleted++;
      seen.most = Math.max(seen.most, seen.added.size - seen.deleted);
    }
  })().catch((err: unknown) => {
    if (!signal.aborted) throw err;
  });
  return { seen, done };
}

function stopAll(ops: OperatorProcess[]): void {
  for (const op of ops) if (op.child.exitCode === null && op.child.signalCode === null) op.child.kill("SIGKILL");
}

/**
 * Starts operator-a, waits until it holds `lease`, then starts operator-b (as the second replica
 * of a rollout would) and waits until b has read the Lease and seen a lead. Both are pushed to
 * `started` as they start, for the caller's cleanup.
 */
async function startLeaderAndStandby(lease: string, started: OperatorProcess[]): Promise<{ leader: OperatorProcess; standby: OperatorProcess }> {
  const { namespace, kubeconfigPath } = env;
  const leader = startOperator({ kubeconfigPath, namespace, leaseId: lease, identity: "operator-a", extraArgs: flags });
  started.push(leader);
  await heldBy(lease, "operator-a", 60_000);
  const standby = startOperator({ kubeconfigPath, namespace, leaseId: lease, identity: "operator-b", extraArgs: flags });
  started.push(standby);
  await waitFor(async () => /new leader observed/.test(standby.stderr) || undefined, {
    timeoutMs: 60_000, intervalMs: 100, description: "the standby to have read the Lease and seen operator-a lead",
  });
  return { leader, standby };
}

test("kill -9 of the leader mid scale-up: the standby takes over after the Lease expires, no key lost, no pod created twice", { timeout: 240_000 }, async (t) => {
  const { client, namespace } = env;
  const lease = "kubeloop-failover-kill";
  const started: OperatorProcess[] = [];
  const watchStop = new AbortController();
  try {
    const { leader: a, standby } = await startLeaderAndStandby(lease, started);
    const pods = watchPods(watchStop.signal);
    await new Promise((r) => setTimeout(r, 500)); // the watch is established
    const rs = ReplicaSetDefinition.make({
      metadata: { name: "web", namespace },
      spec: {
        replicas: REPLICAS, selector: { matchLabels: { app: "web" } },
        template: { metadata: { labels: { app: "web" } }, spec: { schedulerName: "nobody-schedules-these", containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }] } },
      },
    });
    await client.create(ReplicaSets, rs);
    await waitFor(async () => pods.seen.added.size >= 300 || undefined, { timeoutMs: 60_000, intervalMs: 10, description: "300 pods created by the leader" });
    a.child.kill("SIGKILL");
    const killedAtMs = Date.now();
    const atKill = pods.seen.added.size;
    assert.ok(atKill < REPLICAS, `the leader was killed mid scale-up (${atKill} of ${REPLICAS} pods)`);
    await a.exited;

    const takenAtMs = await heldBy(lease, "operator-b", LEASE_DURATION_MS + 4 * RETRY_PERIOD_MS + 10_000);
    const takeOverMs = takenAtMs - killedAtMs;
    const converged = await waitFor(async () => {
      const now = await client.get(ReplicaSets, { namespace, name: "web" });
      return now.status?.replicas === REPLICAS && (now.status.observedGeneration ?? 0) >= (now.metadata?.generation ?? 1) ? now : undefined;
    }, { timeoutMs: 120_000, intervalMs: 200, description: `the ReplicaSet to report ${REPLICAS} replicas` });
    const convergedMs = Date.now() - killedAtMs;
    await waitFor(async () => pods.seen.added.size >= REPLICAS || undefined, { timeoutMs: 10_000, description: "the watch to catch up" });
    await new Promise((r) => setTimeout(r, 3_000)); // any extra create or delete would show by now

    t.diagnostic(`take-over after kill -9: ${(takeOverMs / 1000).toFixed(1)} s (Lease ${LEASE_DURATION_MS / 1000} s, retry ${RETRY_PERIOD_MS / 1000} s); killed at ${atKill}/${REPLICAS} pods; converged ${(convergedMs / 1000).toFixed(1)} s after the kill`);
    assert.ok(a.exitedAtMs! <= takenAtMs, "the killed leader was gone before the take-over");
    assert.ok(takeOverMs <= LEASE_DURATION_MS + 2 * RETRY_PERIOD_MS + 3_000, `take-over ${takeOverMs} ms: within the Lease duration and two retry periods`);
    assert.equal(converged.status?.replicas, REPLICAS);
    assert.equal(pods.seen.added.size, REPLICAS, "exactly one pod created per replica: none twice");
    assert.equal(pods.seen.most, REPLICAS, "never more pods than replicas");
    assert.equal(pods.seen.deleted, 0, "nothing created in excess, so nothing deleted");
    assert.equal((await client.list(Pods, { namespace })).items.length, REPLICAS);
    assert.match(standby.stderr, /successfully acquired lease/, "the standby logged its take-over");
  } finally {
    watchStop.abort();
    stopAll(started);
  }
});

test("SIGTERM to the leader: it releases the Lease and exits 0; the standby takes over within about two retry periods", { timeout: 120_000 }, async (t) => {
  const lease = "kubeloop-failover-term";
  const started: OperatorProcess[] = [];
  try {
    const { leader: a } = await startLeaderAndStandby(lease, started);
    a.child.kill("SIGTERM");
    const termAtMs = Date.now();
    const takenAtMs = await heldBy(lease, "operator-b", LEASE_DURATION_MS + 10_000);
    const code = await a.exited;
    const takeOverMs = takenAtMs - termAtMs;
    t.diagnostic(`take-over after SIGTERM: ${(takeOverMs / 1000).toFixed(1)} s (retry period ${RETRY_PERIOD_MS / 1000} s)`);
    assert.equal(code, 0, `the old leader exits 0 on SIGTERM; stderr:\n${a.stderr.slice(-2000)}`);
    assert.match(a.stderr, /released the lease/, "the old leader released the Lease");
    assert.ok(takeOverMs <= 2 * RETRY_PERIOD_MS + 3_000, `take-over ${takeOverMs} ms after SIGTERM: about two retry periods, not a Lease duration`);
  } finally {
    stopAll(started);
  }
});
