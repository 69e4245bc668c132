/**
 * `npm run generate` validates every CRD with kube-apiserver v1.36.3's own code, offline
 * (`validateCustomResourceDefinitions` of kubeloop/testing, the `validate-crd` command of the
 * harness' Kubernetes binary): a CEL rule whose estimated cost the API server would refuse, or
 * that cel-go's type checker refuses, fails generation with the field path, the reason and the
 * rule; bounding the zod schema (`.max()`) makes the same rule pass. `crd()` itself refuses the
 * too-expensive rule in-process (`crdCostVerdict` of kubeloop/cel), with the same reason as the
 * offline validation, which gets the CRD with its bounds removed. `--validate-with-cluster`'s
 * path (dry-run creates on the API server) gives the same errors. Needs the harness' binary
 * (built on first use) and a cluster for the last test. That the offline answer equals the API
 * server's is also checked on the whole CEL corpus (`test/e2e/cel/crd-rules.test.ts`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { z } from "zod";
import { defineCustomResource, withCel } from "../../../framework/api/index.ts";
import { crdCostVerdict, type SchemaNode } from "../../../framework/cel/index.ts";
import {
  customResourceDefinitionProblems, testControlPlane, testEnvironment, validateCustomResourceDefinitions, validateCustomResourceDefinitionsOnServer,
} from "../../../framework/testing/index.ts";
import { repoRoot } from "../../../operators/generate.ts";

const NESTED = "self.tags.all(a, self.tags.all(b, self.tags.all(c, a + b + c != '')))";

function widgetDefinition(tags: z.ZodType, rule: string) {
  return defineCustomResource({
    group: "offline.kubeloop.dev",
    version: "v1alpha1",
    kind: "Widget",
    plural: "widgets",
    scope: "Namespaced",
    spec: withCel(z.object({ tags }), [{ rule, message: "tags must be distinct" }]),
    status: z.object({}),
  });
}

/** The Widget CRD with unbounded `tags`, which `crd()` refuses in-process: the bounded one with its bounds removed. */
function unboundedCrd() {
  const crd = structuredClone(widgetDefinition(z.array(z.string().max(64)).max(16), NESTED).crd());
  const root = crd.spec.versions[0]!.schema!.openAPIV3Schema as SchemaNode;
  const tags = root.properties!["spec"]!.properties!["tags"]!;
  delete tags["maxItems"];
  delete tags.items!["maxLength"];
  return crd;
}

test("npm run generate --check: every operator CRD is accepted by kube-apiserver's validation, offline and with --validate-with-cluster", { timeout: 20 * 60_000 }, async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["operators/generate.ts", "--check"], { cwd: repoRoot, timeout: 20 * 60_000 });
  assert.match(stdout, /up to date \(\d+ definitions\), and accepted by kube-apiserver v1\.36\.3's validation \(run offline\); [1-9]\d* ValidatingAdmissionPolicies type-checked by kube-controller-manager v1\.36\.3's checker \(offline\) without warnings/);
  // Without Go: the API server of KUBECONFIG answers dry-run creates instead.
  const { kubeconfigPath } = await testControlPlane();
  const withCluster = await promisify(execFile)(process.execPath, ["operators/generate.ts", "--check", "--validate-with-cluster"], {
    cwd: repoRoot, timeout: 5 * 60_000, env: { ...process.env, KUBECONFIG: kubeconfigPath },
  });
  assert.match(withCluster.stdout, /accepted by the API server of KUBECONFIG \(dry run\)/);
});

test("a rule over unbounded lists is refused for its estimated cost, with field, reason and rule; zod bounds make it pass", { timeout: 20 * 60_000 }, async () => {
  assert.throws(() => widgetDefinition(z.array(z.string()), NESTED).crd(), (e: Error) => e.message.includes(`openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: estimated rule cost exceeds budget by factor of more than 100x`) && e.message.includes(JSON.stringify(NESTED)));
  const unbounded = unboundedCrd();
  const bounded = widgetDefinition(z.array(z.string().max(64)).max(16), NESTED).crd();
  const [refused, accepted] = await validateCustomResourceDefinitions([unbounded, bounded]);
  // The in-process verdict on the same schema has the same causes.
  const inProcess = crdCostVerdict(unbounded.spec.versions[0]!.schema!.openAPIV3Schema as SchemaNode).violations.map((v) => `spec.validation.${v.field}: ${v.detail}`).sort();
  assert.deepEqual(inProcess, refused!.errors.map((e) => `${e.field}: ${e.detail}`).sort());
  assert.equal(refused!.name, "widgets.offline.kubeloop.dev");
  const perRule = refused!.errors.find((e) => e.field.endsWith("properties[spec].x-kubernetes-validations[0].rule") && /estimated rule cost exceeds budget/.test(e.detail));
  assert.ok(perRule, `no per-rule cost error in ${JSON.stringify(refused!.errors)}`);
  assert.equal(perRule.type, "FieldValueForbidden");
  assert.match(perRule.message, /^Forbidden: estimated rule cost exceeds budget by factor of/);
  assert.deepEqual(accepted!.errors, [], "the bounded schema is accepted");

  const lines = await customResourceDefinitionProblems([unbounded]);
  assert.ok(
    lines.some((l) => l.startsWith("widgets.offline.kubeloop.dev: spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: estimated rule cost exceeds budget") && l.endsWith(`(rule: ${JSON.stringify(NESTED)})`)),
    lines.join("\n"),
  );
});

test("a rule cel-go's type checker refuses is refused, naming the overload and the rule", { timeout: 20 * 60_000 }, async () => {
  const typeError = widgetDefinition(z.array(z.string().max(8)).max(4), "self.tags == 1").crd();
  const lines = await customResourceDefinitionProblems([typeError]);
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.match(lines[0]!, /x-kubernetes-validations\[0\]\.rule: compilation failed: ERROR: <input>:1:11: found no matching overload for '_==_' applied to '\(list\(string\), int\)'/);
  assert.ok(lines[0]!.endsWith(`(rule: "self.tags == 1")`), lines[0]);
});

test("the API server's dry-run creates (generate --validate-with-cluster) give the same errors as the offline validation", { timeout: 20 * 60_000 }, async () => {
  const crds = [
    unboundedCrd(),
    widgetDefinition(z.array(z.string().max(64)).max(16), NESTED).crd(),
    widgetDefinition(z.array(z.string().max(8)).max(4), "self.tags == 1").crd(),
  ];
  const offline = await validateCustomResourceDefinitions(crds);
  const { client } = await testEnvironment();
  try {
    const server = await validateCustomResourceDefinitionsOnServer(client, crds);
    const shape = (verdicts: typeof offline) => verdicts.map((v) => ({ name: v.name, errors: v.errors.map((e) => `${e.field} ${e.type}: ${e.message}`).sort() }));
    assert.deepEqual(shape(server), shape(offline));
    assert.deepEqual(server.map((v) => v.errors.length > 0), [true, false, true]);
    const lines = await customResourceDefinitionProblems(crds, { server: client });
    assert.ok(lines.some((l) => l.includes("estimated rule cost exceeds budget") && l.endsWith(`(rule: ${JSON.stringify(NESTED)})`)), lines.join("\n"));
    assert.ok(lines.some((l) => l.includes("found no matching overload") && l.endsWith(`(rule: "self.tags == 1")`)), lines.join("\n"));
  } finally {
    client.close();
  }
});
