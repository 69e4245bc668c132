/**
 * The operator process with `--operators=gang-scheduling` (as the container image starts it): it
 * runs the kubeloop scheduler with the gang plugin and the PodGroup controller, so a gang binds
 * all at once and its PodGroup goes Running; it exits 0 on SIGTERM. Killed (SIGKILL) between the
 * binds of a gang, the restarted process binds the rest: the group ends all bound, never left
 * partly bound, and no node is overcommitted.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { KubeClient } from "../../../../framework/client/index.ts";
import { Pods } from "../../../../framework/meta/index.ts";
import { createFakeNodes, createTestNamespace, deleteFakeNodes, deleteTestNamespace, pickFreePorts, waitFor } from "../../../../framework/testing/index.ts";
import { PodGroups } from "../../../../operators/gang-scheduling/api.ts";
import { startOperator } from "../../support/operator-process.ts";
import { connect, gangPod, podGroup, TIMEOUT_MS } from "./harness.ts";

const main = fileURLToPath(new URL("../../../../operators/main.ts", import.meta.url));
let client: KubeClient;
let kubeconfigPath: string;
let ns: string;
const nodes: string[] = [];

before(async () => {
  let operatorClient: KubeClient;
  ({ client, kubeconfigPath, operatorClient } = await connect());
  operatorClient.close(); // The operator runs as its own process here, with the test's kubeconfig.
  ns = await createTestNamespace(client, "gang-main");
});

after(async () => {
  if (!client) return;
  if (ns) await deleteTestNamespace(client, ns);
  if (nodes.length) await deleteFakeNodes(kubeconfigPath, nodes).catch(() => {});
  client.close();
});

test("operators/main.ts --operators=gang-scheduling schedules a gang and keeps its PodGroup's phase", { timeout: 180_000 }, async () => {
  const id = randomBytes(3).toString("hex");
  nodes.push(...await createFakeNodes(kubeconfigPath, { count: 1, cpu: "4", namePrefix: `gang-main-${id}-`, labels: { "gang-e2e-pool": id } }));
  const [metricsPort, healthPort] = await pickFreePorts(2);
  const child = spawn(process.execPath, [
    main, "--operators=gang-scheduling", `--metrics-bind-address=127.0.0.1:${metricsPort}`, `--health-probe-bind-address=127.0.0.1:${healthPort}`,
  ], { env: { ...process.env, KUBECONFIG: kubeconfigPath }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString("utf8"); });
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  try {
    await client.create(PodGroups, podGroup(ns, "train", 3));
    for (let i = 0; i < 3; i++) await client.create(Pods, gangPod(ns, `w-${i}`, { group: "train", cpu: "1", nodeSelector: { "gang-e2e-pool": id } }));
    await waitFor(async () => {
      const ps = (await client.list(Pods, { namespace: ns })).items;
      return ps.filter((p) => p.spec?.nodeName).length === 3 ? true : undefined;
    }, { timeoutMs: TIMEOUT_MS, description: `3 pods bound by the operator process (stderr: ${stderr.slice(-2000)})` });
    await waitFor(async () => (await client.get(PodGroups, { namespace: ns, name: "train" })).status?.phase === "Running" ? true : undefined,
      { timeoutMs: TIMEOUT_MS, description: "PodGroup Running (kwok runs the pods)" });
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /scheduler_schedule_attempts_total\{[^}]*result="scheduled"[^}]*\} [1-9]/);
  } finally {
    child.kill("SIGTERM");
  }
  assert.equal(await exited, 0, `exit code (stderr: ${stderr.slice(-2000)})`);
});

test("killed (SIGKILL) between the binds of a gang, the restarted operator binds the rest: all bound, no node overcommitted", { timeout: 300_000 }, async () => {
  const id = randomBytes(3).toString("hex");
  const pool = { "gang-e2e-pool": id };
  nodes.push(...await createFakeNodes(kubeconfigPath, { count: 2, cpu: "4", namePrefix: `gang-restart-${id}-`, labels: pool }));
  const members = Array.from({ length: 8 }, (_, i) => `r-${i}`);
  await client.create(PodGroups, podGroup(ns, "restart", members.length));
  for (const name of members) await client.create(Pods, gangPod(ns, name, { group: "restart", cpu: "1", nodeSelector: pool }));
  const boundPods = async () => (await client.list(Pods, { namespace: ns })).items.filter((p) => members.includes(p.metadata!.name!) && p.spec?.nodeName);
  // The data-plane client at 2 requests/s (burst 1): the 8 binds of the group take seconds, so
  // the kill lands between them. Same Lease and identity for both runs, as a restarted pod.
  const run = () => startOperator({
    kubeconfigPath, namespace: ns, leaseId: `gang-restart-${id}`, identity: `gang-restart-${id}`, operators: "gang-scheduling",
    extraArgs: ["--kube-api-qps=2", "--kube-api-burst=1"],
  });
  const first = run();
  let boundAtKill: number;
  try {
    boundAtKill = await waitFor(async () => {
      const n = (await boundPods()).length;
      return n > 0 ? n : undefined;
    }, { timeoutMs: 120_000, intervalMs: 50, description: `a first member bound (stderr: ${first.stderr.slice(-1500)})` });
  } finally {
    first.child.kill("SIGKILL");
  }
  await first.exited;
  const afterKill = (await boundPods()).length;
  process.stderr.write(`[gang restart] ${boundAtKill} of ${members.length} bound when SIGKILL was sent, ${afterKill} once it was dead\n`);
  assert.ok(afterKill < members.length, `every member was bound before the kill (${afterKill}): the test did not catch the group between its binds`);

  const second = run();
  try {
    await waitFor(async () => ((await boundPods()).length === members.length ? true : undefined), {
      timeoutMs: 120_000, description: `the restarted operator binds the other ${members.length - afterKill} members (stderr: ${second.stderr.slice(-1500)})`,
    });
  } finally {
    second.child.kill("SIGTERM");
  }
  assert.equal(await second.exited, 0, `exit code (stderr: ${second.stderr.slice(-2000)})`);
  const perNode = new Map<string, number>();
  for (const p of await boundPods()) perNode.set(p.spec!.nodeName!, (perNode.get(p.spec!.nodeName!) ?? 0) + 1);
  for (const [node, count] of perNode) assert.ok(count <= 4, `${node} holds ${count} 1-CPU pods on 4 CPUs`);
});
