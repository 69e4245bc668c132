/**
 * The reference side of the scheduling benchmark: a kube-scheduler v1.36.3 process of the
 * harness's build, started by the benchmark when it wants (after the pods exist, as the reference
 * probe measured) with a config file of its own: one or more profiles with their own
 * `schedulerName`s, client QPS/burst in `clientConnection` (the `--kube-api-qps/--kube-api-burst`
 * flags are ignored once `--config` is given), no leader election, and the gang gates
 * (`GenericWorkload`, `GangScheduling`) so `spec.schedulingGroup` members go through its pod-group
 * cycle. The control plane's own kube-scheduler (`default-scheduler`) ignores these pods.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBinaries, pickFreePorts } from "../../framework/testing/index.ts";

/** The reference's profile names. */
export const KUBE_SCHEDULER_DEFAULT = "bench-kube-scheduler";
/** The binpack oracle: `NodeResourcesFit` scoring MostAllocated on `{nvidia.com/gpu: 1}`. */
export const KUBE_SCHEDULER_MOST_ALLOCATED = "bench-most-allocated";

/** A running reference kube-scheduler. */
export interface KubeSchedulerProcess {
  /** SIGTERM, SIGKILL after 10 s; resolves when it exited and its temporary directory is gone. */
  stop(): Promise<void>;
}

/**
 * Starts kube-scheduler with the profiles `KUBE_SCHEDULER_DEFAULT` (default plugins) and
 * `KUBE_SCHEDULER_MOST_ALLOCATED`, client limits `qps`/`burst`, talking to the cluster through
 * `kubeconfigPath`. Resolves once the process is spawned (not ready: measurements clock binds).
 * @throws Error when the binary cannot be built or found.
 */
export async function startKubeScheduler(opts: {
  kubeconfigPath: string; qps: number; burst: number; say: (line: string) => void;
  /** With the native gang gates (GenericWorkload, GangScheduling); default true. Off for a control plane that does not serve scheduling.k8s.io/v1alpha2. */
  gangScheduling?: boolean;
}): Promise<KubeSchedulerProcess> {
  const dir = await mkdtemp(join(tmpdir(), "kubeloop-bench-kube-scheduler-"));
  const config = join(dir, "config.yaml");
  await writeFile(config, [
    "apiVersion: kubescheduler.config.k8s.io/v1",
    "kind: KubeSchedulerConfiguration",
    `clientConnection: { kubeconfig: ${JSON.stringify(opts.kubeconfigPath)}, qps: ${opts.qps}, burst: ${opts.burst} }`,
    "leaderElection: { leaderElect: false }",
    "profiles:",
    `  - schedulerName: ${KUBE_SCHEDULER_DEFAULT}`,
    `  - schedulerName: ${KUBE_SCHEDULER_MOST_ALLOCATED}`,
    "    pluginConfig:",
    "      - name: NodeResourcesFit",
    "        args: { scoringStrategy: { type: MostAllocated, resources: [{ name: nvidia.com/gpu, weight: 1 }] } }",
    "",
  ].join("\n"));
  const bin = (await ensureBinaries({ components: ["kube-scheduler"] }))["kube-scheduler"];
  const [port] = await pickFreePorts(1);
  const child: ChildProcess = spawn(bin, [
    `--config=${config}`, "--bind-address=127.0.0.1", `--secure-port=${port}`, `--cert-dir=${dir}`,
    ...(opts.gangScheduling === false ? [] : ["--feature-gates=GenericWorkload=true,GangScheduling=true"]),
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  let stopping = false;
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once("exit", (code) => {
    if (!stopping) opts.say(`    reference kube-scheduler exited early (code ${code}): ${stderr}`);
    resolve();
  }));
  return {
    async stop() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
