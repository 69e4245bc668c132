/**
 * Leader election is not held up by the data plane's client-side rate limit: the operator
 * process (`node operators/main.ts`) at `--kube-api-qps=20 --kube-api-burst=30` scales a
 * ReplicaSet from 0 to 500 pods (about 25 s of creates queued behind the token bucket) while it
 * holds a 15 s / 10 s / 2 s Lease, and keeps the Lease the whole time: one holder, no
 * transition, a renewal every retry period. Watches the Lease and reports the measured renewal
 * gaps and latencies. Needs a cluster: `KUBECONFIG` (set by `test/run.ts`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Leases, Pods, type Lease } from "../../../framework/meta/index.ts";
import { pickFreePorts, waitFor } from "../../../framework/testing/index.ts";
import { ReplicaSets } from "../../../operators/replicaset/index.ts";
import { parseOperatorFlags } from "../../../operators/main.ts";
import { startOperator } from "../support/operator-process.ts";
import { pauseReplicaSet, replicaSetCrds, useTestNamespace } from "../support/test-namespace.ts";

const LEASE = "kubeloop-lease-under-load";
const REPLICAS = 500;
const env = useTestNamespace("kubeloop-lease-load", { crds: replicaSetCrds() });

/** One observed version of the Lease: what it says, and when (wall ms) the watch delivered it. */
interface Observation {
  atMs: number;
  holder: string;
  transitions: number;
  renewMs: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

test("--kube-api-qps and --kube-api-burst parse as kube-controller-manager's flags (0: no client-side limit)", () => {
  const flags = parseOperatorFlags(["--kube-api-qps=20", "--kube-api-burst=30"]);
  assert.equal(flags.kubeApiQps, 20);
  assert.equal(flags.kubeApiBurst, 30);
  assert.equal(parseOperatorFlags([]).kubeApiQps, 0, "no client-side limit by default");
  assert.equal(parseOperatorFlags(["--kube-api-qps=0.5"]).kubeApiQps, 0.5);
  assert.throws(() => parseOperatorFlags(["--kube-api-qps=-1"]), /--kube-api-qps=-1: want a non-negative number/);
  assert.throws(() => parseOperatorFlags(["--kube-api-burst=1.5"]), /--kube-api-burst=1\.5: want a non-negative integer/);
});

test("at --kube-api-qps=20 the operator scales a ReplicaSet 0 -> 500 and keeps its 15/10/2 s Lease throughout", { timeout: 300_000 }, async () => {
  const { client, namespace, kubeconfigPath } = env;
  const [metricsPort, healthPort] = await pickFreePorts(2);
  const identity = "operator-under-load-0";
  const op = startOperator({
    kubeconfigPath, namespace, leaseId: LEASE, identity,
    metricsBindAddress: `127.0.0.1:${metricsPort}`, healthProbeBindAddress: `127.0.0.1:${healthPort}`,
    extraArgs: ["--kube-api-qps=20", "--kube-api-burst=30"],
  });
  const childGone = new AbortController();
  op.child.on("exit", (code) => childGone.abort(new Error(`the operator exited with ${code}; stderr:\n${op.stderr.slice(-3000)}`)));
  const watchStop = new AbortController();
  const observations: Observation[] = [];
  try {
    const lease = await waitFor(async () => {
      const l = await client.get(Leases, { namespace, name: LEASE }).catch(() => undefined);
      return l?.spec?.holderIdentity ? l : undefined;
    }, { timeoutMs: 60_000, description: "the operator to hold the Lease" });
    assert.equal(lease.spec?.holderIdentity, identity);
    const record = (l: Lease) => observations.push({
      atMs: Date.now(), holder: l.spec?.holderIdentity ?? "", transitions: l.spec?.leaseTransitions ?? 0, renewMs: Date.parse(l.spec?.renewTime ?? ""),
    });
    record(lease);
    const watching = (async () => {
      for await (const e of client.watch(Leases, { namespace, fieldSelector: `metadata.name=${LEASE}`, resourceVersion: lease.metadata?.resourceVersion, signal: watchStop.signal })) {
        if (e.type === "ADDED" || e.type === "MODIFIED" || e.type === "DELETED") record(e.object);
      }
    })().catch((err: unknown) => {
      if (!watchStop.signal.aborted) throw err;
    });

    await client.create(ReplicaSets, pauseReplicaSet("load", namespace, 0));
    await new Promise((r) => setTimeout(r, 3_000));
    const rs = await client.get(ReplicaSets, { namespace, name: "load" });
    const scaledAtMs = Date.now();
    await client.update(ReplicaSets, { ...rs, spec: { ...rs.spec!, replicas: REPLICAS } });
    await waitFor(async () => {
      const n = (await client.list(Pods, { namespace, labelSelector: "app=load" })).items.length;
      return n >= REPLICAS ? n : undefined;
    }, { timeoutMs: 180_000, intervalMs: 500, description: `${REPLICAS} pods of the ReplicaSet`, signal: childGone.signal });
    const createdInMs = Date.now() - scaledAtMs;
    // Two more renewals after the burst, then stop watching.
    await new Promise((r) => setTimeout(r, 5_000));
    watchStop.abort();
    await watching;

    assert.equal(op.exitedAtMs, undefined, `the operator is still running; stderr:\n${op.stderr.slice(-3000)}`);
    assert.ok(createdInMs >= ((REPLICAS - 30) / 20) * 1000 * 0.9, `the creates were held by the client-side limit (${createdInMs} ms for ${REPLICAS})`);
    const holders = new Set(observations.map((o) => o.holder));
    assert.deepEqual([...holders], [identity], "one holder the whole time");
    assert.deepEqual([...new Set(observations.map((o) => o.transitions))], [0], "no leader transition");
    const during = observations.filter((o) => o.atMs >= scaledAtMs && o.atMs <= scaledAtMs + createdInMs);
    const gaps = observations.slice(1).map((o, i) => o.renewMs - observations[i]!.renewMs).filter((g) => g > 0).sort((a, b) => a - b);
    const latencies = observations.slice(1).map((o) => o.atMs - o.renewMs).sort((a, b) => a - b);
    const report = {
      podsCreatedInMs: createdInMs, renewalsSeen: observations.length - 1, renewalsDuringBurst: during.length,
      renewGapMs: { p50: percentile(gaps, 50), max: gaps.at(-1) }, renewLatencyMs: { p50: percentile(latencies, 50), p90: percentile(latencies, 90), max: latencies.at(-1) },
    };
    process.stderr.write(`[lease-under-load] ${JSON.stringify(report)}\n`);
    assert.ok(during.length >= Math.floor(createdInMs / 1000 / 2) - 2, `a renewal every ~2 s during the burst (${during.length} in ${createdInMs} ms)`);
    // A renewal queued behind the creates would leave a gap of ~(500 - 30) / 20 s = 23.5 s.
    assert.ok(gaps.at(-1)! <= 5_000, `no renewal waited behind the data plane: longest gap ${gaps.at(-1)} ms (retry period 2000 ms)`);
    assert.doesNotMatch(op.stderr, /leadership lost/);
  } finally {
    watchStop.abort();
    op.child.kill("SIGTERM");
  }
  assert.equal(await op.exited, 0, `exit code after SIGTERM; stderr:\n${op.stderr.slice(-3000)}`);
});
