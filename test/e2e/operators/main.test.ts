/**
 * The operator process as the container image and the Helm chart start it (`node
 * operators/main.ts` with the chart's flags): it takes the leader Lease, reconciles a
 * ReplicaSet, serves /healthz, /readyz and /metrics on the given addresses, and on SIGTERM
 * releases the Lease and exits 0. Needs a cluster: `KUBECONFIG` (set by `test/run.ts`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Leases, Pods } from "../../../framework/meta/index.ts";
import { pickFreePorts, waitFor } from "../../../framework/testing/index.ts";
import { ReplicaSets } from "../../../operators/replicaset/index.ts";
import { startOperator } from "../support/operator-process.ts";
import { pauseReplicaSet, replicaSetCrds, useTestNamespace } from "../support/test-namespace.ts";

const env = useTestNamespace("kubeloop-main-e2e", { crds: replicaSetCrds() });

async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, text: await res.text() };
}

test("operators/main.ts with the chart's flags leads, reconciles, serves probes and metrics, exits 0 on SIGTERM", { timeout: 180_000 }, async () => {
  const { client, namespace, kubeconfigPath } = env;
  const [metricsPort, healthPort] = await pickFreePorts(2);
  const op = startOperator({
    kubeconfigPath, namespace, leaseId: "kubeloop-main-e2e", identity: "operator-e2e-0",
    metricsBindAddress: `127.0.0.1:${metricsPort}`, healthProbeBindAddress: `127.0.0.1:${healthPort}`,
  });
  try {
    await waitFor(async () => (await get(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined))?.status === 200, {
      timeoutMs: 60_000, description: "/readyz to answer 200",
    });
    assert.equal((await get(`http://127.0.0.1:${healthPort}/healthz`)).status, 200);

    const lease = await waitFor(async () => {
      const l = await client.get(Leases, { namespace, name: "kubeloop-main-e2e" }).catch(() => undefined);
      return l?.spec?.holderIdentity ? l : undefined;
    }, { timeoutMs: 30_000, description: "the leader Lease to be held" });
    assert.equal(lease.spec?.holderIdentity, "operator-e2e-0", "POD_NAME is the leader identity, as the chart sets it");

    await client.create(ReplicaSets, pauseReplicaSet("from-main", namespace, 2));
    await waitFor(async () => {
      const pods = (await client.list(Pods, { namespace, labelSelector: "app=from-main" })).items;
      return pods.length === 2 ? pods : undefined;
    }, { timeoutMs: 60_000, description: "2 pods of the ReplicaSet" });

    const metrics = await get(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /controller_runtime_reconcile_total\{controller="replicaset",result="success"\} [1-9]/);
    assert.match(metrics.text, /workqueue_adds_total\{name="replicaset",controller="replicaset"\} [1-9]/);
    assert.match(metrics.text, /leader_election_master_status\{name="kubeloop-main-e2e"\} 1/);
  } finally {
    op.child.kill("SIGTERM");
  }
  assert.equal(await op.exited, 0, `exit code after SIGTERM; stderr:\n${op.stderr.slice(-4000)}`);
  const released = await client.get(Leases, { namespace, name: "kubeloop-main-e2e" });
  assert.ok(!released.spec?.holderIdentity, "the Lease is released on a graceful stop");
});

test("operators/main.ts exits 1 at its next renewal when another holder takes its Lease", { timeout: 120_000 }, async () => {
  const { client, namespace, kubeconfigPath } = env;
  const lease = "kubeloop-main-stolen";
  const op = startOperator({ kubeconfigPath, namespace, leaseId: lease, identity: "operator-stolen-0" });
  try {
    const held = await waitFor(async () => {
      const l = await client.get(Leases, { namespace, name: lease }).catch(() => undefined);
      return l?.spec?.holderIdentity === "operator-stolen-0" ? l : undefined;
    }, { timeoutMs: 60_000, description: "the operator to hold the Lease" });
    await client.update(Leases, { ...held, spec: { ...held.spec, holderIdentity: "someone-else", leaseDurationSeconds: 3600, leaseTransitions: 1 } });
    const stolenAtMs = Date.now();
    const code = await Promise.race([op.exited, new Promise<"running">((r) => setTimeout(() => r("running"), 8_000))]);
    assert.equal(code, 1, `exit code once the Lease is taken; stderr:\n${op.stderr.slice(-3000)}`);
    const exitedAfterMs = op.exitedAtMs! - stolenAtMs;
    assert.ok(exitedAfterMs <= 2_000 + 4_000, `exited ${exitedAfterMs} ms after the Lease was taken (retry period 2 s)`);
    assert.match(op.stderr, /leadership lost: the lease is now held by \\"someone-else\\"/);
    const after = await client.get(Leases, { namespace, name: lease });
    assert.equal(after.spec?.holderIdentity, "someone-else", "the Lease is not released or renewed by the old leader");
  } finally {
    op.child.kill("SIGKILL");
  }
});
