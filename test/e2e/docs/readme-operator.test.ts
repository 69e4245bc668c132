/**
 * The README's "Writing an operator" example runs as written against the real control plane:
 * the block is extracted from README.md and run as a child process (`node
 * --conditions=kubeloop-source greeter.ts`, as the README tells a reader in this repository)
 * with one change, free ports for `/metrics` and the probes instead of
 * :8080 and :8081, which other processes on a test machine may hold. It installs its CRD with
 * `installCustomResourceDefinitions`; the API server refuses a `goodbye` Greeting with the CEL
 * rule's message; one Greeting with `everySeconds: 2` is reconciled once per 2 s (its own
 * status writes do not wake it: no hot loop), `status.lastGreeted` is written, a spec change
 * wakes it at once, and SIGTERM stops it with exit code 0. Needs a cluster
 * (`KUBELOOP_CLUSTER_DIR` or `KUBECONFIG`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isInvalid, isNotFound } from "../../../framework/client/index.ts";
import { sleep } from "../../../framework/flowcontrol/index.ts";
import { CustomResourceDefinitions, resourceType, type KubeObject } from "../../../framework/meta/index.ts";
import { pickFreePorts, waitFor } from "../../../framework/testing/index.ts";
import { readmeBlocks } from "../../docs/readme-blocks.ts";
import { useTestNamespace } from "../support/test-namespace.ts";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const crdName = "greetings.example.kubeloop.dev";

interface Greeting extends KubeObject {
  spec: { message: string; everySeconds?: number };
  status?: { lastGreeted?: string };
}
const Greetings = resourceType<Greeting>({ group: "example.kubeloop.dev", version: "v1alpha1", kind: "Greeting", plural: "greetings", namespaced: true });

/** One JSON log line of the example (pino: `time` in ms since the epoch). */
interface LogLine { time: number; msg: string; namespace?: string; name?: string; message?: string; controller?: string }

let dir: string | undefined;
let child: ChildProcess | undefined;
let passed = false;
const logs: LogLine[] = [];
let output = "";

const env = useTestNamespace("kubeloop-docs-e2e", {
  cleanup: async ({ client }) => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    if (dir && passed) await rm(dir, { recursive: true, force: true });
    else if (dir) process.stderr.write(`[readme-operator] the example as run is in ${dir}\n`);
    await client.delete(CustomResourceDefinitions, { name: crdName }).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  },
});

test("the README's example operator runs as written: CRD, CEL rule, no hot loop, requeueAfter, graceful stop", async (t) => {
  const { client, plane, namespace: ns } = env;
  const examples = (await readmeBlocks(repoRoot)).filter((b) => b.readme === "README.md" && b.heading === "Writing an operator");
  assert.equal(examples.length, 1, "README.md has one ```ts block under \"## Writing an operator\"");

  // The one change to the README's text: free ports instead of :8080 / :8081.
  const anchor = "new Manager({";
  const code = examples[0]!.code;
  assert.equal(code.split(anchor).length, 2, `the example constructs its Manager with \`${anchor}\` once (the test gives it free ports there)`);
  const [metricsPort, probePort] = await pickFreePorts(2);
  const runnable = code.replace(anchor, `${anchor} metricsBindAddress: "127.0.0.1:${metricsPort}", healthProbeBindAddress: "127.0.0.1:${probePort}",`);
  await mkdir(join(repoRoot, ".kubeloop"), { recursive: true });
  dir = await mkdtemp(join(repoRoot, ".kubeloop", "docs-"));
  const file = join(dir, "greeter.ts");
  await writeFile(file, runnable);

  // In the repository the package is not built: the `kubeloop-source` condition resolves
  // `kubeloop/...` to the TypeScript sources, as the README says.
  const started = spawn(process.execPath, ["--conditions=kubeloop-source", file], {
    cwd: repoRoot,
    env: { ...process.env, KUBECONFIG: plane.kubeconfigPath, KUBELOOP_LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = started;
  let partial = "";
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    partial += chunk.toString();
    const lines = partial.split("\n");
    partial = lines.pop()!;
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        // not a log line (a stack trace, a warning): kept in `output` for the failure message
      }
    }
  };
  started.stdout!.on("data", onData);
  started.stderr!.on("data", onData);
  const exited = new Promise<number | null>((resolve) => started.on("exit", (c) => resolve(c)));
  const died = exited.then((c) => {
    throw new Error(`the example exited with code ${c}:\n${output}`);
  });
  died.catch(() => {}); // only raced below; its exit after SIGTERM is expected
  /** Polls `probe` every 50 ms until it returns a value; fails at once if the example exits. */
  const until = <T>(probe: () => T | undefined | false, timeoutMs: number, description: string): Promise<T> =>
    Promise.race([waitFor(async () => probe(), { timeoutMs, description, intervalMs: 50 }), died]);

  await until(() => logs.some((l) => l.controller === "greeting" && l.msg === "starting workers"), 90_000, "the example's controller to start its workers");

  // The example installed its CRD (the framework's install helper), with the CEL rule.
  const crd = await client.get(CustomResourceDefinitions, { name: crdName });
  assert.ok(crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True"), "the Greeting CRD is Established");
  await assert.rejects(
    client.create(Greetings, { apiVersion: "example.kubeloop.dev/v1alpha1", kind: "Greeting", metadata: { name: "bye", namespace: ns }, spec: { message: "goodbye" } }),
    (err: unknown) => isInvalid(err) && /be nice/.test((err as Error).message),
    "a goodbye Greeting is refused with the CEL rule's message",
  );

  await client.create(Greetings, { apiVersion: "example.kubeloop.dev/v1alpha1", kind: "Greeting", metadata: { name: "hi", namespace: ns }, spec: { message: "hello", everySeconds: 2 } });
  const hellos = () => logs.filter((l) => l.msg === "hello" && l.namespace === ns && l.name === "hi");
  const first = await until(() => hellos()[0], 30_000, "the first reconcile of the Greeting");

  // Five seconds of one Greeting: reconciles at about 0, 2 and 4 s, not one per status write.
  await Promise.race([sleep(5_500), died]);
  const inWindow = hellos().filter((l) => l.time <= first.time + 5_000);
  const gaps = inWindow.slice(1).map((l, i) => l.time - inWindow[i]!.time);
  const shown = `${gaps.slice(0, 10).join(", ")}${gaps.length > 10 ? ", ..." : ""} ms`;
  t.diagnostic(`reconciles of one Greeting (everySeconds 2) in 5 s: ${inWindow.length}, gaps ${shown}`);
  assert.ok(inWindow.length >= 2 && inWindow.length <= 4, `reconciles of one Greeting in 5 s: ${inWindow.length} (expected 3: at 0, 2 and 4 s; gaps ${shown})`);
  for (const gap of gaps) {
    assert.ok(gap >= 1_950, `requeueAfter(2000) honoured: no reconcile sooner (gaps ${shown})`);
    assert.ok(gap <= 4_000, `requeueAfter(2000) honoured: the requeue comes (gaps ${shown})`);
  }
  const greeting = await client.get(Greetings, { namespace: ns, name: "hi" });
  assert.ok(!Number.isNaN(Date.parse(greeting.status?.lastGreeted ?? "")), `status.lastGreeted is written: ${JSON.stringify(greeting.status)}`);

  // /metrics agrees (controller-runtime's counter; one reconcile may be between its log line and its count).
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const counted = metrics.split("\n")
    .filter((l) => l.startsWith("controller_runtime_reconcile_total{") && l.includes('controller="greeting"'))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
  const logged = logs.filter((l) => l.msg === "hello").length;
  t.diagnostic(`controller_runtime_reconcile_total ${counted}, reconciles logged ${logged}`);
  assert.ok(counted >= logged - 1 && counted <= logged, `controller_runtime_reconcile_total ${counted} against ${logged} reconciles logged`);

  // A spec change (a new generation) still wakes it at once, not at the next requeue.
  const before = hellos().length;
  await until(() => hellos().length > before, 10_000, "the next requeue");
  await client.patch(Greetings, { namespace: ns, name: "hi" }, { type: "merge", body: { spec: { message: "hello again" } } });
  const again = await until(() => hellos().find((l) => l.message === "hello again"), 10_000, "a reconcile of the changed spec");
  const previous = hellos().filter((l) => l.message === "hello" && l.time <= again.time).at(-1)!;
  t.diagnostic(`spec change reconciled ${again.time - previous.time} ms after the previous reconcile`);
  assert.ok(again.time - previous.time < 1_950, `the spec change was reconciled ${again.time - previous.time} ms after the previous reconcile: woken by the update, not by the requeue`);

  started.kill("SIGTERM");
  assert.equal(await exited, 0, `SIGTERM stops the example gracefully with exit code 0:\n${output.slice(-2000)}`);
  passed = true;
});
