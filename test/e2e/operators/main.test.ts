/**
 * The operator process as the container image and the Helm chart start it (`node
 * operators/main.ts` with the chart's flags): it takes the leader Lease, reconciles a
 * ReplicaSet, serves /healthz, /readyz and /metrics on the given addresses, and on SIGTERM
 * releases the Lease and exits 0. Needs a cluster: `KUBECONFIG` (set by `test/run.ts`).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { KubeClient } from "../../../framework/client/index.ts";
import { Leases, Pods } from "../../../framework/meta/index.ts";
import { createTestNamespace, deleteTestNamespace, pickFreePorts, testEnvironment, waitFor } from "../../../framework/testing/index.ts";
import { ReplicaSetDefinition, ReplicaSets } from "../../../operators/replicaset/index.ts";
import { installCustomResourceDefinitions } from "../../../framework/api/index.ts";

const main = fileURLToPath(new URL("../../../operators/main.ts", import.meta.url));
let client: KubeClient;
let kubeconfigPath: string;
let namespace: string;

before(async () => {
  const env = await testEnvironment();
  client = env.client;
  kubeconfigPath = env.plane.kubeconfigPath;
  await installCustomResourceDefinitions(client, [ReplicaSetDefinition.crd()], { fieldManager: "kubeloop-main-e2e" });
  namespace = await createTestNamespace(client, "kubeloop-main-e2e");
});

after(async () => {
  if (!client) return;
  if (namespace) await deleteTestNamespace(client, namespace);
  client.close();
});

async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, text: await res.text() };
}

test("operators/main.ts with the chart's flags leads, reconciles, serves probes and metrics, exits 0 on SIGTERM", { timeout: 180_000 }, async () => {
  const [metricsPort, healthPort] = await pickFreePorts(2);
  const child = spawn(process.execPath, [
    main, "--operators=replicaset", `--metrics-bind-address=127.0.0.1:${metricsPort}`,
    `--health-probe-bind-address=127.0.0.1:${healthPort}`, "--leader-elect=true", "--leader-election-id=kubeloop-main-e2e",
    `--leader-election-namespace=${namespace}`, "--lease-duration-seconds=15", "--renew-deadline-seconds=10",
    "--retry-period-seconds=2", "--log-level=info",
  ], { env: { ...process.env, KUBECONFIG: kubeconfigPath, POD_NAME: "operator-e2e-0" }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString("utf8"); });
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
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

    await client.create(ReplicaSets, ReplicaSetDefinition.make({
      metadata: { name: "from-main", namespace },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "from-main" } },
        template: { metadata: { labels: { app: "from-main" } }, spec: { containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }] } },
      },
    }));
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
    child.kill("SIGTERM");
  }
  assert.equal(await exited, 0, `exit code after SIGTERM; stderr:\n${stderr.slice(-4000)}`);
  const released = await client.get(Leases, { namespace, name: "kubeloop-main-e2e" });
  assert.ok(!released.spec?.holderIdentity, "the Lease is released on a graceful stop");
});

test("operators/main.ts exits 1 at its next renewal when another holder takes its Lease", { timeout: 120_000 }, async () => {
  const lease = "kubeloop-main-stolen";
  const child = spawn(process.execPath, [
    main, "--operators=replicaset", "--metrics-bind-address=0", "--health-probe-bind-address=0", "--leader-elect=true",
    `--leader-election-id=${lease}`, `--leader-election-namespace=${namespace}`, "--lease-duration-seconds=15",
    "--renew-deadline-seconds=10", "--retry-period-seconds=2", "--log-level=info",
  ], { env: { ...process.env, KUBECONFIG: kubeconfigPath, POD_NAME: "operator-stolen-0" }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString("utf8"); });
  let exitedAtMs = 0;
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => {
    exitedAtMs = Date.now();
    resolve(code);
  }));
  try {
    const held = await waitFor(async () => {
      const l = await client.get(Leases, { namespace, name: lease }).catch(() => undefined);
      return l?.spec?.holderIdentity === "operator-stolen-0" ? l : undefined;
    }, { timeoutMs: 60_000, description: "the operator to hold the Lease" });
    await client.update(Leases, { ...held, spec: { ...held.spec, holderIdentity: "someone-else", leaseDurationSeconds: 3600, leaseTransitions: 1 } });
    const stolenAtMs = Date.now();
    const code = await Promise.race([exited, new Promise<"running">((r) => setTimeout(() => r("running"), 8_000))]);
    assert.equal(code, 1, `exit code once the Lease is taken; stderr:\n${stderr.slice(-3000)}`);
    assert.ok(exitedAtMs - stolenAtMs <= 2_000 + 4_000, `exited ${exitedAtMs - stolenAtMs} ms after the Lease was taken (retry period 2 s)`);
    assert.match(stderr, /leadership lost: the lease is now held by \\"someone-else\\"/);
    const after = await client.get(Leases, { namespace, name: lease });
    assert.equal(after.spec?.holderIdentity, "someone-else", "the Lease is not released or renewed by the old leader");
  } finally {
    child.kill("SIGKILL");
  }
});
