/**
 * The scaffold as a new user runs it, from the packed tarball outside the repository:
 * `kubeloop init` (the package's bin, installed from the tarball) makes a project depending on
 * that tarball; in it, `npm install`, `kubeloop create api Widget --group example.com --version
 * v1alpha1`, `npm run generate` (the CRD), `npm run typecheck` and `npm test` (the generated e2e
 * test, on the real control plane through `kubeloop/testing`) all pass at once, and the chart's
 * ClusterRole is generated from the controller's declarations. Needs a cluster (`KUBELOOP_CLUSTER_DIR` or `KUBECONFIG`) and
 * npm's cache of the project's dependencies (`npm ci` fills it).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { installProject, packKubeloop, run } from "../support/package-project.ts";

test("kubeloop init and create api give a project whose generate, type-check and e2e test pass at once", { timeout: 900_000 }, async (t) => {
  const work = await mkdtemp(join(tmpdir(), "kubeloop-scaffold-"));
  let passed = false;
  t.after(async () => {
    if (passed) await rm(work, { recursive: true, force: true });
    else process.stderr.write(`[scaffold] the project as built is in ${work}\n`);
  });
  const { tarball } = await packKubeloop(work);

  // `npx kubeloop init`: the bin of the installed package.
  const tools = join(work, "tools");
  await mkdir(tools);
  await writeFile(join(tools, "package.json"), JSON.stringify({ name: "tools", private: true, dependencies: { kubeloop: `file:${tarball}` } }));
  await installProject(tools);
  const kubeloop = join(tools, "node_modules", ".bin", "kubeloop");
  const project = join(work, "widget-operator");
  const init = await run(kubeloop, ["init", project, "--kubeloop", `file:${tarball}`], { cwd: work, timeoutMs: 60_000 });
  assert.equal(init.code, 0, `kubeloop init failed:\n${init.output}`);
  await installProject(project);

  const create = await run(join(project, "node_modules", ".bin", "kubeloop"), ["create", "api", "Widget", "--group", "example.com", "--version", "v1alpha1"], { cwd: project, timeoutMs: 60_000 });
  assert.equal(create.code, 0, `kubeloop create api failed:\n${create.output}`);

  const generate = await run("npm", ["run", "generate"], { cwd: project, timeoutMs: 120_000 });
  assert.equal(generate.code, 0, `npm run generate failed:\n${generate.output}`);
  const crd = YAML.parse(await readFile(join(project, "crds", "widgets.example.com.yaml"), "utf8")) as { spec: { names: { kind: string }; versions: Array<{ name: string }> } };
  assert.equal(crd.spec.names.kind, "Widget");
  assert.equal(crd.spec.versions[0]?.name, "v1alpha1");

  const typecheck = await run("npm", ["run", "typecheck"], { cwd: project, timeoutMs: 300_000 });
  assert.equal(typecheck.code, 0, `the scaffolded project does not type-check:\n${typecheck.output}`);

  const tested = await run("npm", ["test"], { cwd: project, timeoutMs: 300_000 });
  assert.equal(tested.code, 0, `the generated e2e test failed:\n${tested.output}`);
  assert.match(tested.output, /ℹ pass 1\b/, `the generated test ran and passed:\n${tested.output}`);

  // The ClusterRole, generated from the controller's declarations: it watches Widgets, patches their status, records Events.
  const clusterRole = YAML.parse((await readFile(join(project, "charts", "widget-operator", "templates", "clusterrole.yaml"), "utf8")).replaceAll("{{ .Release.Name }}", "release")) as { rules: unknown[] };
  assert.deepEqual(clusterRole.rules, [
    { apiGroups: ["events.k8s.io"], resources: ["events"], verbs: ["create", "patch"] },
    { apiGroups: ["example.com"], resources: ["widgets"], verbs: ["list", "watch"] },
    { apiGroups: ["example.com"], resources: ["widgets/status"], verbs: ["patch"] },
  ], "the chart's ClusterRole, generated from the code (the controller's event recorder adds Events)");
  const rbac = await readFile(join(project, "charts", "widget-operator", "templates", "rbac.yaml"), "utf8");
  assert.match(rbac, /kind: Role\n[^]*resources: \[leases\]\n\s+verbs: \[get, create, update\]/, "the leader-election Role");
  const again = await run(join(project, "node_modules", ".bin", "kubeloop"), ["create", "api", "Widget", "--group", "example.com", "--version", "v1alpha1"], { cwd: project, timeoutMs: 60_000 });
  assert.notEqual(again.code, 0, "creating the same API twice is refused");
  assert.match(again.output, /exists already; not overwritten/);
  passed = true;
});
