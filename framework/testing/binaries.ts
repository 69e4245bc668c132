import { sleep } from "../flowcontrol/index.ts";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { constants as fsConstants, createWriteStream } from "node:fs";
import { access, chmod, cp, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The programs a local control plane runs (kubectl is built for scripts and debugging). */
export type Component =
  | "etcd"
  | "kube-apiserver"
  | "kube-controller-manager"
  | "kube-scheduler"
  | "kubectl"
  | "kwok"
  | "helm";

/**
 * Every control-plane component, in build order (the Kubernetes ones share most compiled
 * packages). Helm is not among them: it is built only when asked for (`components: ["helm"]`),
 * for the chart's tests.
 */
export const allComponents: readonly Component[] = [
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kubectl",
  "etcd",
  "kwok",
];

/** Absolute paths of the built (or supplied) programs, one per component. */
export type BinaryPaths = Record<Component, string>;

/**
 * Versions the harness builds. Kubernetes and etcd must match the wrapper modules in
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

/** Version of one component, as used in the cached file name `<component>-<version>`. */
export function versionOf(component: Component): string {
  if (component === "etcd") return componentVersions.etcd;
  if (component === "kwok") return componentVersions.kwok;
  if (component === "helm") return componentVersions.helm;
  return componentVersions.kubernetes;
}

/**
 * The cache directory for built programs: `${XDG_CACHE_HOME:-~/.cache}/kubeloop/bin`.
 */
export function defaultBinaryCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME !== "" ? env.XDG_CACHE_HOME : join(homedir(), ".cache");
  return join(base, "kubeloop", "bin");
}

/** How `go` is invoked for one component: working directory, arguments, extra environment. */
export interface GoBuildPlan {
  component: Component;
  /** `"kubernetes"` or `"etcd"`: the wrapper module copied to a temp dir and built there; undefined for kwok and helm (`go install pkg@version`, outside any module). */
  module: "kubernetes" | "etcd" | undefined;
  args: string[];
  /** Variables added to the inherited environment. */
  env: Record<string, string>;
}

/**
 * The `go` command line that builds one component into `outputPath` (for kwok and helm,
 * `go install` writes `<GOBIN>/<component>`; `outputPath` is then the GOBIN directory).
 * Kubernetes gets the version ldflags without which `/version` reports v0.0.0.
 */
export function goBuildPlan(component: Component, outputPath: string): GoBuildPlan {
  const env = { CGO_ENABLED: "0", GOTOOLCHAIN: "local" };
  switch (component) {
    case "etcd":
      return { component, module: "etcd", env, args: ["build", "-trimpath", "-ldflags", "-s -w", "-o", outputPath, "."] };
    case "kwok":
      return goInstallPlan(component, "sigs.k8s.io/kwok/cmd/kwok", "sigs.k8s.io/kwok/pkg/consts.Version", outputPath, env);
    case "helm":
      return goInstallPlan(component, "helm.sh/helm/v3/cmd/helm", "helm.sh/helm/v3/internal/version.version", outputPath, env);
    default: {
      const v = componentVersions.kubernetes;
      const [major, minor] = v.slice(1).split(".");
      const pkg = "k8s.io/component-base/version";
      const ldflags = [
        "-s",
        "-w",
        `-X ${pkg}.gitVersion=${v}`,
        `-X ${pkg}.gitMajor=${major}`,
        `-X ${pkg}.gitMinor=${minor}`,
        `-X ${pkg}.gitTreeState=clean`,
        `-X ${pkg}.gitCommit=${kubernetesGitCommit}`,
        `-X ${pkg}.buildDate=${kubernetesBuildDate}`,
      ].join(" ");
      return {
        component,
        module: "kubernetes",
        env,
        args: ["build", "-trimpath", "-ldflags", ldflags, "-o", outputPath, `k8s.io/kubernetes/cmd/${component}`],
      };
    }
  }
}

/** `go install <pkg>@<version>` into the GOBIN `outputPath`, with the version stamped into `versionVar`. */
function goInstallPlan(component: "kwok" | "helm", pkg: string, versionVar: string, outputPath: string, env: Record<string, string>): GoBuildPlan {
  const version = componentVersions[component];
  return {
    component,
    module: undefined,
    env: { ...env, GOBIN: outputPath },
    args: ["install", "-trimpath", "-ldflags", `-s -w -X ${versionVar}=${version}`, `${pkg}@${version}`],
  };
}

/** Options of {@link ensureBinaries}. */
export interface EnsureBinariesOptions {
  /** Where built programs are kept; default {@link defaultBinaryCacheDir}. */
  cacheDir?: string;
  /** Components wanted; default all. */
  components?: readonly Component[];
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
 * Returns the paths of the control-plane programs, building the missing ones first.
 *
 * Built programs are cached per machine as `<cacheDir>/<component>-<version>`; a build writes
 * a temp name and renames it, so concurrent callers never see half a file. When
 * `KUBEBUILDER_ASSETS` names a directory, etcd, kube-apiserver and kubectl are taken from it
 * (as envtest does) and only the rest is built. Kubernetes and etcd are built from copies of
 * the wrapper modules in `framework/testing/toolchain/`; kwok with `go install ...@v0.8.0`.
 *
 * A cold build takes minutes per Kubernetes component on two cores.
 *
 * @throws Error when `go` is not on PATH or is older than the modules need, or when a build
 *   fails (the message names the build log under `<cacheDir>/../build-logs/`).
 */
export async function ensureBinaries(opts: EnsureBinariesOptions = {}): Promise<BinaryPaths> {
  const env = opts.env ?? process.env;
  const cacheDir = opts.cacheDir ?? defaultBinaryCacheDir(env);
  const progress = opts.onProgress ?? (() => {});
  const wanted = opts.components ?? allComponents;
  const assets = env.KUBEBUILDER_ASSETS && env.KUBEBUILDER_ASSETS !== "" ? env.KUBEBUILDER_ASSETS : undefined;
  const paths: Partial<BinaryPaths> = {};
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
    const cached = join(cacheDir, `${component}-${versionOf(component)}`);
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
      const toBuild: Component[] = [];
      for (const component of missing) {
        // Another process may have built it while we waited for the lock.
        const cached = join(cacheDir, `${component}-${versionOf(component)}`);
        if (await isExecutable(cached)) paths[component] = cached;
        else toBuild.push(component);
      }
      if (toBuild.length > 0) progress(`building ${toBuild.join(", ")} into ${cacheDir} (this takes minutes on first use)`);
      for (const component of toBuild) {
        opts.signal?.throwIfAborted();
        paths[component] = await buildOne(component, cacheDir, env, progress, opts.signal);
      }
    } finally {
      await release();
    }
  }
  return paths as BinaryPaths;
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
  component: Component,
  cacheDir: string,
  env: NodeJS.ProcessEnv,
  progress: (line: string) => void,
  signal: AbortSignal | undefined,
): Promise<string> {
  const version = versionOf(component);
  const finalPath = join(cacheDir, `${component}-${version}`);
  const logDir = join(cacheDir, "..", "build-logs");
  await mkdir(logDir, { recursive: true });
  const logPath = join(logDir, `${component}-${version}.log`);
  const work = await mkdtemp(join(tmpdir(), `kubeloop-build-${component}-`));
  const tempName = join(cacheDir, `.${component}-${version}.${randomBytes(4).toString("hex")}.tmp`);
  const started = Date.now();
  const ticker = setInterval(() => {
    progress(`  still building ${component} ${version} (${Math.round((Date.now() - started) / 1000)}s)`);
  }, 30_000);
  ticker.unref();
  progress(`building ${component} ${version}...`);
  try {
    // kwok, helm: `go install` writes <GOBIN>/<component>, moved to tempName below.
    const goInstall = component === "kwok" || component === "helm";
    const plan = goBuildPlan(component, goInstall ? join(work, "gobin") : tempName);
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
        `building ${component} ${version} failed (go exit ${result.code}) after ${Math.round((Date.now() - started) / 1000)}s; ` +
          `full build log: ${logPath}\n${tail}`,
      );
    }
    if (goInstall) await rename(join(work, "gobin", component), tempName);
    await chmod(tempName, 0o755);
    await rename(tempName, finalPath);
    progress(`built ${component} ${version} in ${Math.round((Date.now() - started) / 1000)}s`);
    return finalPath;
  } finally {
    clearInterval(ticker);
    await rm(tempName, { force: true });
    await rm(work, { recursive: true, force: true });
  }
}
