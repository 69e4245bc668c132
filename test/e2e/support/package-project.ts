/**
 * What the package e2e tests share: `npm pack` of this repository (its `prepack` builds
 * `dist/`), and installing a fresh project outside the repository with the dependency versions
 * this repository's lockfile pinned. Commands run with the Node that runs the tests first on
 * PATH (the project's own Node 24), so npm's scripts see it too.
 */
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** The environment of the commands: the test's Node first on PATH; not a child of this test run. */
export function commandEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${join(process.execPath, "..")}:${process.env.PATH ?? ""}` };
  // A project's own `node --test` is a test run of its own, not a child of this one.
  delete env["NODE_TEST_CONTEXT"];
  return env;
}

/** Runs `command` to its end; its exit code and its stdout and stderr together. */
export function run(command: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? commandEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** `npm pack` of this repository into `dir`: the tarball's path and the files it holds. @throws Error when npm pack fails. */
export async function packKubeloop(dir: string): Promise<{ tarball: string; files: Set<string> }> {
  const packed = await run("npm", ["pack", "--json", "--pack-destination", dir], { cwd: repoRoot, timeoutMs: 600_000 });
  if (packed.code !== 0) throw new Error(`npm pack failed:\n${packed.output}`);
  const report = JSON.parse(packed.output.slice(packed.output.indexOf("[\n"))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  return { tarball: join(dir, report[0]!.filename), files: new Set(report[0]!.files.map((f) => f.path)) };
}

/** The exact installed version of a package in this repository's node_modules. */
export async function installedVersion(pkg: string): Promise<string> {
  return (JSON.parse(await readFile(join(repoRoot, "node_modules", pkg, "package.json"), "utf8")) as { version: string }).version;
}

/**
 * npm `overrides` pinning every package that this repository's `package-lock.json` holds in one
 * version only to that version: the fresh project then installs the dependency tree the
 * repository was tested with (as a lockfile would), not whatever newer versions the registry
 * offers today, which a registry mirror may not have.
 */
async function lockedVersions(except: readonly string[]): Promise<Record<string, string>> {
  const lock = JSON.parse(await readFile(join(repoRoot, "package-lock.json"), "utf8")) as { packages: Record<string, { version?: string }> };
  const versions = new Map<string, Set<string>>();
  for (const [path, entry] of Object.entries(lock.packages)) {
    const at = path.lastIndexOf("node_modules/");
    if (at < 0 || !entry.version) continue;
    const name = path.slice(at + "node_modules/".length);
    versions.set(name, (versions.get(name) ?? new Set()).add(entry.version));
  }
  return Object.fromEntries([...versions].filter(([name, v]) => v.size === 1 && !except.includes(name)).map(([name, v]) => [name, [...v][0]!]));
}

/**
 * `npm install` in `project` (whose package.json exists) after pinning its dependency tree to
 * this repository's lockfile (`overrides`, except for the project's direct dependencies).
 * @throws Error with npm's output when the install fails.
 */
export async function installProject(project: string): Promise<void> {
  const path = join(project, "package.json");
  const pkg = JSON.parse(await readFile(path, "utf8")) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string>; overrides?: Record<string, string> };
  const direct = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})];
  pkg.overrides = await lockedVersions(direct);
  await writeFile(path, `${JSON.stringify(pkg, null, 2)}\n`);
  const installed = await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], { cwd: project, timeoutMs: 600_000 });
  if (installed.code !== 0) throw new Error(`npm install in ${project} failed:\n${installed.output}`);
}
