/**
 * Losing the lease stops all work at once, on the real control plane: the ReplicaSet operator
 * runs in a `Manager` at `kubeApiQps: 20` scaling a ReplicaSet to 500 (hundreds of creates
 * queued in flight), and another holder takes its Lease midway. The old leader sees it at its
 * next renewal, `start` rejects with `LeaderElectionLostError`, and from then on the API server
 * sees no write from it: no pod, no Event, and the Lease stays the new holder's. Needs a cluster
 * (`KUBELOOP_CLUSTER_DIR` or `KUBECONFIG`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { pino } from "pino";
import { LeaderElectionLostError, Manager } from "../../../framework/manager/index.ts";
import { Leases, Pods, type KubeObject, type ResourceType } from "../../../framework/meta/index.ts";
import { waitFor } from "../../../framework/testing/index.ts";
import { ReplicaSets, setupReplicaSetController } from "../../../operators/replicaset/index.ts";
import { pauseReplicaSet, replicaSetCrds, useTestNamespace } from "../support/test-namespace.ts";

const Events: ResourceType = { group: "events.k8s.io", version: "v1", kind: "Event", plural: "events", namespaced: true, apiVersion: "events.k8s.io/v1" };
const LEASE = "kubeloop-lease-loss";
const env = useTestNamespace("kubeloop-lease-loss", { crds: replicaSetCrds() });

/**
 * Every write the watch sees on objects of `type` in the namespace (creations, and updates when
 * `updates`) that `mine` accepts, with the wall time it arrived.
 */
function recordWrites(
  type: ResourceType, signal: AbortSignal, opts: { updates?: boolean; mine?: (o: KubeObject) => boolean } = {},
): { created: Array<{ name: string; atMs: number }>; done: Promise<void> } {
  const created: Array<{ name: string; atMs: number }> = [];
  const done = (async () => {
    for await (const e of env.client.watch<KubeObject>(type, { namespace: env.namespace, signal })) {
      if (e.type !== "ADDED" && !(opts.updates && e.type === "MODIFIED")) continue;
      if (opts.mine && !opts.mine(e.object)) continue;
      created.push({ name: `${e.type} ${e.object.metadata?.name ?? ""}`, atMs: Date.now() });
    }
  })().catch((err: unknown) => {
    if (!signal.aborted) throw err;
  });
  return { created, done };
}

test("a leader whose Lease is taken stops at once: no pod, Event or Lease write reaches the API server after the loss", { timeout: 240_000 }, async () => {
  const { client, kubeConfig, namespace } = env;
  // The manager's log tells when it saw the loss.
  let lostAtMs: number | undefined;
  const log = pino({ level: "info" }, new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (lostAtMs === undefined && chunk.toString("utf8").includes("leadership lost")) lostAtMs = Date.now();
      cb();
    },
  }));
  const mgr = new Manager({
    kubeConfig, log, name: "old-leader", kubeApiQps: 20, kubeApiBurst: 30, metricsBindAddress: "0", healthProbeBindAddress: "0",
    leaderElection: { id: LEASE, namespace, identity: "old-leader", leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 },
  });
  setupReplicaSetController(mgr);
  const watchStop = new AbortController();
  const pods = recordWrites(Pods, watchStop.signal);
  // The operator's Events are about the ReplicaSet (the scheduler and kwok report on the pods);
  // the recorder also updates an Event's series, so updates count too.
  const events = recordWrites(Events, watchStop.signal, {
    updates: true, mine: (e) => (e as KubeObject & { regarding?: { kind?: string } }).regarding?.kind === "ReplicaSet",
  });
  let rejectedAtMs: number | undefined;
  const running = mgr.start(new AbortController().signal).then(
    () => assert.fail("start resolved; it must reject when the lease is lost"),
    (err: unknown) => {
      rejectedAtMs = Date.now();
      return err;
    },
  );
  try {
    await mgr.elected();
    await client.create(ReplicaSets, pauseReplicaSet("busy", namespace, 500));
    await waitFor(async () => pods.created.length >= 100 || undefined, { timeoutMs: 60_000, intervalMs: 100, description: "100 pods created" });

    // Another holder takes the Lease (as a standby would once it thinks it expired).
    const lease = await client.get(Leases, { namespace, name: LEASE });
    const stolen = await client.update(Leases, {
      ...lease, spec: { ...lease.spec, holderIdentity: "new-leader", leaseDurationSeconds: 3600, leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + 1 },
    });
    const stolenAtMs = Date.now();
    const err = await running;
    assert.ok(err instanceof LeaderElectionLostError, `start rejected with ${String(err)}`);
    assert.ok(lostAtMs !== undefined, "the loss was logged");
    // Watch for writes a while longer: at 20 qps, 400 more creates were still to go.
    await new Promise((r) => setTimeout(r, 6_000));
    watchStop.abort();
    await Promise.all([pods.done, events.done]);

    const podsBefore = pods.created.filter((p) => p.atMs <= stolenAtMs).length;
    const lastPodMs = Math.max(...pods.created.map((p) => p.atMs));
    const lastEventMs = Math.max(0, ...events.created.map((e) => e.atMs));
    assert.ok(events.created.length > 0, "the operator's Events are seen (the filter is right)");
    const report = {
      lossSeenAfterStealMs: lostAtMs! - stolenAtMs, startRejectedAfterLossMs: rejectedAtMs! - lostAtMs!,
      podsAtSteal: podsBefore, podsTotal: pods.created.length, lastPodAfterLossMs: lastPodMs - lostAtMs!, operatorEventWrites: events.created.length, lastEventAfterLossMs: lastEventMs - lostAtMs!,
    };
    process.stderr.write(`[lease-loss] ${JSON.stringify(report)}\n`);
    assert.ok(lostAtMs! - stolenAtMs <= 2_000 + 3_000, `seen at the next renewal (retry period 2 s), not at the renew deadline: ${lostAtMs! - stolenAtMs} ms`);
    assert.ok(rejectedAtMs! - lostAtMs! <= 3_000, `start rejected at once, without a graceful shutdown: ${rejectedAtMs! - lostAtMs!} ms`);
    assert.ok(pods.created.length < 500, "the operator had work left when it lost the lease");
    // Requests already on the wire when the loss was seen may still land; nothing sent later does.
    const grace = 1_000;
    assert.deepEqual(pods.created.filter((p) => p.atMs > lostAtMs! + grace), [], "no pod created after the loss");
    assert.deepEqual(events.created.filter((e) => e.atMs > lostAtMs! + grace), [], "no Event created after the loss");
    const after = await client.get(Leases, { namespace, name: LEASE });
    assert.equal(after.metadata?.resourceVersion, stolen.metadata?.resourceVersion, "the old leader neither renewed nor released the new holder's Lease");
    assert.equal(after.spec?.holderIdentity, "new-leader");
    assert.equal(mgr.isLeader(), false);
  } finally {
    watchStop.abort();
  }
});
