/**
 * The operator process: runs the sample operators in one manager, as the Helm chart and the
 * container image start it.
 *
 *   node operators/main.ts [--operators=replicaset,gang-scheduling,gpu-placement] [--metrics-bind-address=:8080]
 *     [--health-probe-bind-address=:8081] [--leader-elect[=true|false]]
 *     [--leader-election-id=kubeloop-operators] [--leader-election-namespace=NS]
 *     [--lease-duration-seconds=15] [--renew-deadline-seconds=10] [--retry-period-seconds=2]
 *     [--kube-api-qps=0] [--kube-api-burst=0] [--log-level=info]
 *     [--webhook-bind-address=0] [--webhook-service=NAME] [--webhook-configuration-name=kubeloop-webhooks]
 *     [--webhook-cert-secret=kubeloop-webhook-certificates]
 *
 * `--operators` defaults to every operator; gang-scheduling and gpu-placement add their plugins to
 * ONE kubeloop scheduler (`schedulerName: kubeloop-scheduler`) in this process.
 *
 * `--kube-api-qps`/`--kube-api-burst` limit the data-plane client (requests per second, and the
 * burst), as kube-controller-manager's flags of the same names; 0 (the default) sets no
 * client-side limit, as controller-runtime. Leader election has its own client and is never
 * held by that limit.
 *
 * `--webhook-bind-address` (`:9443`; default `0`, off) serves the operators' admission webhooks
 * (gpu-placement's scheduler-name webhook) over TLS. The certificates live in the Secret
 * `--webhook-cert-secret` of the pod's namespace (POD_NAMESPACE, else the service account's) and
 * are injected into the MutatingWebhookConfiguration `--webhook-configuration-name`, which the
 * Helm chart creates; the certificate names the Service `--webhook-service` of that namespace
 * (without it: 127.0.0.1, for a process the local control plane calls directly).
 *
 * The cluster comes from `KUBECONFIG`, else the in-cluster service account. Exits 0 after a
 * graceful shutdown on SIGTERM, 1 on failure (leader lease lost included), 2 on bad flags.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { rootLogger } from "../framework/log/index.ts";
import { addWebhookServer, type WebhookServer } from "../framework/admission/index.ts";
import { Manager, parseBindAddress, runManager } from "../framework/manager/index.ts";
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
  /** `host:port` of the webhook server, or "0" for none. */
  webhookBindAddress: string;
  /** The Service in front of the webhook server, in the pod's namespace (undefined: URL on 127.0.0.1). */
  webhookService: string | undefined;
  webhookConfigurationName: string;
  webhookCertSecret: string;
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
      "webhook-bind-address": { type: "string", default: "0" },
      "webhook-service": { type: "string" },
      "webhook-configuration-name": { type: "string", default: "kubeloop-webhooks" },
      "webhook-cert-secret": { type: "string", default: "kubeloop-webhook-certificates" },
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
  const webhookBindAddress = values["webhook-bind-address"];
  if (webhookBindAddress !== "0") {
    try {
      parseBindAddress(webhookBindAddress);
    } catch (err) {
      throw new Error(`--webhook-bind-address: ${(err as Error).message}`);
    }
  }
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
    webhookBindAddress,
    webhookService: values["webhook-service"],
    webhookConfigurationName: values["webhook-configuration-name"],
    webhookCertSecret: values["webhook-cert-secret"],
  };
}

/** The pod's namespace: POD_NAMESPACE, else the service account's. @throws Error saying what `needs` it when neither exists. */
function podNamespace(needs: string): string {
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE_FILE, "utf8").trim();
  } catch {
    throw new Error(`${needs} (or POD_NAMESPACE, or running in a pod)`);
  }
}

function leaseNamespace(flags: OperatorFlags): string {
  return flags.leaderElectionNamespace || podNamespace("--leader-elect needs --leader-election-namespace");
}

/** The webhook server the flags ask for, added to `mgr`, or undefined when `--webhook-bind-address=0`. */
function webhookServer(mgr: Manager, flags: OperatorFlags): { server: WebhookServer; namespace: string } | undefined {
  if (flags.webhookBindAddress === "0") return undefined;
  const namespace = podNamespace("--webhook-bind-address needs the pod's namespace for the certificate Secret: set POD_NAMESPACE");
  const { host, port } = parseBindAddress(flags.webhookBindAddress);
  const { server } = addWebhookServer(mgr, {
    host, port,
    secret: { namespace, name: flags.webhookCertSecret },
    configurationName: flags.webhookConfigurationName,
    ...(flags.webhookService ? { service: { namespace, name: flags.webhookService } } : {}),
  });
  return { server, namespace };
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
  const webhooks = webhookServer(mgr, flags);
  setupOperators(mgr, flags.operators, webhooks ? { webhooks: webhooks.server, webhookExcludedNamespaces: [webhooks.namespace] } : {});
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
