/**
 * CRD generation from zod with CEL rules: every rule is compiled with kubeloop/cel when the CRD
 * is built, so a rule the API server would not compile fails `npm run generate` with its path,
 * expression, position and reason; zod bounds become maxLength / maxItems (which keep the API
 * server's estimated rule costs within its limits).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { defineCustomResource, withCel } from "../../../framework/api/index.ts";
import { allDefinitions } from "../../../operators/registry.ts";

function widget(spec: z.ZodObject) {
  return defineCustomResource({ group: "example.dev", version: "v1", kind: "Widget", plural: "widgets", scope: "Namespaced", spec, status: z.object({}) });
}

test("a rule that does not compile fails crd() with path, expression, position and reason", () => {
  const bad = widget(z.object({
    size: withCel(z.int32(), [{ rule: "self > 0 &&", message: "m" }]),
    name: withCel(z.string().max(10), [{ rule: "self.startsWith('a') && nope(self)" }]),
    inner: withCel(z.object({ a: z.string().max(5) }), [{ rule: "self.b == 'x'" }, { rule: "true", message: "two\nlines" }, { rule: "self.a == 'x'", optionalOldSelf: true }]),
  }));
  assert.throws(() => bad.crd(), (e: Error) => {
    assert.match(e.message, /Widget\.v1\.example\.dev\.spec\.size x-kubernetes-validations\[0\]\.rule: "self > 0 &&" does not compile at 1:\d+: Syntax error/);
    assert.match(e.message, /\.spec\.name x-kubernetes-validations\[0\]\.rule: .* does not compile at 1:29: undeclared reference to 'nope'/);
    assert.match(e.message, /\.spec\.inner x-kubernetes-validations\[0\]\.rule: "self\.b == 'x'" does not compile at 1:5: undefined field 'b'/);
    assert.match(e.message, /\.spec\.inner x-kubernetes-validations\[1\]\.message: must not contain line breaks/);
    assert.match(e.message, /\.spec\.inner x-kubernetes-validations\[2\]\.optionalOldSelf: may only be set when the rule uses oldSelf/);
    return true;
  });
});

test("valid rules (transition rules, escaped names, messageExpression, reason, fieldPath) generate", () => {
  const ok = widget(z.object({
    replicas: withCel(z.int32().min(0), [{ rule: "self >= oldSelf", message: "may not decrease", reason: "FieldValueForbidden" }]),
    labels: withCel(z.record(z.string().max(63), z.string().max(63)).meta({ maxProperties: 16 }), [{ rule: "self.all(k, size(k) > 0)", messageExpression: "'bad key'" }]),
    ports: withCel(z.array(z.object({ "container-port": z.int32() })).max(8), [{ rule: "self.all(p, p.container__dash__port > 0)", fieldPath: ".ports" }]),
    name: z.string().max(253).length(5).optional(),
  }));
  const spec = ok.crd().spec.versions[0]!.schema!.openAPIV3Schema!.properties!.spec!;
  assert.equal(spec.properties!.name!.maxLength, 5);
  assert.equal(spec.properties!.ports!.maxItems, 8);
  assert.equal(spec.properties!.labels!.maxProperties, 16);
  assert.equal(spec.properties!.labels!.additionalProperties && (spec.properties!.labels!.additionalProperties as { maxLength?: number }).maxLength, 63);
});

test("the shipped operators' CRDs have rules that compile", () => {
  for (const d of allDefinitions) assert.doesNotThrow(() => d.crd(), d.name);
});
