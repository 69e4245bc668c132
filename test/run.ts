/**
 * The test entry point (`npm test` -> `node test/run.ts`).
 *
 *   node test/run.ts [--unit-only] [--keep-cluster] [file globs...]
 *
 * With `KUBECONFIG` set, the tests run against that cluster and nothing is started.
 * Otherwise a local control plane (binaries built once per machine and cached) with three
 * fake kwok nodes is started in a fresh directory under `.kubeloop/`, its `KUBECONFIG` and
 * `KUBELOOP_CLUSTER_DIR` are handed to `node --test`, and it is stopped afterwards, also on
 * Ctrl-C. Its data is removed when the tests pass; on failure the logs stay and their path is
 * printed. Exits with the test runner's exit code.
 *
 * The control plane serves the native gang-scheduling API (`scheduling.k8s.io/v1alpha2`, gates
 * `GenericWorkload` + `GangScheduling`) so the native PodGroup tests run rather than skip;
 * `KUBELOOP_GANG_SCHEDULING=0` starts it without.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createFakeNodes, startControlPlane, type ControlPlane } from "../framework/testing/index.ts";

const repoRoot = fileURLToPath(new URL("../", import.meta.url));
const unitGlob = "test/unit/**/*.test.ts";
const e2eGlob = "test/e2e/**/*.test.ts";
/** Per-test limit handed to `node --test`, so one stuck test cannot hang CI (10 minutes). */
const testTimeoutMs = 600_000;
/**
 * Limit for the whole `node --test` run in minutes (`KUBELOOP_TEST_TIMEOUT_MINUTES`, default
 * 60): a test file that blocks its event loop never reaches the per-test timeout.
 */
const runTimeoutMinutes = Number(process.env.KUBELOOP_TEST_TIMEOUT_MINUTES ?? "60");
/** The native gang API is on unless `KUBELOOP_GANG_SCHEDULING` is `0` or `false`. */
const gangScheduling = !["0", "false"].includes(process.env.KUBELOOP_GANG_SCHEDULING ?? "");

function log(line: string): void {
  process.stderr.write(`[test/run] ${line}\n`);
}

/** The running `node --test`, so a signal sent to this process alone reaches it too. */
let testRunner: ChildProcess | undefined;

function runTests(files: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      // --test-force-exit: a test file that leaves a handle open (a watch, a timer) must not hang the run.
      ["--test", "--test-concurrency=1", "--test-reporter=spec", `--test-timeout=${testTimeoutMs}`, "--test-force-exit", ...files],
      { cwd: repoRoot, env, stdio: "inherit" },
    );
    testRunner = child;
    const watchdog = setTimeout(() => {
      log(`the tests ran longer than ${runTimeoutMinutes} minutes (KUBELOOP_TEST_TIMEOUT_MINUTES); killing the test runner`);
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
    }, runTimeoutMinutes * 60_000);
    watchdog.unref();
    child.on("exit", () => clearTimeout(watchdog));
    child.on("error", (err) => {
      log(`could not start node --test: ${err.message}`);
      resolve(1);
    });
    child.on("exit", (code, signal) => {
      testRunner = undefined;
      resolve(code ?? (signal ? 130 : 1));
    });
  });
}

/**
 * The framework logs nothing during tests unless asked (`KUBELOOP_LOG_LEVEL=info npm test`):
 * the tests provoke errors on purpose (refused templates, lost watches), and CI reads the test
 * runner's summary, not the operators' logs.
 */
process.env.KUBELOOP_LOG_LEVEL ??= "silent";

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      "unit-only": { type: "boolean" },
      "keep-cluster": { type: "boolean" },
    },
  });
  if (values["unit-only"]) return runTests(positionals.length > 0 ? positionals : [unitGlob], process.env);
  const files = positionals.length > 0 ? positionals : [unitGlob, e2eGlob];

  if (process.env.KUBECONFIG) {
    log(`using the existing cluster of KUBECONFIG=${process.env.KUBECONFIG}`);
    return runTests(files, process.env);
  }

  const abort = new AbortController();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    // The test runner shares our process group and gets the signal too; we wait for it, then stop the cluster.
    interrupted = true;
    log(`${signal}: stopping the tests, then the control plane`);
    abort.abort(new Error(`interrupted by ${signal}`));
    if (testRunner && testRunner.exitCode === null) testRunner.kill(signal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  await mkdir(join(repoRoot, ".kubeloop"), { recursive: true });
  const dir = await mkdtemp(join(repoRoot, ".kubeloop", "test-"));
  const started = Date.now();
  let plane: ControlPlane | undefined;
  let code = 1;
  try {
    plane = await startControlPlane({ dir, gangScheduling, onProgress: log, signal: abort.signal, stopOnExit: values["keep-cluster"] !== true });
    const nodes = await createFakeNodes(plane.kubeconfigPath, { count: 3 }, { signal: abort.signal });
    log(`control plane and fake nodes ${nodes.join(", ")} ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    code = await runTests(files, { ...process.env, KUBECONFIG: plane.kubeconfigPath, KUBELOOP_CLUSTER_DIR: dir });
    if (interrupted && code === 0) code = 130;
  } catch (err) {
    log(`${interrupted ? "interrupted" : "could not start the control plane"}: ${(err as Error).message}`);
    log(`logs: ${join(dir, "logs")}`);
    code = interrupted ? 130 : 1;
  } finally {
    const keep = code !== 0 || values["keep-cluster"] === true;
    if (plane) {
      if (values["keep-cluster"]) {
        log(`leaving the control plane running: KUBECONFIG=${plane.kubeconfigPath} (stop it with \`npm run cluster -- down --dir ${dir}\`)`);
      } else {
        await plane.stop({ removeData: !keep }).catch((err: unknown) => log(`stopping the control plane: ${(err as Error).message}`));
        if (keep) {
          // The logs (a few hundred KiB) explain a failed run; etcd's data (about 60 MiB) rarely
          // does, and kept for every failed run it piled up in .kubeloop/.
          await rm(join(dir, "etcd"), { recursive: true, force: true });
          log(`control plane stopped; logs kept in ${join(dir, "logs")}`);
        } else await rm(dir, { recursive: true, force: true });
      }
    }
  }
  return code;
}

main().then(
  (code) => {
    process.exit(code);
  },
  (err: unknown) => {
    log(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
