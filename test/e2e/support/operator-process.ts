/**
 * The operator process as the container image and the Helm chart start it (`node
 * operators/main.ts` with the chart's flags: the ReplicaSet operator, leader election on a
 * 15 s / 10 s / 2 s Lease, info logs on stderr), for e2e tests that run it as a child.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const main = fileURLToPath(new URL("../../../operators/main.ts", import.meta.url));

/** Options of `startOperator`. */
export interface OperatorProcessOptions {
  /** Kubeconfig of the cluster (`KUBECONFIG`). */
  kubeconfigPath: string;
  /** Namespace of the leader Lease. */
  namespace: string;
  /** Name of the leader Lease. */
  leaseId: string;
  /** Leader identity (`POD_NAME`, as the chart sets it). */
  identity: string;
  /** `host:port` of /metrics; default "0" (off). */
  metricsBindAddress?: string;
  /** `host:port` of the probes; default "0" (off). */
  healthProbeBindAddress?: string;
  /** `--operators`; default "replicaset". */
  operators?: string;
  /** More flags, after the chart's (e.g. `--kube-api-qps=20`). */
  extraArgs?: readonly string[];
  /** More environment variables (e.g. `POD_NAMESPACE`, which the chart sets). */
  env?: Readonly<Record<string, string>>;
}

/** A running operator: its process, what it wrote to stderr so far, and its exit. */
export interface OperatorProcess {
  child: ChildProcess;
  /** Everything written to stderr so far. */
  readonly stderr: string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Wall time (ms since the epoch) of the exit; undefined while running. */
  readonly exitedAtMs: number | undefined;
}

/** Starts `node operators/main.ts --operators=<operators, default replicaset>` with the chart's leader-election flags. */
export function startOperator(opts: OperatorProcessOptions): OperatorProcess {
  const child = spawn(process.execPath, [
    main, `--operators=${opts.operators ?? "replicaset"}`, `--metrics-bind-address=${opts.metricsBindAddress ?? "0"}`,
    `--health-probe-bind-address=${opts.healthProbeBindAddress ?? "0"}`, "--leader-elect=true", `--leader-election-id=${opts.leaseId}`,
    `--leader-election-namespace=${opts.namespace}`, "--lease-duration-seconds=15", "--renew-deadline-seconds=10",
    "--retry-period-seconds=2", ...(opts.extraArgs ?? []), "--log-level=info",
  ], { env: { ...process.env, KUBECONFIG: opts.kubeconfigPath, POD_NAME: opts.identity, ...opts.env }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  let exitedAtMs: number | undefined;
  child.stderr!.on("data", (chunk: Buffer) => { stderr += chunk.toString("utf8"); });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => {
    exitedAtMs = Date.now();
    resolve(code);
  }));
  return {
    child,
    get stderr() { return stderr; },
    exited,
    get exitedAtMs() { return exitedAtMs; },
  };
}
