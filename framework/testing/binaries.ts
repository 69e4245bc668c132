import { sleep } from "../flowcontrol/index.ts";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { constants as fsConstants, createWriteStream } from "node:fs";
import { access, chmod, cp, mkdir, mkdtemp, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The programs the harness can build: the control plane's, kubectl and helm (the last two only when asked for). */
export type Component =
  | "etcd"
  | "kube-apiserver"
  | "kube-controller-manager"
  | "kube-scheduler"
  | "kubectl"
  | "kwok"
  | "helm"
  | "validate-crd"
  | "typecheck-policy";

/** The programs a local control plane runs. */
export type ControlPlaneComponent = "etcd" | "kube-apiserver" | "kube-controller-manager" | "kube-scheduler" | "kwok";

/**
 * Every control-plane component, what {@link ensureBinaries} provides by default. kubectl
 * and helm are not among them: nothing in the harness runs them, so they are built only when
 * asked for (`components: ["kubectl"]`, `components: ["helm"]` for the chart's tests).
 */
export const allComponents: readonly ControlPlaneComponent[] = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"];

/** Absolute paths of the built (or supplied) programs, one per component asked for. */
export type BinaryPaths<C extends Component = ControlPlaneComponent> = Record<C, string>;

/**
 * Versions the harness builds. Kubernetes, etcd and kwok must match the wrapper modules in
 * `framework/testing/toolchain/` (a unit test checks the go.mod files).
 */
export const componentVersions = {
  kubernetes: "v1.36.3",
  etcd: "v3.6.10",
  kwok: "v0.8.0",
  helm: "v3.21.4",
} as const;

/**
 * Release date of Kubernetes v1.36.3 (the module proxy's timestamp), used as `buildDate` so
 * builds are reproducible. The git commit is not recorded by the module proxy: zeros.
 */
const kubernetesBuildDate = "2026-07-22T18:07:38Z";
const kubernetesGitCommit = "0000000000000000000000000000000000000000";

const toolchainDir = fileURLToPath(new URL("./toolchain/", import.meta.url));

/**
 * One `go` invocation of a cold build:
 * - `"kubernetes"`: one `go build` in the `toolchain/kubernetes` module writing the multi-call
 *   binary `kubernetes` (kube-apiserver, kube-controller-manager and kube-scheduler, reached
 *   through symlinks of those names) and `kwok`, linked against the same compiled Kubernetes
 *   packages;
 * - `"etcd"`: `go build` in `toolchain/etcd`;
 * - `"kubectl"`: `go build k8s.io/kubernetes/cmd/kubectl` in `toolchain/kubernetes`;
 * - `"helm"`: `go install helm.sh/helm/v3/cmd/helm@v3.21.4`, outside any module.
 */
export type GoBuild = "kubernetes" | "etcd" | "kubectl" | "helm";

/** The build that provides a component. */
export function buildOf(component: Component): GoBuild {
  switch (component) {
    case "kube-apiserver":
    case "kube-controller-manager":
    case "kube-scheduler":
    case "validate-crd":
    case "typecheck-policy":
    case "kwok":
      return "kubernetes";
    default:
      return component;
  }
}

/**
 * The builds that provide `components`, each once, in the order they run: the long Kubernetes
 * build first, so a failure there shows before the short ones ran.
 */
export function buildsFor(components: readonly Component[]): GoBuild[] {
  const order: readonly GoBuild[] = ["kubernetes", "etcd", "kubectl", "helm"];
  const wanted = new Set(components.map(buildOf));
  return order.filter((b) => wanted.has(b));
}

/**
 * Layout generation of the Kubernetes entry. Bump it whenever what the entry holds changes, so
 * a cache written by an older harness is not taken for the new layout. 1 was one file per
 * component (`kube-apiserver-v1.36.3`, ..., `kwok-v0.8.0`); 2 is the multi-call directory; 3
 * adds `validate-crd` to it; 4 adds `typecheck-policy`.
 */
const kubernetesLayout = 4;

/**
 * Name of a build's entry in the binary cache: a file for etcd, kubectl and helm
 * (`etcd-v3.6.10`), a directory for the Kubernetes build
 * (`kubernetes-v1.36.3-kwok-v0.8.0-layout4/`, holding `kubernetes`, the symlinks
 * `kube-apiserver`, `kube-controller-manager`, `kube-scheduler`, `validate-crd` and
 * `typecheck-policy` to it, and
 * `kwok`).
 */
export function cacheEntryOf(build: GoBuild): string {
  switch (build) {
    case "kubernetes":
      return `kubernetes-${componentVersions.kubernetes}-kwok-${componentVersions.kwok}-layout${kubernetesLayout}`;
    case "etcd":
      return `etcd-${componentVersions.etcd}`;
    case "kubectl":
      return `kubectl-${componentVersions.kubernetes}`;
    case "helm":
      return `helm-${componentVersions.helm}`;
  }
}

/**
 * The names the multi-call binary answers to (its symlinks in the Kubernetes entry): the three
 * control-plane components, `validate-crd` (kube-apiserver's CustomResourceDefinition create
 * validation without a server, `validateCustomResourceDefinitions`) and `typecheck-policy`
 * (kube-controller-manager's ValidatingAdmissionPolicy type checking without a server,
 * `typeCheckValidatingAdmissionPolicies`).
 */
export const multiCallComponents = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "validate-crd", "typecheck-policy"] as const;

/** Where a component lives in the binary cache `cacheDir` once built. */
export function cachedPathOf(component: Component, cacheDir: string): string {
  const build = buildOf(component);
  return build === "kubernetes" ? join(cacheDir, cacheEntryOf(build), component) : join(cacheDir, cacheEntryOf(build));
}

/**
 * The cache directory for built programs: `${XDG_CACHE_HOME:-~/.cache}/kubeloop/bin`.
 */
export function defaultBinaryCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME !== "" ? env.XDG_CACHE_HOME : join(homedir(), ".cache");
  return join(base, "kubeloop", "bin");
}

/** How `go` is invoked for one build: working directory, arguments, extra environment. */
export interface GoBuildPlan {
  build: GoBuild;
  /** `"kubernetes"` or `"etcd"`: the wrapper module copied to a temp dir and built there; undefined for helm (`go install pkg@version`, outside any module). */
  module: "kubernetes" | "etcd" | undefined;
  args: string[];
  /** Variables added to the inherited environment. */
  env: Record<string, string>;
}

/**
 * The `-ldflags` value of the Kubernetes builds: `-s -w` plus the version variables of
 * `k8s.io/component-base/version` (without them `/version` reports v0.0.0), as
 * kubernetes' hack/lib/version.sh sets them, and kwok's version.
 */
export function kubernetesLdflags(): string {
  const v = componentVersions.kubernetes;
  const [major, minor] = v.slice(1).split(".");
  const pkg = "k8s.io/component-base/version";
  return [
    "-s",
    "-w",
    `-X ${pkg}.gitVersion=${v}`,
    `-X ${pkg}.gitMajor=${major}`,
    `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitTreeState=clean`,
    `-X ${pkg}.gitCommit=${kubernetesGitCommit}`,
    `-X ${pkg}.buildDate=${kubernetesBuildDate}`,
    `-X sigs.k8s.io/kwok/pkg/consts.Version=${componentVersions.kwok}`,
  ].join(" ");
}

/**
 * The `go` command line of one build. `output` is the file to write for etcd and kubectl, the
 * directory to write `kubernetes` and `kwok` into for the Kubernetes build, and the GOBIN
 * directory `go install` writes `helm` into.
 */
export function goBuildPlan(build: GoBuild, output: string): GoBuildPlan {
  const env = { CGO_ENABLED: "0", GOTOOLCHAIN: "local" };
  switch (build) {
    case "etcd":
      return { build, module: "etcd", env, args: ["build", "-trimpath", "-ldflags", "-s -w", "-o", output, "."] };
    case "kubernetes":
      // One invocation for both programs: the packages they share compile once, and kwok's
      // link overlaps the multi-call binary's.
      return {
        build,
        module: "kubernetes",
        env,
        args: ["build", "-trimpath", "-ldflags", kubernetesLdflags(), "-o", output.endsWith("/") ? output : `${output}/`, ".", "sigs.k8s.io/kwok/cmd/kwok"],
      };
    case "kubectl":
      return { build, module: "kubernetes", env, args: ["build", "-trimpath", "-ldflags", kubernetesLdflags(), "-o", output, "k8s.io/kubernetes/cmd/kubectl"] };
    case "helm": {
      const version = componentVersions.helm;
      return {
        build,
        module: undefined,
        env: { ...env, GOBIN: output },
        args: ["install", "-trimpath", "-ldflags", `-s -w -X helm.sh/helm/v3/internal/version.version=${version}`, `helm.sh/helm/v3/cmd/helm@${version}`],
      };
    }
  }
}

/** Options of {@link ensureBinaries}. */
export interface EnsureBinariesOptions<C extends Component = ControlPlaneComponent> {
  /** Where built programs are kept; default {@link defaultBinaryCacheDir}. */
  cacheDir?: string;
  /** Components wanted; default {@link allComponents} (the control plane's, without kubectl and helm). */
  components?: readonly C[];
  /** One human-readable line per step (build start, build end with seconds, reuse of KUBEBUILDER_ASSETS). */
  onProgress?: (line: string) => void;
  /** Aborting kills a running `go` build and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Environment to read `KUBEBUILDER_ASSETS` and `PATH` from; default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** Components `KUBEBUILDER_ASSETS` (the envtest convention) may supply. */
const assetComponents: ReadonlySet<Component> = new Set(["etcd", "kube-apiserver", "kubectl"]);

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, fsConstants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Returns the paths of the programs asked for (by default the control plane's), building the
 * missing ones first.
 *
 * Built programs are cached per machine under `cacheDir` ({@link cachedPathOf}): etcd, kubectl
 * and helm as `<name>-<version>` files, kube-apiserver, kube-controller-manager,
 * kube-scheduler and kwok in one directory from one `go build` ({@link cacheEntryOf}). A build
 * writes a temp name and renames it, so concurrent callers never see half a build. When
 * `KUBEBUILDER_ASSETS` names a directory, etcd, kube-apiserver and kubectl are taken from it
 * (as envtest does) and only the rest is built. Builds use copies of the wrapper modules in
 * `framework/testing/toolchain/`; helm uses `go install ...@v3.21.4`.
 *
 * A cold build of the control plane takes about 10 minutes on two cores (README, "Measured").
 *
 * @throws Error when `go` is not on PATH or is older than the modules need, or when a build
 *   fails (the message names the build log under `<cacheDir>/../build-logs/`).
 */
export async function ensureBinaries<C extends Component = ControlPlaneComponent>(opts: EnsureBinariesOptions<C> = {}): Promise<BinaryPaths<C>> {
  const env = opts.env ?? process.env;
  const cacheDir = opts.cacheDir ?? defaultBinaryCacheDir(env);
  const progress = opts.onProgress ?? (() => {});
  const wanted: readonly Component[] = opts.components ?? allComponents;
  const assets = env.KUBEBUILDER_ASSETS && env.KUBEBUILDER_ASSETS !== "" ? env.KUBEBUILDER_ASSETS : undefined;
  const paths: Partial<Record<Component, string>> = {};
  const missing: Component[] = [];

  for (const component of wanted) {
    if (assets !== undefined && assetComponents.has(component)) {
      const candidate = join(assets, component);
      if (await isExecutable(candidate)) {
        paths[component] = candidate;
        progress(`using ${component} from KUBEBUILDER_ASSETS (${candidate})`);
        continue;
      }
      progress(`KUBEBUILDER_ASSETS has no ${component}; building it`);
    }
    const cached = cachedPathOf(component, cacheDir);
    if (await isExecutable(cached)) {
      paths[component] = cached;
    } else {
      missing.push(component);
    }
  }

  if (missing.length > 0) {
    await checkGo(env);
    await mkdir(cacheDir, { recursive: true });
    const release = await acquireBuildLock(cacheDir, progress, opts.signal);
    try {
      const stillMissing: Component[] = [];
      for (const component of missing) {
        // Another process may have built it while we waited for the lock.
        const cached = cachedPathOf(component, cacheDir);
        if (await isExecutable(cached)) paths[component] = cached;
        else stillMissing.push(component);
      }
      const builds = buildsFor(stillMissing);
      if (builds.length > 0) {
        progress(`building ${stillMissing.join(", ")} into ${cacheDir} (this takes minutes on first use)`);
      }
      for (const build of builds) {
        opts.signal?.throwIfAborted();
        await buildOne(build, cacheDir, env, progress, opts.signal);
      }
      for (const component of stillMissing) {
        const cached = cachedPathOf(component, cacheDir);
        if (!(await isExecutable(cached))) throw new Error(`the build of ${buildOf(component)} left no executable ${cached}`);
        paths[component] = cached;
      }
    } finally {
      await release();
    }
  }
  return paths as BinaryPaths<C>;
}

/**
 * One build at a time per cache directory (two cold builds on two cores would each take twice
 * as long): `<cacheDir>/.build.lock` holds the builder's pid; a lock whose pid is gone is taken over.
 */
async function acquireBuildLock(cacheDir: string, progress: (line: string) => void, signal?: AbortSignal): Promise<() => Promise<void>> {
  const lockPath = join(cacheDir, ".build.lock");
  let reported = false;
  for (;;) {
    signal?.throwIfAborted();
    try {
      await writeFile(lockPath, String(process.pid), { flag: "wx" });
      return () => rm(lockPath, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = Number((await readFile(lockPath, "utf8").catch(() => "")).trim());
    let alive = false;
    if (Number.isInteger(holder) && holder > 0) {
      try {
        process.kill(holder, 0);
        alive = true;
      } catch (err) {
        alive = (err as NodeJS.ErrnoException).code === "EPERM";
      }
    }
    if (!alive) {
      // Stale: its builder died. Remove it only if it still names that builder.
      const again = (await readFile(lockPath, "utf8").catch(() => "")).trim();
      if (again === String(holder) || again === "") await rm(lockPath, { force: true });
      continue;
    }
    if (!reported) {
      progress(`waiting for another build (pid ${holder}, lock ${lockPath})`);
      reported = true;
    }
    await sleep(1_000);
  }
}

interface RunResult {
  code: number | null;
  output: string;
}

function runCommand(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; logPath?: string; signal?: AbortSignal },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const log = options.logPath ? createWriteStream(options.logPath) : undefined;
    let output = "";
    const onData = (chunk: Buffer): void => {
      log?.write(chunk);
      if (output.length < 64 * 1024) output += chunk.toString("utf8");
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", (err) => {
      log?.end();
      reject(err);
    });
    child.on("close", (code) => {
      if (log) log.end(() => resolve({ code, output }));
      else resolve({ code, output });
    });
  });
}

async function checkGo(env: NodeJS.ProcessEnv): Promise<void> {
  let result: RunResult;
  try {
    result = await runCommand("go", ["env", "GOVERSION"], { cwd: tmpdir(), env: { ...env, GOTOOLCHAIN: "local" } });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(
        "building the control plane needs the Go toolchain (go 1.26 or newer) on PATH, and `go` was not found; " +
          "install it from https://go.dev/dl/ (or put prebuilt etcd, kube-apiserver and kubectl in KUBEBUILDER_ASSETS; the rest still needs Go)",
      );
    }
    throw err;
  }
  const version = result.output.trim();
  const match = /^go(\d+)\.(\d+)/.exec(version);
  if (result.code !== 0 || !match) {
    throw new Error(`\`go env GOVERSION\` failed (exit ${result.code}): ${version}`);
  }
  const [major, minor] = [Number(match[1]), Number(match[2])];
  if (major < 1 || (major === 1 && minor < 26)) {
    throw new Error(`Kubernetes ${componentVersions.kubernetes} needs go 1.26 or newer; \`go\` on PATH is ${version}. Install a newer Go from https://go.dev/dl/`);
  }
}

async function buildOne(
  build: GoBuild,
  cacheDir: string,
  env: NodeJS.ProcessEnv,
  progress: (line: string) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  const entry = cacheEntryOf(build);
  const finalPath = join(cacheDir, entry);
  const logDir = join(cacheDir, "..", "build-logs");
  await mkdir(logDir, { recursive: true });
  const logPath = join(logDir, `${entry}.log`);
  const work = await mkdtemp(join(tmpdir(), `kubeloop-build-${build}-`));
  const tempName = join(cacheDir, `.${entry}.${randomBytes(4).toString("hex")}.tmp`);
  const started = Date.now();
  const label = build === "kubernetes" ? `${multiCallComponents.join(", ")} and kwok` : build;
  const ticker = setInterval(() => {
    progress(`  still building ${label} (${Math.round((Date.now() - started) / 1000)}s)`);
  }, 30_000);
  ticker.unref();
  progress(`building ${label} (${entry})...`);
  try {
    // helm: `go install` writes <GOBIN>/helm, moved to tempName below. The Kubernetes build
    // writes into the directory tempName, which becomes the cache entry.
    const output = build === "helm" ? join(work, "gobin") : tempName;
    if (build === "kubernetes") await mkdir(tempName);
    const plan = goBuildPlan(build, output);
    let cwd = work;
    if (plan.module !== undefined) {
      // Build from a copy: `go` may rewrite go.mod/go.sum, and the checkout may be read-only.
      cwd = join(work, plan.module);
      await cp(join(toolchainDir, plan.module), cwd, { recursive: true });
    }
    const result = await runCommand("go", plan.args, {
      cwd,
      env: { ...env, ...plan.env },
      logPath,
      ...(signal ? { signal } : {}),
    });
    if (result.code !== 0) {
      const tail = result.output.trim().split("\n").slice(-15).join("\n");
      throw new Error(
        `building ${label} (${entry}) failed (go exit ${result.code}) after ${Math.round((Date.now() - started) / 1000)}s; ` +
          `full build log: ${logPath}\n${tail}`,
      );
    }
    if (build === "helm") await rename(join(work, "gobin", "helm"), tempName);
    if (build === "kubernetes") {
      // Relative links, so they survive the rename of the directory.
      for (const name of multiCallComponents) await symlink("kubernetes", join(tempName, name));
      await chmod(join(tempName, "kubernetes"), 0o755);
      await chmod(join(tempName, "kwok"), 0o755);
    } else {
      await chmod(tempName, 0o755);
    }
    // A directory left by an interrupted rename would make rename fail: a complete entry is
    // only ever created by this rename, under the build lock.
    await rm(finalPath, { recursive: true, force: true });
    await rename(tempName, finalPath);
    progress(`built ${label} in ${Math.round((Date.now() - started) / 1000)}s`);
  } finally {
    clearInterval(ticker);
    await rm(tempName, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  }
}
