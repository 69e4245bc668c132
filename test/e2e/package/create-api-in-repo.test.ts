/**
 * `kubeloop create api` inside this repository makes a new sample operator, and everything
 * passes at once: in a copy of the repository's files (`git ls-files`, as they are in the working
 * tree; `node_modules` linked), `node framework/cli/main.ts create api Widget --group
 * widgets.kubeloop.dev --version v1alpha1`, then `node operators/generate.ts` (its CRD and RBAC
 * rules), the type check, the generated e2e test on the real control plane, and the chart and
 * generated-files tests (which now include the new operator's rules and CRD).
 * Needs a cluster (`KUBELOOP_CLUSTER_DIR` or `KUBECONFIG`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { repoRoot, run } from "../support/package-project.ts";

test("create api in this repository: a new sample operator whose generated test, type check and chart tests pass at once", { timeout: 900_000 }, async () => {
  const copy = mkdtempSync(join(tmpdir(), "kubeloop-repo-"));
  try {
    for (const file of execFileSync("git", ["ls-files", "-z"], { cwd: repoRoot, encoding: "utf8" }).split("\0").filter(Boolean)) {
      mkdirSync(dirname(join(copy, file)), { recursive: true });
      cpSync(join(repoRoot, file), join(copy, file));
    }
    symlinkSync(join(repoRoot, "node_modules"), join(copy, "node_modules"));
    const node = process.execPath;
    const step = async (what: string, args: string[], timeoutMs = 300_000): Promise<string> => {
      const r = await run(node, args, { cwd: copy, timeoutMs });
      assert.equal(r.code, 0, `${what} failed:\n${r.output.slice(-4000)}`);
      return r.output;
    };
    const created = await step("create api", ["framework/cli/main.ts", "create", "api", "Widget", "--group", "widgets.kubeloop.dev", "--version", "v1alpha1"]);
    assert.match(created, /created the widgets sample operator/);
    const registry = readFileSync(join(copy, "operators", "registry.ts"), "utf8");
    assert.match(registry, /"widgets": \{\n    definitions: \[WidgetDefinition\],/);
    const generated = await step("generate", ["operators/generate.ts"]);
    assert.match(generated, /crds\/widgets\.widgets\.kubeloop\.dev\.yaml/);
    assert.match(generated, /_rbac-rules\.tpl/);
    assert.match(readFileSync(join(copy, "charts/kubeloop/templates/_rbac-rules.tpl"), "utf8"),
      /define "kubeloop\.rbac\.rules\.widgets" -\}\}\n- apiGroups: \[events\.k8s\.io\]\n  resources: \[events\]\n  verbs: \[create, patch\]\n- apiGroups: \[widgets\.kubeloop\.dev\]\n  resources: \[widgets\]\n  verbs: \[list, watch\]\n- apiGroups: \[widgets\.kubeloop\.dev\]\n  resources: \[widgets\/status\]\n  verbs: \[patch\]/);
    await step("typecheck", [join(copy, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json", "--noEmit"]);
    const tests = await step("the generated e2e test and the chart tests", [
      "--test", "--test-reporter=spec", "test/e2e/operators/widgets.test.ts", "test/unit/crds/chart.test.ts", "test/unit/crds/fresh.test.ts",
    ], 600_000);
    assert.match(tests, /✔ a Widget gets its status: observedGeneration and the echoed message/);
    assert.match(tests, /ℹ fail 0/);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});
