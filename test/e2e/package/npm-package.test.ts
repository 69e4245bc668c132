/**
 * kubeloop as an npm package, used as an operator author uses it: `npm pack` in this repository
 * (its `prepack` builds `dist/`), the tarball installed into a fresh project outside the
 * repository, an operator there (`project/echo-operator.ts`, saved as `echo.test.ts`) that imports
 * only `kubeloop/*`, type-checked with the project's own TypeScript and run with `node --test`
 * against the real control plane through `kubeloop/testing`; the package's `bin` answers. Also
 * checks what the tarball holds: compiled JavaScript, `.d.ts` and source maps for every
 * `exports` entry, the harness's runtime files, and no TypeScript sources, tests or operators.
 * Needs a cluster (`KUBELOOP_CLUSTER_DIR` or `KUBECONFIG`) and npm's cache of the project's
 * dependencies (`npm ci` fills it).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const projectFiles = fileURLToPath(new URL("./project/", import.meta.url));

/** Runs `command` to its end; its exit code and its stdout and stderr together. */
function run(command: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
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

/** The exact installed version of a dev dependency of this repository (the fresh project uses the same). */
async function installedVersion(pkg: string): Promise<string> {
  return (JSON.parse(await readFile(join(repoRoot, "node_modules", pkg, "package.json"), "utf8")) as { version: string }).version;
}

/**
 * npm `overrides` pinning every package that this repository's `package-lock.json` holds in one
 * version only to that version: the fresh project then installs the dependency tree the
 * repository was tested with (as a lockfile would), not whatever newer versions the registry
 * offers today, which a registry mirror may not have.
 */
async function lockedVersions(): Promise<Record<string, string>> {
  const lock = JSON.parse(await readFile(join(repoRoot, "package-lock.json"), "utf8")) as { packages: Record<string, { version?: string }> };
  const versions = new Map<string, Set<string>>();
  for (const [path, entry] of Object.entries(lock.packages)) {
    const at = path.lastIndexOf("node_modules/");
    if (at < 0 || !entry.version) continue;
    const name = path.slice(at + "node_modules/".length);
    versions.set(name, (versions.get(name) ?? new Set()).add(entry.version));
  }
  return Object.fromEntries([...versions].filter(([, v]) => v.size === 1).map(([name, v]) => [name, [...v][0]!]));
}

test("npm pack gives a package that an operator outside the repository installs, type-checks and runs", async (t) => {
  const work = await mkdtemp(join(tmpdir(), "kubeloop-package-"));
  let passed = false;
  t.after(async () => {
    if (passed) await rm(work, { recursive: true, force: true });
    else process.stderr.write(`[npm-package] the project as built is in ${work}\n`);
  });
  // The Node that runs the tests (the project's own, Node 24) runs npm too, so its scripts see it.
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${join(process.execPath, "..")}:${process.env.PATH ?? ""}` };
  // The project's own `node --test` is a test run of its own, not a child of this one.
  delete env["NODE_TEST_CONTEXT"];

  const packed = await run("npm", ["pack", "--json", "--pack-destination", work], { cwd: repoRoot, env, timeoutMs: 600_000 });
  assert.equal(packed.code, 0, `npm pack failed:\n${packed.output}`);
  const report = JSON.parse(packed.output.slice(packed.output.indexOf("[\n"))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const tarball = join(work, report[0]!.filename);
  const files = new Set(report[0]!.files.map((f) => f.path));

  const manifest = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as { exports: Record<string, Record<string, string>>; bin: Record<string, string> };
  for (const [subpath, targets] of Object.entries(manifest.exports)) {
    for (const condition of ["types", "default"]) {
      const target = targets[condition]!.replace(/^\.\//, "");
      assert.ok(files.has(target), `kubeloop${subpath.slice(1)} (${condition}) -> ${target} is in the tarball`);
    }
    const js = targets["default"]!.replace(/^\.\//, "");
    assert.ok(files.has(`${js}.map`), `${js} has a source map`);
  }
  assert.ok(files.has(manifest.bin["kubeloop"]!.replace(/^\.\//, "")), "the CLI (bin) is in the tarball");
  for (const asset of ["dist/framework/testing/kwok-stages/pod-ready.yaml", "dist/framework/testing/toolchain/kubernetes/go.mod", "dist/framework/testing/toolchain/etcd/main.go"]) {
    assert.ok(files.has(asset), `${asset} (read by the test harness at run time) is in the tarball`);
  }
  const stray = [...files].filter((f) => /^(framework|operators|test|charts|crds)\//.test(f) || (f.endsWith(".ts") && !f.endsWith(".d.ts")));
  assert.deepEqual(stray, [], "no TypeScript sources, tests, operators or chart in the package");

  // A fresh project outside the repository, as an operator author starts one.
  const project = join(work, "echo-operator");
  await run("mkdir", ["-p", project], { cwd: work, timeoutMs: 10_000 });
  await writeFile(join(project, "package.json"), JSON.stringify({
    name: "echo-operator", private: true, type: "module",
    dependencies: { kubeloop: `file:${tarball}` },
    devDependencies: { typescript: await installedVersion("typescript"), "@types/node": await installedVersion("@types/node") },
    overrides: Object.fromEntries(Object.entries(await lockedVersions()).filter(([name]) => !["typescript", "@types/node"].includes(name))),
  }, null, 2));
  await copyFile(join(projectFiles, "tsconfig.json"), join(project, "tsconfig.json"));
  await copyFile(join(projectFiles, "echo-operator.ts"), join(project, "echo.test.ts"));

  const installed = await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], { cwd: project, env, timeoutMs: 600_000 });
  assert.equal(installed.code, 0, `npm install of the tarball failed:\n${installed.output}`);

  const typecheck = await run(process.execPath, [join(project, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], { cwd: project, timeoutMs: 300_000 });
  assert.equal(typecheck.code, 0, `the operator does not type-check against the package's .d.ts:\n${typecheck.output}`);

  const tested = await run(process.execPath, ["--test", "echo.test.ts"], { cwd: project, env, timeoutMs: 300_000 });
  assert.equal(tested.code, 0, `the operator's test failed:\n${tested.output}`);
  assert.match(tested.output, /ℹ pass 1\b/, `one test passed:\n${tested.output}`);
  assert.match(tested.output, /echo operator: \d+ reconciles/, "the operator reconciled");

  const cli = await run(join(project, "node_modules", ".bin", "kubeloop"), ["--help"], { cwd: project, env, timeoutMs: 60_000 });
  assert.equal(cli.code, 0, `kubeloop --help failed:\n${cli.output}`);
  assert.match(cli.output, /usage: kubeloop <command>[\s\S]*cluster/, "the CLI prints its usage with the cluster command");
  passed = true;
});
