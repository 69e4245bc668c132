import { parseArgs } from "node:util";
import {
  controlPlaneStatus,
  createFakeNodes,
  defaultClusterDir,
  destroyControlPlane,
  startControlPlane,
} from "../testing/index.ts";

const usage = `usage: npm run cluster -- <up|down|status> [options]

  up       build (first use only) and start etcd, kube-apiserver, kube-controller-manager,
           kube-scheduler and kwok on 127.0.0.1, then create fake nodes; the cluster keeps
           running after the command returns; stdout is only the exports, so
           eval "$(npm run -s cluster -- up)" points the shell at it
  down     stop every process the cluster directory records and remove its data
  status   show each process and whether it answers its health endpoint

options:
  --dir D              cluster directory (default $KUBELOOP_CLUSTER_DIR or ./.kubeloop/cluster)
  --nodes N            up: fake nodes to create (default 3)
  --gpus N             up: nvidia.com/gpu per fake node (default 0)
  --kube-api-qps Q     up: kube-controller-manager client QPS (default 20, as upstream)
  --kube-api-burst B   up: kube-controller-manager client burst (default 30, as upstream)
  --controllers C      up: kube-controller-manager --controllers (default "*")
  --no-gang-scheduling up: without the native gang API (scheduling.k8s.io/v1alpha2 and the
                       GenericWorkload,GangScheduling gates), which is on by default as in
                       \`npm test\`, unless KUBELOOP_GANG_SCHEDULING is 0 or false
`;

function parseCount(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return n;
}

/** `cluster up|down|status`; resolves to the exit code (0 ok, 1 failure or unhealthy, 2 usage). */
export async function runClusterCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        dir: { type: "string" },
        nodes: { type: "string" },
        gpus: { type: "string" },
        "kube-api-qps": { type: "string" },
        "kube-api-burst": { type: "string" },
        controllers: { type: "string" },
        "gang-scheduling": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowNegative: true,
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const [sub, ...extra] = positionals;
  if (extra.length > 0) {
    process.stderr.write(`unexpected arguments: ${extra.join(" ")}\n\n${usage}`);
    return 2;
  }
  const dir = values.dir ?? defaultClusterDir();
  switch (sub) {
    case "up":
      return up(dir, {
        nodes: parseCount(values.nodes, "--nodes", 3),
        gpus: parseCount(values.gpus, "--gpus", 0),
        kubeApiQps: parseCount(values["kube-api-qps"], "--kube-api-qps", 20),
        kubeApiBurst: parseCount(values["kube-api-burst"], "--kube-api-burst", 30),
        controllers: values.controllers ?? "*",
        gangScheduling: values["gang-scheduling"] ?? !["0", "false"].includes(process.env.KUBELOOP_GANG_SCHEDULING ?? ""),
      });
    case "down":
      return down(dir);
    case "status":
      return status(dir);
    default:
      process.stderr.write(`${sub === undefined ? "missing subcommand" : `unknown subcommand ${JSON.stringify(sub)}`}\n\n${usage}`);
      return 2;
  }
}

const progress = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

async function up(
  dir: string,
  opts: { nodes: number; gpus: number; kubeApiQps: number; kubeApiBurst: number; controllers: string; gangScheduling: boolean },
): Promise<number> {
  const abort = new AbortController();
  const onSignal = (): void => abort.abort(new Error("interrupted; stopped what was started"));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const started = Date.now();
  try {
    const plane = await startControlPlane({
      dir,
      kubeApiQps: opts.kubeApiQps,
      kubeApiBurst: opts.kubeApiBurst,
      controllers: opts.controllers,
      gangScheduling: opts.gangScheduling,
      onProgress: progress,
      stopOnExit: false,
      signal: abort.signal,
    });
    try {
      if (opts.nodes > 0) {
        const names = await createFakeNodes(
          plane.kubeconfigPath,
          { count: opts.nodes, ...(opts.gpus > 0 ? { gpus: opts.gpus, gpuProduct: "NVIDIA-H100-80GB-HBM3" } : {}) },
          { signal: abort.signal },
        );
        progress(`fake nodes Ready: ${names.join(", ")}`);
      }
    } catch (err) {
      await plane.stop();
      throw err;
    }
    progress(`cluster up in ${((Date.now() - started) / 1000).toFixed(1)}s; logs in ${dir}/logs; stop it with \`npm run cluster -- down${dir === defaultClusterDir() ? "" : ` --dir ${dir}`}\``);
    process.stdout.write(`export KUBECONFIG=${plane.kubeconfigPath}\nexport KUBELOOP_CLUSTER_DIR=${dir}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`cluster up failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

async function down(dir: string): Promise<number> {
  const existed = await destroyControlPlane(dir);
  process.stderr.write(existed ? `stopped the control plane and removed its data in ${dir}\n` : `no control plane in ${dir}; nothing to do\n`);
  return 0;
}

async function status(dir: string): Promise<number> {
  const s = await controlPlaneStatus(dir);
  if (!s) {
    process.stdout.write(`no control plane in ${dir} (start one with \`npm run cluster -- up\`)\n`);
    return 1;
  }
  const lines = [
    `cluster dir  ${s.dir}`,
    `started      ${s.startedAt}`,
    `server       ${s.server}`,
    `kubeconfig   ${s.kubeconfigPath}`,
    "",
    `${"PROCESS".padEnd(24)} ${"PID".padEnd(8)} STATE`,
    ...s.processes.map((p) => `${p.name.padEnd(24)} ${String(p.pid).padEnd(8)} ${p.running ? (p.healthy ? "ready" : "running, not ready") : `stopped (log: ${p.logPath})`}`),
  ];
  process.stdout.write(lines.join("\n") + "\n");
  return s.processes.length > 0 && s.processes.every((p) => p.healthy) ? 0 : 1;
}
