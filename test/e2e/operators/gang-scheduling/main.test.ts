/**
 * The operator process with `--operators=gang-scheduling` (as the container image starts it): it
 * runs the kubeloop scheduler with the gang plugin and the PodGroup controller, so a gang binds
 * all at once and its PodGroup goes Running; it exits 0 on SIGTERM.
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
import { connect, gangPod, podGroup, TIMEOUT_MS } from "./harness.ts";

const main = fileURLToPath(new URL("../../../../operators/main.ts", import.meta.url));
let client: KubeClient;
let kubeconfigPath: string;
let ns: string;
let nodes: string[] = [];

before(async () => {
  ({ client, kubeconfigPath } = await connect());
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
  nodes = await createFakeNodes(kubeconfigPath, { count: 1, cpu: "4", namePrefix: `gang-main-${id}-`, labels: { "gang-e2e-pool": id } });
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
