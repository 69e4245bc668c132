import { cp, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { CoreV1Api, KubeConfig, VersionApi } from "@kubernetes/client-node";
import { sleepOrThrow as sleep } from "../flowcontrol/index.ts";
import { ensureBinaries, type BinaryPaths } from "./binaries.ts";
import { generateTokens, writeCredentials, writeKubeconfigs, type ClusterTokens } from "./credentials.ts";
import {
  clusterPaths,
  defaultSettings,
  etcdArgs,
  healthUrl,
  auditPolicyContent,
  kubeApiserverArgs,
  kubeControllerManagerArgs,
  kubeSchedulerArgs,
  kwokArgs,
  processNames,
  type ClusterPaths,
  type ControlPlanePorts,
  type ControlPlaneSettings,
  type ProcessName,
} from "./flags.ts";
import { assertPortFree, pickFreePorts, PortInUseError } from "./ports.ts";
import { httpGet, isRunning, startProcess, stopProcess, tailFile, type ProcessRecord, type StartedProcess } from "./processes.ts";
import { loadKwokStages, shippedStagesDir } from "./stages.ts";

/** Components {@link ControlPlane.restart} can restart (etcd holds the data and stays up). */
export type RestartableComponent = "kube-apiserver" | "kube-controller-manager" | "kube-scheduler" | "kwok";

/** One process of a local control plane. */
export interface ControlPlaneProcess {
  name: ProcessName;
  pid: number;
  binary: string;
  args: readonly string[];
  /** stdout and stderr of the process, appended across restarts. */
  logPath: string;
  /** 127.0.0.1 endpoint answering 200 when ready. */
  healthUrl: string;
}

/** A control plane tests and tools talk to through `kubeconfigPath`. */
export interface ControlPlane {
  /** Admin kubeconfig (token user in `system:masters`). */
  kubeconfigPath: string;
  /** API server URL, `https://127.0.0.1:<port>` for a local control plane. */
  server: string;
  /** True when the processes run on this machine under kubeloop's control. */
  local: boolean;
  /** Cluster directory (state, logs, data) of a local control plane; undefined otherwise. */
  dir: string | undefined;
  /** The processes as `<dir>/state.json` records them now, so restarts done by any process show (empty for an existing cluster). */
  readonly processes: readonly ControlPlaneProcess[];
  /**
   * Stops every process (SIGTERM, SIGKILL after 10 s), in reverse start order. With
   * `removeData` the cluster directory's contents are deleted too; otherwise logs and etcd
   * data stay for inspection. Does nothing for an existing (non-local) cluster.
   */
  stop(opts?: { removeData?: boolean }): Promise<void>;
  /**
   * Stops one component and starts it again with the same flags and ports, resolving when it
   * is ready (for kube-apiserver: also when kube-controller-manager acts on its watches again,
   * so the next user of the cluster does not meet controllers still backing off). Watches and
   * connections of clients drop meanwhile.
   * @throws Error on a non-local cluster, or when the component does not come back (with its last log lines).
   */
  restart(component: RestartableComponent): Promise<void>;
}

/** Options of {@link startControlPlane}. */
export interface StartControlPlaneOptions {
  /** Cluster directory; default `$KUBELOOP_CLUSTER_DIR`, else `./.kubeloop/cluster`. */
  dir?: string;
  /** kube-controller-manager client QPS toward the API server (upstream default 20). */
  kubeApiQps?: number;
  /** kube-controller-manager client burst (upstream default 30). */
  kubeApiBurst?: number;
  /** kube-scheduler client QPS toward the API server (upstream default 50). */
  schedulerApiQps?: number;
  /** kube-scheduler client burst (upstream default 100). */
  schedulerApiBurst?: number;
  /** kube-controller-manager `--controllers`, e.g. `*,-replicaset-controller` (default `*`). */
  controllers?: string;
  /** kube-apiserver `--etcd-compaction-interval` in seconds (default 60; upstream 300). */
  etcdCompactionIntervalSeconds?: number;
  /**
   * Serve the native gang-scheduling API (`scheduling.k8s.io/v1alpha2` PodGroup/Workload, gates
   * `GenericWorkload` and `GangScheduling` on kube-apiserver, kube-scheduler and
   * kube-controller-manager). Default: `$KUBELOOP_GANG_SCHEDULING` is `1` or `true`, else false.
   */
  gangScheduling?: boolean;
  /** Human-readable progress lines (builds, each component ready with seconds). */
  onProgress?: (line: string) => void;
  /** Per-component readiness timeout in milliseconds (default 120000). */
  readyTimeoutMs?: number;
  /**
   * Kill the processes when this Node process exits (default true), also on SIGINT/SIGTERM
   * when no other listener handles those signals. `cluster up` sets false so the cluster
   * outlives the command.
   */
  stopOnExit?: boolean;
  /** Aborting stops what was started and rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** What `state.json` in a cluster directory holds. */
interface ClusterState {
  version: 1;
  startedAt: string;
  server: string;
  kubeconfigPath: string;
  ports: ControlPlanePorts;
  settings: ControlPlaneSettings;
  processes: ProcessRecord[];
}

/**
 * The cluster directory used when none is given: `$KUBELOOP_CLUSTER_DIR`, else
 * `.kubeloop/cluster` in the working directory (the project's root when run through npm; never
 * inside `node_modules`, where the installed package lives).
 */
export function defaultClusterDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.KUBELOOP_CLUSTER_DIR;
  return resolve(fromEnv && fromEnv !== "" ? fromEnv : join(process.cwd(), ".kubeloop", "cluster"));
}

/** Entries of a cluster directory kubeloop owns; only these are ever removed. */
const ownedEntries = ["state.json", "etcd", "logs", "pki", "kubeconfig", "kubeconfigs", "kwok-stages"];

async function removeClusterData(dir: string): Promise<void> {
  for (const entry of ownedEntries) await rm(join(dir, entry), { recursive: true, force: true });
}

async function readState(paths: ClusterPaths): Promise<ClusterState | undefined> {
  let text: string;
  try {
    text = await readFile(paths.stateFile, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    const state = JSON.parse(text) as ClusterState;
    if (state.version !== 1 || !Array.isArray(state.processes)) throw new Error("unknown format");
    return state;
  } catch (err) {
    throw new Error(`cannot read cluster state ${paths.stateFile}: ${(err as Error).message}; remove the directory's contents with \`npm run cluster -- down --dir ${paths.dir}\``);
  }
}

async function writeState(paths: ClusterPaths, state: ClusterState): Promise<void> {
  const temp = `${paths.stateFile}.tmp`;
  await writeFile(temp, JSON.stringify(state, null, 2) + "\n");
  await rename(temp, paths.stateFile);
}

function runningProcesses(state: ClusterState): ProcessRecord[] {
  return state.processes.filter((p) => isRunning(p.pid, p.startTicks));
}


/**
 * Waits until `record.healthUrl` answers 200. Fails fast when the process exits, with the
 * last lines of its log.
 */
async function waitReady(record: ProcessRecord, started: StartedProcess | undefined, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  for (;;) {
    signal?.throwIfAborted();
    const exit = started?.exit();
    if (exit !== undefined || !isRunning(record.pid, record.startTicks)) {
      await sleep(200); // let the last log lines land
      const how = exit ? (exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`) : "is gone";
      throw new Error(
        `${record.name} (pid ${record.pid}) ${how} before becoming ready; last lines of ${record.logPath}:\n${await tailFile(record.logPath, 25)}`,
      );
    }
    try {
      const res = await httpGet(record.healthUrl, { timeoutMs: 3_000 });
      if (res.status === 200) return;
      last = `HTTP ${res.status}: ${res.body.slice(0, 2000)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${record.name} (pid ${record.pid}) was not ready after ${Math.round(timeoutMs / 1000)}s (${record.healthUrl}: ${last}); ` +
          `last lines of ${record.logPath}:\n${await tailFile(record.logPath, 25)}`,
      );
    }
    await sleep(250, signal);
  }
}

function portsOf(name: ProcessName, ports: ControlPlanePorts): number[] {
  switch (name) {
    case "etcd":
      return [ports.etcdClient, ports.etcdPeer];
    case "kube-apiserver":
      return [ports.kubeApiserver];
    case "kube-controller-manager":
      return [ports.kubeControllerManager];
    case "kube-scheduler":
      return [ports.kubeScheduler];
    case "kwok":
      return [ports.kwok];
  }
}

/** How often a component is started on fresh ports before a port conflict is reported. */
const maxPortAttempts = 4;

/** Gives `name` new free ports (in place). */
async function repickPorts(name: ProcessName, ports: ControlPlanePorts): Promise<void> {
  const fresh = await pickFreePorts(2);
  const [a, b] = [fresh[0]!, fresh[1]!];
  switch (name) {
    case "etcd":
      ports.etcdClient = a;
      ports.etcdPeer = b;
      return;
    case "kube-apiserver":
      ports.kubeApiserver = a;
      return;
    case "kube-controller-manager":
      ports.kubeControllerManager = a;
      return;
    case "kube-scheduler":
      ports.kubeScheduler = a;
      return;
    case "kwok":
      ports.kwok = a;
      return;
  }
}

function binaryOf(name: ProcessName, binaries: BinaryPaths): string {
  return binaries[name];
}

/** Environment for the control-plane processes: ours minus variables that would redirect them. */
function processEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.KUBECONFIG;
  return env;
}

/** Clusters to kill when this Node process ends, by directory. */
const stopOnExitRecords = new Map<string, () => ProcessRecord[]>();
let exitHandlerInstalled = false;

function killRegistered(): void {
  for (const get of stopOnExitRecords.values()) {
    for (const record of get()) {
      try {
        if (isRunning(record.pid, record.startTicks)) process.kill(record.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  stopOnExitRecords.clear();
}

/**
 * Kills the processes of `dir` when this Node process exits. The processes run in their own
 * process group, so Ctrl-C does not reach them: on SIGINT/SIGTERM with no other listener
 * (which would then own shutdown and call `stop()`), they are killed and the signal's
 * default action (exit) is restored and re-raised.
 */
function registerStopOnExit(dir: string, records: () => ProcessRecord[]): void {
  stopOnExitRecords.set(dir, records);
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on("exit", killRegistered);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    const onSignal = (): void => {
      if (process.listenerCount(signal) > 1) return; // someone else handles shutdown
      killRegistered();
      process.off(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

class LocalControlPlane implements ControlPlane {
  readonly local = true;
  readonly kubeconfigPath: string;
  readonly server: string;
  readonly dir: string;
  #state: ClusterState;
  readonly #paths: ClusterPaths;
  readonly #readyTimeoutMs: number;
  readonly #onProgress: (line: string) => void;

  constructor(paths: ClusterPaths, state: ClusterState, readyTimeoutMs: number, onProgress: (line: string) => void) {
    this.#paths = paths;
    this.#state = state;
    this.dir = paths.dir;
    this.kubeconfigPath = state.kubeconfigPath;
    this.server = state.server;
    this.#readyTimeoutMs = readyTimeoutMs;
    this.#onProgress = onProgress;
  }

  get processes(): readonly ControlPlaneProcess[] {
    return this.records().map((p) => ({ ...p, name: p.name as ProcessName }));
  }

  /**
   * The processes as `state.json` records them now: another process (a test that attached
   * and restarted a component) may have replaced one since this object was made.
   */
  records(): ProcessRecord[] {
    try {
      const onDisk = JSON.parse(readFileSync(this.#paths.stateFile, "utf8")) as ClusterState;
      if (onDisk.version === 1 && Array.isArray(onDisk.processes)) this.#state = onDisk;
    } catch {
      // no readable state file (removed by `cluster down`): keep what we know
    }
    return this.#state.processes;
  }

  async stop(opts: { removeData?: boolean } = {}): Promise<void> {
    await stopRecords([...this.records()].reverse());
    stopOnExitRecords.delete(this.dir);
    if (opts.removeData) await removeClusterData(this.dir);
  }

  async restart(component: RestartableComponent): Promise<void> {
    const index = this.records().findIndex((p) => p.name === component);
    const record = this.#state.processes[index];
    if (!record) throw new Error(`cannot restart ${component}: the control plane in ${this.dir} has no such process`);
    const started = Date.now();
    // Short grace: every restartable component is stateless, and kube-apiserver otherwise
    // holds open watches for up to a minute while draining.
    await stopProcess(record, 3_000);
    for (const port of portsOf(component, this.#state.ports)) await waitPortFree(port, component, 10_000);
    const proc = startProcess(component, record.binary, record.args, record.logPath, record.healthUrl, processEnv());
    this.#state = { ...this.#state, processes: this.#state.processes.map((p, i) => (i === index ? proc.record : p)) };
    await writeState(this.#paths, this.#state);
    await waitReady(proc.record, proc, this.#readyTimeoutMs);
    if (component === "kube-apiserver") await waitControllersFollow(this.kubeconfigPath, this.#readyTimeoutMs);
    this.#onProgress(`restarted ${component} (pid ${proc.record.pid}) in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  }
}

/**
 * Resolves once kube-controller-manager follows the API server again after a restart: a probe
 * Namespace gets its `default` ServiceAccount (the serviceaccounts controller acts on the
 * namespace watch). Without it, the next user of the cluster can meet controllers whose
 * reflectors are still in their reconnect backoff (client-go: up to 30 s per failure).
 * The probe Namespace is deleted again (not waited for).
 * @throws Error when the ServiceAccount does not appear within `timeoutMs` (ms).
 */
async function waitControllersFollow(kubeconfigPath: string, timeoutMs: number): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const name = `kubeloop-restart-probe-${Math.random().toString(36).slice(2, 8)}`;
  const deadline = performance.now() + timeoutMs;
  let created = false;
  let lastError: unknown;
  try {
    while (performance.now() < deadline) {
      try {
        if (!created) {
          await core.createNamespace({ body: { metadata: { name } } });
          created = true;
        }
        await core.readNamespacedServiceAccount({ namespace: name, name: "default" });
        return;
      } catch (err) {
        lastError = err;
        await sleep(250);
      }
    }
    throw new Error(`kube-controller-manager did not follow the restarted kube-apiserver within ${timeoutMs} ms: ` +
      `no ServiceAccount default in the probe Namespace ${name} (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`);
  } finally {
    if (created) await core.deleteNamespace({ name }).catch(() => undefined);
  }
}

async function stopRecords(records: ProcessRecord[]): Promise<void> {
  const errors: string[] = [];
  for (const record of records) {
    try {
      await stopProcess(record);
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  if (errors.length > 0) throw new Error(`stopping the control plane failed: ${errors.join("; ")}`);
}

async function waitPortFree(port: number, purpose: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await assertPortFree(port, purpose);
      return;
    } catch (err) {
      if (!(err instanceof PortInUseError) || Date.now() > deadline) throw err;
      await sleep(200);
    }
  }
}

/**
 * Starts a Kubernetes v1.36.3 control plane on 127.0.0.1: etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler and the kwok controller (fake nodes and pods,
 * see {@link createFakeNodes}), each on a free port, each logging to `<dir>/logs/<name>.log`.
 * Programs are built on first use ({@link ensureBinaries}). Resolves once every component
 * answers its health endpoint and the `default` ServiceAccount exists (pods can be created).
 *
 * The admin kubeconfig is written to `<dir>/kubeconfig`; `<dir>/state.json` lets
 * {@link attachControlPlane} and `npm run cluster -- down` find the processes later.
 * A directory left by a control plane whose processes are all gone is cleaned first.
 *
 * @throws Error when a control plane is already running in `dir`, when a port is taken
 *   ({@link PortInUseError}), when a build fails, or when a component exits or is not ready
 *   in time (with the last lines of its log). Whatever was started is stopped before throwing.
 */
export async function startControlPlane(opts: StartControlPlaneOptions = {}): Promise<ControlPlane> {
  const progress = opts.onProgress ?? (() => {});
  const dir = opts.dir ? resolve(opts.dir) : defaultClusterDir();
  const paths = clusterPaths(dir);
  const readyTimeoutMs = opts.readyTimeoutMs ?? 120_000;
  const settings: ControlPlaneSettings = {
    kubeApiQps: opts.kubeApiQps ?? defaultSettings.kubeApiQps,
    kubeApiBurst: opts.kubeApiBurst ?? defaultSettings.kubeApiBurst,
    schedulerApiQps: opts.schedulerApiQps ?? defaultSettings.schedulerApiQps,
    schedulerApiBurst: opts.schedulerApiBurst ?? defaultSettings.schedulerApiBurst,
    controllers: opts.controllers ?? defaultSettings.controllers,
    etcdCompactionIntervalSeconds: opts.etcdCompactionIntervalSeconds ?? defaultSettings.etcdCompactionIntervalSeconds,
    gangScheduling: opts.gangScheduling ?? ["1", "true"].includes(process.env.KUBELOOP_GANG_SCHEDULING ?? ""),
  };

  const previous = await readState(paths);
  if (previous) {
    const alive = runningProcesses(previous);
    if (alive.length > 0) {
      throw new Error(
        `a control plane is already running in ${dir} (${alive.map((p) => `${p.name} pid ${p.pid}`).join(", ")}; API server ${previous.server}); ` +
          `use it (attachControlPlane, KUBECONFIG=${previous.kubeconfigPath}) or stop it with \`npm run cluster -- down --dir ${dir}\``,
      );
    }
  }
  if (previous || existsSync(paths.etcdData)) {
    progress(`removing stale cluster state in ${dir} (its processes are gone)`);
    await removeClusterData(dir);
  }

  const stages = await loadKwokStages(shippedStagesDir);
  const binaries = await ensureBinaries({ onProgress: progress, ...(opts.signal ? { signal: opts.signal } : {}) });
  opts.signal?.throwIfAborted();

  const started = Date.now();
  const [etcdClient, etcdPeer, kubeApiserver, kubeControllerManager, kubeScheduler, kwok] = await pickFreePorts(6);
  const ports: ControlPlanePorts = {
    etcdClient: etcdClient!,
    etcdPeer: etcdPeer!,
    kubeApiserver: kubeApiserver!,
    kubeControllerManager: kubeControllerManager!,
    kubeScheduler: kubeScheduler!,
    kwok: kwok!,
  };
  await mkdir(paths.logs, { recursive: true });
  await mkdir(paths.etcdData, { recursive: true, mode: 0o700 });
  for (const name of ["kube-controller-manager", "kube-scheduler"] as const) await mkdir(paths.componentCertDir(name), { recursive: true });
  await mkdir(paths.apiserverCertDir, { recursive: true });
  await mkdir(paths.stagesDir, { recursive: true });
  const stageFiles: string[] = [];
  for (const file of [...new Set(stages.map((s) => s.file))]) {
    const target = join(paths.stagesDir, file.slice(file.lastIndexOf("/") + 1));
    await cp(file, target);
    stageFiles.push(target);
  }
  const tokens: ClusterTokens = generateTokens();
  await writeCredentials(paths, tokens);
  await writeFile(paths.auditPolicy, auditPolicyContent());

  const state: ClusterState = {
    version: 1,
    startedAt: new Date().toISOString(),
    server: `https://127.0.0.1:${ports.kubeApiserver}`,
    kubeconfigPath: paths.adminKubeconfig,
    ports,
    settings,
    processes: [],
  };
  await writeState(paths, state);
  if (opts.stopOnExit ?? true) registerStopOnExit(dir, () => state.processes);

  const argsOf = (name: ProcessName): string[] => {
    switch (name) {
      case "etcd":
        return etcdArgs(paths, ports);
      case "kube-apiserver":
        return kubeApiserverArgs(paths, ports, settings);
      case "kube-controller-manager":
        return kubeControllerManagerArgs(paths, ports, settings);
      case "kube-scheduler":
        return kubeSchedulerArgs(paths, ports, settings);
      case "kwok":
        return kwokArgs(paths, ports, stageFiles);
    }
  };

  try {
    for (const name of processNames) {
      const stepStarted = Date.now();
      // A picked port can be taken before the process binds it (another cluster starting, an
      // outgoing connection's ephemeral port): pick another one and retry, a few times.
      for (let attempt = 1; ; attempt++) {
        opts.signal?.throwIfAborted();
        const retry = attempt < maxPortAttempts;
        try {
          for (const port of portsOf(name, ports)) await assertPortFree(port, name);
        } catch (err) {
          if (!(err instanceof PortInUseError) || !retry) throw err;
          progress(`${name}: port ${err.port} was taken meanwhile; picking another`);
          await repickPorts(name, ports);
          continue;
        }
        const logPath = join(paths.logs, `${name}.log`);
        const proc = startProcess(name, binaryOf(name, binaries), argsOf(name), logPath, healthUrl(name, ports), processEnv());
        state.processes.push(proc.record);
        state.server = `https://127.0.0.1:${ports.kubeApiserver}`;
        await writeState(paths, state);
        try {
          await waitReady(proc.record, proc, readyTimeoutMs, opts.signal);
        } catch (err) {
          const died = proc.exit() !== undefined || !isRunning(proc.record.pid, proc.record.startTicks);
          const tail = await tailFile(logPath, 40);
          const thisAttempt = tail.slice(tail.lastIndexOf("\n==== ") + 1); // lines since this start
          if (!retry || !died || !thisAttempt.includes("address already in use")) throw err;
          await stopProcess(proc.record);
          state.processes.pop();
          if (name === "etcd") {
            await rm(paths.etcdData, { recursive: true, force: true });
            await mkdir(paths.etcdData, { recursive: true, mode: 0o700 });
          }
          progress(`${name}: a port was taken before it could bind; picking another`);
          await repickPorts(name, ports);
          continue;
        }
        progress(`${name} ready (pid ${proc.record.pid}, ${((Date.now() - stepStarted) / 1000).toFixed(1)}s)`);
        break;
      }
      if (name === "kube-apiserver") {
        const ca = await readFile(paths.apiserverCert, "utf8");
        await writeKubeconfigs(paths, state.server, ca, tokens);
      }
      if (name === "kube-controller-manager") {
        await waitDefaultServiceAccount(state.server, tokens.admin, readyTimeoutMs, opts.signal);
      }
    }
  } catch (err) {
    stopOnExitRecords.delete(dir);
    await stopRecords([...state.processes].reverse()).catch(() => {});
    throw err;
  }
  progress(`control plane ready in ${((Date.now() - started) / 1000).toFixed(1)}s: ${state.server}, KUBECONFIG=${paths.adminKubeconfig}`);
  const plane = new LocalControlPlane(paths, state, readyTimeoutMs, progress);
  if (opts.stopOnExit ?? true) registerStopOnExit(dir, () => plane.records());
  return plane;
}

/** The serviceaccount controller creates `default` in each namespace; pods are refused until then. */
async function waitDefaultServiceAccount(server: string, token: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    signal?.throwIfAborted();
    try {
      const res = await httpGet(`${server}/api/v1/namespaces/default/serviceaccounts/default`, { bearerToken: token });
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(`the default ServiceAccount in namespace default did not appear within ${timeoutMs / 1000}s (${last}); is kube-controller-manager's serviceaccount controller enabled?`);
    }
    await sleep(250, signal);
  }
}

/**
 * Connects to a local control plane started earlier (by `npm run cluster -- up` or another
 * process) from `<dir>/state.json`. The result can stop and restart its processes.
 *
 * @param dir cluster directory; default `$KUBELOOP_CLUSTER_DIR`, else `./.kubeloop/cluster`.
 * @throws Error when the directory has no state file, or its kube-apiserver is not running or not ready within 10 s.
 */
export async function attachControlPlane(dir?: string): Promise<ControlPlane> {
  const paths = clusterPaths(dir ? resolve(dir) : defaultClusterDir());
  const state = await readState(paths);
  if (!state) {
    throw new Error(`no local control plane in ${paths.dir} (no state.json); start one with \`npm run cluster -- up --dir ${paths.dir}\``);
  }
  const apiserver = state.processes.find((p) => p.name === "kube-apiserver");
  if (!apiserver || !isRunning(apiserver.pid, apiserver.startTicks)) {
    throw new Error(
      `the control plane in ${paths.dir} is not running (kube-apiserver ${apiserver ? `pid ${apiserver.pid} is gone` : "never started"}); ` +
        `run \`npm run cluster -- down --dir ${paths.dir}\` and \`npm run cluster -- up --dir ${paths.dir}\``,
    );
  }
  await waitReady(apiserver, undefined, 10_000);
  return new LocalControlPlane(paths, state, 120_000, () => {});
}

/** Health of each process of a local control plane, for `cluster status`. */
export interface ControlPlaneStatus {
  dir: string;
  server: string;
  kubeconfigPath: string;
  startedAt: string;
  processes: { name: string; pid: number; running: boolean; healthy: boolean; logPath: string }[];
}

/** Reads `<dir>/state.json` and probes each process; undefined when there is no state file. */
export async function controlPlaneStatus(dir?: string): Promise<ControlPlaneStatus | undefined> {
  const paths = clusterPaths(dir ? resolve(dir) : defaultClusterDir());
  const state = await readState(paths);
  if (!state) return undefined;
  const processes = await Promise.all(
    state.processes.map(async (p) => {
      const running = isRunning(p.pid, p.startTicks);
      let healthy = false;
      if (running) {
        try {
          healthy = (await httpGet(p.healthUrl, { timeoutMs: 2_000 })).status === 200;
        } catch {
          healthy = false;
        }
      }
      return { name: p.name, pid: p.pid, running, healthy, logPath: p.logPath };
    }),
  );
  return { dir: paths.dir, server: state.server, kubeconfigPath: state.kubeconfigPath, startedAt: state.startedAt, processes };
}

/**
 * Stops the processes recorded in `<dir>/state.json` (whoever started them) and removes the
 * cluster data. Resolves to false when there was no state file (nothing to stop).
 */
export async function destroyControlPlane(dir?: string): Promise<boolean> {
  const paths = clusterPaths(dir ? resolve(dir) : defaultClusterDir());
  const state = await readState(paths);
  if (state) await stopRecords([...state.processes].reverse());
  const hadData = state !== undefined || existsSync(paths.etcdData);
  await removeClusterData(paths.dir);
  return hadData;
}

/**
 * An existing cluster reached through a kubeconfig (kind in CI, or any cluster a user
 * chooses): nothing is started, `stop()` does nothing, `restart()` throws.
 *
 * @param kubeconfigPath one kubeconfig file; default `$KUBECONFIG`.
 * @throws Error when no path is given, or the API server does not answer `/version` in 10 s.
 */
export async function existingControlPlane(kubeconfigPath: string | undefined = process.env.KUBECONFIG): Promise<ControlPlane> {
  if (!kubeconfigPath) throw new Error("existingControlPlane needs a kubeconfig path (or KUBECONFIG set)");
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`kubeconfig ${kubeconfigPath} has no current cluster; set current-context`);
  await fetchVersion(kc, 10_000);
  return {
    kubeconfigPath,
    server: cluster.server,
    local: false,
    dir: undefined,
    processes: [],
    stop: async () => {},
    restart: async (component) => {
      throw new Error(`cannot restart ${component}: the cluster at ${cluster.server} (${kubeconfigPath}) is not a local kubeloop control plane`);
    },
  };
}

/** GET /version through the kubeconfig's credentials; the parsed `gitVersion`. */
export async function fetchVersion(kc: KubeConfig, timeoutMs: number): Promise<string> {
  const api = kc.makeApiClient(VersionApi);
  const timeout = new Promise<never>((_, reject) => {
    const t = setTimeout(() => reject(new Error(`${kc.getCurrentCluster()?.server}/version did not answer within ${timeoutMs}ms`)), timeoutMs);
    t.unref();
  });
  const info = await Promise.race([api.getCode(), timeout]);
  return info.gitVersion;
}

/**
 * The cluster e2e tests run against: the local control plane named by
 * `$KUBELOOP_CLUSTER_DIR` (set by `test/run.ts`; restartable), else the cluster of
 * `$KUBECONFIG` (not restartable).
 * @throws Error saying how to get a cluster when neither variable is set.
 */
export async function testControlPlane(env: NodeJS.ProcessEnv = process.env): Promise<ControlPlane> {
  if (env.KUBELOOP_CLUSTER_DIR) return attachControlPlane(env.KUBELOOP_CLUSTER_DIR);
  if (env.KUBECONFIG) return existingControlPlane(env.KUBECONFIG);
  throw new Error(
    "e2e tests need a Kubernetes cluster: run them through `npm test` (starts a local control plane), " +
      "or start one with `npm run cluster -- up` and set KUBELOOP_CLUSTER_DIR=.kubeloop/cluster, or set KUBECONFIG to an existing cluster",
  );
}

/**
 * The audit log of a local control plane (JSON lines, `audit.k8s.io/v1` Events of the requests
 * made by `AUDITED_NAMESPACE`'s service accounts, at the Metadata level); undefined for a
 * cluster kubeloop did not start (kind, or any `KUBECONFIG`), whose audit log it cannot read.
 */
export function auditLogOf(plane: Pick<ControlPlane, "dir">): string | undefined {
  return plane.dir ? clusterPaths(plane.dir).auditLog : undefined;
}
