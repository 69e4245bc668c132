/**
 * `npm run generate` validates every CRD with kube-apiserver v1.36.3's own code, offline
 * (`validateCustomResourceDefinitions` of kubeloop/testing, the `validate-crd` command of the
 * harness' Kubernetes binary): a CEL rule whose estimated cost the API server would refuse, or
 * that cel-go's type checker refuses, fails generation with the field path, the reason and the
 * rule; bounding the zod schema (`.max()`) makes the same rule pass. Needs the harness' binary
 * (built on first use), not a running control plane. That the offline answer equals the API
 * server's on a real create is checked on the CEL corpus (`test/e2e/cel/crd-rules.test.ts`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { z } from "zod";
import { defineCustomResource, withCel } from "../../../framework/api/index.ts";
import { customResourceDefinitionProblems, validateCustomResourceDefinitions } from "../../../framework/testing/index.ts";
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

test("npm run generate --check: every operator CRD is accepted by kube-apiserver's validation", { timeout: 20 * 60_000 }, async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["operators/generate.ts", "--check"], { cwd: repoRoot, timeout: 20 * 60_000 });
  assert.match(stdout, /accepted by kube-apiserver's validation/);
});

test("a rule over unbounded lists is refused for its estimated cost, with field, reason and rule; zod bounds make it pass", { timeout: 20 * 60_000 }, async () => {
  const unbounded = widgetDefinition(z.array(z.string()), NESTED).crd();
  const bounded = widgetDefinition(z.array(z.string().max(64)).max(16), NESTED).crd();
  const [refused, accepted] = await validateCustomResourceDefinitions([unbounded, bounded]);
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
