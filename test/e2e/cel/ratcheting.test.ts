/**
 * Ratcheting (CRDValidationRatcheting, on since 1.30) and transition rules, differential against
 * kube-apiserver v1.36: objects are created while the CRD has no rules, the rules are then
 * added, and each object is sent as a dry-run update; the verdict and exact message must equal
 * `validateCustomResource(schema, new, old)` in-process (errors of unchanged correlatable nodes
 * become warnings, rules with oldSelf are never ratcheted, list-map items correlate by key,
 * atomic-list items through their list, granular-map entries by key).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { ICustomResourceDefinition } from "kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition";
import { installCustomResourceDefinitions } from "../../../framework/api/index.ts";
import { invalidMessage, validateCustomResource, type SchemaNode } from "../../../framework/cel/index.ts";
import { ApiError, type KubeClient } from "../../../framework/client/index.ts";
import { resourceType, type KubeObject } from "../../../framework/meta/index.ts";
import { testEnvironment, waitFor } from "../../../framework/testing/index.ts";

const GROUP = "ratchet.kubeloop.dev";
const KIND = "Ratchet";
const fieldManager = "kubeloop-cel-ratchet-e2e";
let client: KubeClient;

before(async () => {
  ({ client } = await testEnvironment());
});
after(() => client?.close());

const even = (message: string) => [{ rule: "self % 2 == 0", message }];

function schema(withRules: boolean): SchemaNode {
  const r = <T extends SchemaNode>(node: T, rules: SchemaNode["x-kubernetes-validations"]): T => (withRules ? { ...node, "x-kubernetes-validations": rules } : node);
  const spec: SchemaNode = {
    type: "object",
    properties: {
      n: r({ type: "integer" }, even("n must be even")),
      obj: r({ type: "object", properties: { a: { type: "integer" }, b: { type: "string", maxLength: 8 } } }, [{ rule: "!has(self.a) || self.a % 2 == 0", message: "a must be even" }]),
      items: {
        type: "array", maxItems: 8, "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["k"],
        items: r({ type: "object", required: ["k"], properties: { k: { type: "string", maxLength: 4 }, v: { type: "integer" } } }, [{ rule: "!has(self.v) || self.v % 2 == 0", message: "v must be even" }]),
      },
      atomic: { type: "array", maxItems: 8, items: r({ type: "integer" }, even("item must be even")) },
      m: { type: "object", maxProperties: 8, additionalProperties: r({ type: "integer" }, even("entry must be even")) },
      t: r({ type: "integer" }, [{ rule: "self > oldSelf", message: "t must increase" }]),
      probe: r({ type: "string", maxLength: 8 }, [{ rule: "self != 'bad'", message: "probe" }]),
    },
  };
  return {
    type: "object",
    properties: { apiVersion: { type: "string" }, kind: { type: "string" }, metadata: { type: "object" }, spec },
    ...(withRules ? { "x-kubernetes-validations": [{ rule: "!has(self.spec.n) || self.spec.n < 100", message: "n below 100" }] } : {}),
  };
}

function crd(withRules: boolean): ICustomResourceDefinition {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `ratchets.${GROUP}` },
    spec: {
      group: GROUP,
      names: { kind: KIND, listKind: `${KIND}List`, plural: "ratchets", singular: "ratchet" },
      scope: "Cluster",
      versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: schema(withRules) as never } }],
    },
  };
}

/** [old spec, new spec] pairs. */
const CASES: [Record<string, unknown>, Record<string, unknown>][] = [
  [{ n: 3 }, { n: 3 }],
  [{ n: 3 }, { n: 5 }],
  [{ n: 3 }, { n: 4 }],
  [{ obj: { a: 1, b: "x" } }, { obj: { a: 1, b: "x" } }],
  [{ obj: { a: 1, b: "x" } }, { obj: { a: 1, b: "y" } }],
  [{ obj: { a: 1 } }, { obj: { a: 1 }, n: 2 }],
  [{ items: [{ k: "a", v: 1 }, { k: "b", v: 2 }] }, { items: [{ k: "b", v: 2 }, { k: "a", v: 1 }] }],
  [{ items: [{ k: "a", v: 1 }, { k: "b", v: 2 }] }, { items: [{ k: "a", v: 1 }, { k: "b", v: 3 }] }],
  [{ items: [{ k: "a", v: 1 }] }, { items: [{ k: "a", v: 3 }] }],
  [{ items: [{ k: "a", v: 1 }] }, { items: [{ k: "a", v: 1 }, { k: "c", v: 5 }] }],
  [{ atomic: [1, 2] }, { atomic: [1, 2] }],
  [{ atomic: [1, 2] }, { atomic: [1, 2, 5] }],
  [{ atomic: [1, 2] }, { atomic: [2, 1] }],
  [{ m: { x: 1, y: 2 } }, { m: { x: 1, y: 2, z: 4 } }],
  [{ m: { x: 1 } }, { m: { x: 3 } }],
  [{ m: { x: 1 } }, { m: { x: 1, z: 3 } }],
  [{ t: 3 }, { t: 3 }],
  [{ t: 3 }, { t: 4 }],
  [{ t: 3 }, { t: 2 }],
  [{ n: 200 }, { n: 200 }],
  [{ n: 201 }, { n: 202 }],
  [{ n: 202 }, { n: 202, probe: "ok" }],
];

test("ratcheting and transition rules: in-process verdicts and messages equal the API server's", { timeout: 5 * 60_000 }, async () => {
  await installCustomResourceDefinitions(client, [crd(false)], { fieldManager });
  const type = resourceType<KubeObject & { spec: Record<string, unknown> }>({ group: GROUP, version: "v1", kind: KIND, plural: "ratchets", namespaced: false });
  const olds: (KubeObject & { spec: Record<string, unknown> })[] = [];
  for (const [i, [oldSpec]] of CASES.entries()) {
    olds.push(await client.create(type, { apiVersion: `${GROUP}/v1`, kind: KIND, metadata: { name: `r${i}` }, spec: oldSpec }, { fieldManager }));
  }
  await installCustomResourceDefinitions(client, [crd(true)], { fieldManager });
  // The new schema is in effect once the probe rule refuses.
  await waitFor(async () => {
    try {
      await client.create(type, { apiVersion: `${GROUP}/v1`, kind: KIND, metadata: { name: "probe" }, spec: { probe: "bad" } }, { dryRun: true, fieldManager });
      return false;
    } catch (e) {
      return e instanceof ApiError && e.statusCode === 422;
    }
  }, { timeoutMs: 30_000, description: "the CRD rules to take effect" });

  const rules = schema(true);
  let agreed = 0;
  let refused = 0;
  const mismatches: string[] = [];
  for (const [i, [oldSpec, newSpec]] of CASES.entries()) {
    const name = `r${i}`;
    const next = { apiVersion: `${GROUP}/v1`, kind: KIND, metadata: { name }, spec: newSpec };
    const local = validateCustomResource(rules, next, { apiVersion: `${GROUP}/v1`, kind: KIND, metadata: { name }, spec: oldSpec });
    if (local.refused.length > 0) {
      refused++;
      console.log(`refused r${i}: ${local.refused[0]!.reason}`);
      continue;
    }
    const want = local.failures.length === 0 ? "accepted" : invalidMessage(KIND, GROUP, name, local.failures);
    let got: string;
    try {
      await client.update(type, { ...next, metadata: { name, resourceVersion: olds[i]!.metadata!.resourceVersion! } } as never, { dryRun: true, fieldManager });
      got = "accepted";
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      got = e.status.message ?? String(e);
    }
    if (got === want) agreed++;
    else mismatches.push(`r${i} ${JSON.stringify(oldSpec)} -> ${JSON.stringify(newSpec)}\n    server:     ${got}\n    in-process: ${want} (warnings: ${JSON.stringify(local.warnings)})`);
  }
  console.log(`ratcheting differential: ${CASES.length} updates; ${agreed} agreed, ${refused} refused, ${mismatches.length} mismatches`);
  for (const m of mismatches) console.log(`MISMATCH ${m}`);
  assert.deepEqual(mismatches, []);
  assert.ok(agreed >= CASES.length - 2);
});
