/**
 * SIGTERM to a process running a manager: intake stops, the reconcile in flight finishes (its
 * write lands), and the process exits 0. Needs a cluster (`KUBELOOP_CLUSTER_DIR` or `KUBECONFIG`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ConfigMaps } from "../../../framework/meta/index.ts";
import { useTestNamespace } from "../support/test-namespace.ts";

const env = useTestNamespace("kubeloop-sigterm-e2e");


test("SIGTERM: the in-flight reconcile finishes, then the process exits 0", async () => {
  const { client, namespace, kubeconfigPath } = env;
  const child = spawn(process.execPath, [fileURLToPath(new URL("./sigterm-child.ts", import.meta.url))], {
    env: { ...process.env, KUBECONFIG: kubeconfigPath, KUBELOOP_CLUSTER_DIR: "", E2E_NAMESPACE: namespace, E2E_RECONCILE_MS: "2000" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const seen = (line: string, timeoutMs: number) => new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not print ${JSON.stringify(line)} within ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr.slice(-2000)}`)), timeoutMs);
    const check = () => {
      if (stdout.includes(line)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      check();
    });
    check();
  });
  try {
    await seen("ready", 30_000);
    await client.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "slow-1", namespace } });
    await seen("started slow-1", 20_000);
    child.kill("SIGTERM");
    const code = await exited;
    assert.equal(code, 0, `exit code; stderr: ${stderr.slice(-2000)}`);
    assert.match(stdout, /finished slow-1/);
    const cm = await client.get(ConfigMaps, { namespace, name: "slow-1" });
    assert.equal(cm.metadata?.annotations?.["kubeloop.dev/reconciled"], "true", "the in-flight reconcile's write landed before exit");
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});
