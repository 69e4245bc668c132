/**
 * The operator process: runs the sample operators in one manager, as the Helm chart and the
 * container image start it.
 *
 *   node operators/main.ts [--operators=replicaset,gang-scheduling,gpu-placement] [--metrics-bind-address=:8080]
 *     [--health-probe-bind-address=:8081] [--leader-elect[=true|false]]
 *     [--leader-election-id=kubeloop-operators] [--leader-election-namespace=NS]
 *     [--lease-duration-seconds=15] [--renew-deadline-seconds=10] [--retry-period-seconds=2]
 *     [--kube-api-qps=0] [--kube-api-burst=0] [--log-level=info]
 *
 * `--operators` defaults to every operator; gang-scheduling and gpu-placement add their plugins to
 * ONE kubeloop scheduler (`schedulerName: kubeloop-scheduler`) in this process.
 *
 * `--kube-api-qps`/`--kube-api-burst` limit the data-plane client (requests per second, and the
 * burst), as kube-controller-manager's flags of the same names; 0 (the default) sets no
 * client-side limit, as controller-runtime. Leader election has its own client and is never
 * held by that limit.
 *
 * The cluster comes from `KUBECONFIG`, else the in-cluster service account. Exits 0 after a
 * graceful shutdown on SIGTERM, 1 on failure (leader lease lost included), 2 on bad flags.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { rootLogger } from "../framework/log/index.ts";
import { Manager, runManager } from "../framework/manager/index.ts";
import { operators, setupOperators } from "./registry.ts";

const SERVICE_ACCOUNT_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/** Options of the operator process, parsed from its flags. */
export interface OperatorFlags {
  operators: string[];
  metricsBindAddress: string;
  healthProbeBindAddress: string;
  leaderElect: boolean;
  leaderElectionId: string;
  leaderElectionNamespace: string | undefined;
  leaseDurationSeconds: number;
  renewDeadlineSeconds: number;
  retryPeriodSeconds: number;
  /** Requests per second of the data-plane client; 0 for no client-side limit. */
  kubeApiQps: number;
  /** Burst of that limit; 0 for `kubeApiQps`. */
  kubeApiBurst: number;
  logLevel: string;
}

/**
 * Parses the process flags. Boolean flags accept `--flag`, `--flag=true` and `--flag=false`
 * as Go's flag package does.
 * @throws Error naming the flag that is unknown or malformed.
 */
export function parseOperatorFlags(argv: string[]): OperatorFlags {
  const { values } = parseArgs({
    args: argv.map((a) => (a === "--leader-elect" ? "--leader-elect=true" : a)),
    options: {
      operators: { type: "string", default: Object.keys(operators).join(",") },
      "metrics-bind-address": { type: "string", default: "127.0.0.1:8080" },
      "health-probe-bind-address": { type: "string", default: "127.0.0.1:8081" },
      "leader-elect": { type: "string", default: "false" },
      "leader-election-id": { type: "string", default: "kubeloop-operators" },
      "leader-election-namespace": { type: "string" },
      "lease-duration-seconds": { type: "string", default: "15" },
      "renew-deadline-seconds": { type: "string", default: "10" },
      "retry-period-seconds": { type: "string", default: "2" },
      "kube-api-qps": { type: "string", default: "0" },
      "kube-api-burst": { type: "string", default: "0" },
      "log-level": { type: "string", default: "info" },
    },
    strict: true,
    allowPositionals: false,
  });
  const seconds = (flag: "lease-duration-seconds" | "renew-deadline-seconds" | "retry-period-seconds"): number => {
    const n = Number(values[flag]);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${flag}=${values[flag]}: want a positive number of seconds`);
    return n;
  };
  const nonNegative = (flag: "kube-api-qps" | "kube-api-burst", integer: boolean): number => {
    const n = Number(values[flag]);
    if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) {
      throw new Error(`--${flag}=${values[flag]}: want a non-negative ${integer ? "integer" : "number"} (0: no client-side limit)`);
    }
    return n;
  };
  const leaderElect = values["leader-elect"];
  if (leaderElect !== "true" && leaderElect !== "false") throw new Error(`--leader-elect=${leaderElect}: want true or false`);
  return {
    operators: values.operators.split(",").map((s) => s.trim()).filter(Boolean),
    metricsBindAddress: values["metrics-bind-address"],
    healthProbeBindAddress: values["health-probe-bind-address"],
    leaderElect: leaderElect === "true",
    leaderElectionId: values["leader-election-id"],
    leaderElectionNamespace: values["leader-election-namespace"],
    leaseDurationSeconds: seconds("lease-duration-seconds"),
    renewDeadlineSeconds: seconds("renew-deadline-seconds"),
    retryPeriodSeconds: seconds("retry-period-seconds"),
    kubeApiQps: nonNegative("kube-api-qps", false),
    kubeApiBurst: nonNegative("kube-api-burst", true),
    logLevel: values["log-level"],
  };
}

function leaseNamespace(flags: OperatorFlags): string {
  if (flags.leaderElectionNamespace) return flags.leaderElectionNamespace;
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE_FILE, "utf8").trim();
  } catch {
    throw new Error("--leader-elect needs --leader-election-namespace (or POD_NAMESPACE, or running in a pod)");
  }
}

/** Builds the manager the flags describe, with the named operators set up on it. */
export function operatorManager(flags: OperatorFlags): Manager {
  rootLogger.level = flags.logLevel;
  const mgr = new Manager({
    name: "kubeloop-operators",
    metricsBindAddress: flags.metricsBindAddress,
    healthProbeBindAddress: flags.healthProbeBindAddress,
    ...(flags.kubeApiQps > 0 ? { kubeApiQps: flags.kubeApiQps, kubeApiBurst: flags.kubeApiBurst || flags.kubeApiQps } : {}),
    ...(flags.leaderElect
      ? {
          leaderElection: {
            id: flags.leaderElectionId,
            namespace: leaseNamespace(flags),
            leaseDurationSeconds: flags.leaseDurationSeconds,
            renewDeadlineSeconds: flags.renewDeadlineSeconds,
            retryPeriodSeconds: flags.retryPeriodSeconds,
            ...(process.env.POD_NAME ? { identity: process.env.POD_NAME } : {}),
          },
        }
      : {}),
  });
  setupOperators(mgr, flags.operators);
  return mgr;
}

if (import.meta.main) {
  let mgr: Manager;
  try {
    mgr = operatorManager(parseOperatorFlags(process.argv.slice(2)));
  } catch (err) {
    process.stderr.write(`kubeloop operators: ${(err as Error).message}\n`);
    process.exit(2);
  }
  await runManager(mgr);
}
