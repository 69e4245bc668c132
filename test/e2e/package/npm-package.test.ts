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
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { installedVersion, installProject, packKubeloop, repoRoot, run } from "../support/package-project.ts";

const projectFiles = fileURLToPath(new URL("./project/", import.meta.url));

test("npm pack gives a package that an operator outside the repository installs, type-checks and runs", async (t) => {
  const work = await mkdtemp(join(tmpdir(), "kubeloop-package-"));
  let passed = false;
  t.after(async () => {
    if (passed) await rm(work, { recursive: true, force: true });
    else process.stderr.write(`[npm-package] the project as built is in ${work}\n`);
  });
  const { tarball, files } = await packKubeloop(work);

  const manifest = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as { exports: Record<string, Record<string, string>>; bin: Record<string, string> };
  const folders = (await readdir(join(repoRoot, "framework"), { withFileTypes: true }))
    .filter((d) => d.isDirectory() && d.name !== "cli" && existsSync(join(repoRoot, "framework", d.name, "index.ts"))).map((d) => `./${d.name}`);
  assert.deepEqual(folders.filter((f) => !(f in manifest.exports)), [], "every framework folder (but the CLI, the bin) has an exports entry");
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
  await mkdir(project, { recursive: true });
  await writeFile(join(project, "package.json"), JSON.stringify({
    name: "echo-operator", private: true, type: "module",
    dependencies: { kubeloop: `file:${tarball}` },
    devDependencies: { typescript: await installedVersion("typescript"), "@types/node": await installedVersion("@types/node") },
  }, null, 2));
  await copyFile(join(projectFiles, "tsconfig.json"), join(project, "tsconfig.json"));
  await copyFile(join(projectFiles, "echo-operator.ts"), join(project, "echo.test.ts"));
  await installProject(project);

  const typecheck = await run(process.execPath, [join(project, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], { cwd: project, timeoutMs: 300_000 });
  assert.equal(typecheck.code, 0, `the operator does not type-check against the package's .d.ts:\n${typecheck.output}`);

  const tested = await run(process.execPath, ["--test", "echo.test.ts"], { cwd: project, timeoutMs: 300_000 });
  assert.equal(tested.code, 0, `the operator's test failed:\n${tested.output}`);
  assert.match(tested.output, /ℹ pass 1\b/, `one test passed:\n${tested.output}`);
  assert.match(tested.output, /echo operator: \d+ reconciles/, "the operator reconciled");

  const cli = await run(join(project, "node_modules", ".bin", "kubeloop"), ["--help"], { cwd: project, timeoutMs: 60_000 });
  assert.equal(cli.code, 0, `kubeloop --help failed:\n${cli.output}`);
  assert.match(cli.output, /usage: kubeloop <command>[\s\S]*cluster/, "the CLI prints its usage with the cluster command");
  passed = true;
});
