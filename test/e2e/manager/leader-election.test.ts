/**
 * Two managers with leader election on one coordination.k8s.io/v1 Lease: only the leader
 * reconciles; when it stops (releasing the lease), the standby takes over and reconciles; the
 * `leader_election_master_status` gauge follows. Needs a cluster (`KUBELOOP_CLUSTER_DIR` or
 * `KUBECONFIG`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { controllerFor } from "../../../framework/controller/index.ts";
import { Manager } from "../../../framework/manager/index.ts";
import { ConfigMaps, Leases } from "../../../framework/meta/index.ts";
import { waitFor } from "../../../framework/testing/index.ts";
import { useTestNamespace } from "../support/test-namespace.ts";

const env = useTestNamespace("kubeloop-le-e2e");

const log = pino({ level: "silent" });

test("only the leader reconciles; the standby takes over when the leader stops", async () => {
  const { client, namespace, kubeConfig } = env;
  const reconciledBy: string[] = [];
  const managers = ["alpha", "beta"].map((name) => {
    const mgr = new Manager({
      kubeConfig, log, name, metricsBindAddress: "127.0.0.1:0", healthProbeBindAddress: "0",
      leaderElection: { id: "e2e-controller", namespace, identity: name, leaseDurationSeconds: 6, renewDeadlineSeconds: 4, retryPeriodSeconds: 0.5 },
    });
    controllerFor(mgr, ConfigMaps, { informer: { namespace } }).complete(async (req) => {
      reconciledBy.push(`${name}:${req.name}`);
    });
    return { name, mgr, stop: new AbortController(), running: undefined as Promise<void> | undefined };
  });
  const [alpha, beta] = managers as [typeof managers[0], typeof managers[0]];
  const gauge = async (m: Manager) =>
    /leader_election_master_status\{name="e2e-controller"\} (\d)/.exec(await (await fetch(`http://${m.metricsAddress()}/metrics`)).text())?.[1];
  try {
    alpha.running = alpha.mgr.start(alpha.stop.signal);
    await waitFor(async () => alpha.mgr.isLeader(), { timeoutMs: 30_000, description: "alpha leads" });
    beta.running = beta.mgr.start(beta.stop.signal);
    await waitFor(async () => beta.mgr.metricsAddress(), { timeoutMs: 10_000, description: "beta serves metrics" });

    await client.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "one", namespace } });
    await waitFor(async () => reconciledBy.includes("alpha:one"), { timeoutMs: 20_000, description: "the leader reconciles" });
    const lease = await client.get(Leases, { namespace, name: "e2e-controller" });
    assert.equal(lease.spec?.holderIdentity, "alpha");
    assert.equal(await gauge(alpha.mgr), "1");
    assert.equal(await gauge(beta.mgr), "0");
    // Give the standby several retry periods: it must neither lead nor reconcile.
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(beta.mgr.isLeader(), false);
    assert.deepEqual(reconciledBy.filter((r) => r.startsWith("beta:")), []);

    alpha.stop.abort();
    await alpha.running;
    await waitFor(async () => beta.mgr.isLeader(), { timeoutMs: 30_000, description: "beta takes over" });
    await waitFor(async () => reconciledBy.includes("beta:one"), { timeoutMs: 20_000, description: "the new leader reconciles existing objects" });
    await client.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "two", namespace } });
    await waitFor(async () => reconciledBy.includes("beta:two"), { timeoutMs: 20_000, description: "the new leader reacts to changes" });
    assert.equal(reconciledBy.includes("alpha:two"), false, "the stopped leader does nothing");
    const after = await client.get(Leases, { namespace, name: "e2e-controller" });
    assert.equal(after.spec?.holderIdentity, "beta");
    assert.equal(after.spec?.leaseTransitions, 1);
    assert.equal(await gauge(beta.mgr), "1");
  } finally {
    for (const m of managers) {
      m.stop.abort();
      await m.running?.catch(() => {});
    }
  }
});
