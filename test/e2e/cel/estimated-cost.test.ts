/**
 * Differential proof of framework/cel's static cost estimate against the real kube-apiserver
 * v1.36: every rule of the cost corpus and of the CRD-rule corpus is put on the values of a map
 * whose `maxProperties` multiplies its in-process estimate C just past the per-rule limit
 * (10,000,000 < C × maxProperties <= 15,000,000), so the API server refuses it with
 * "estimated rule cost exceeds budget by factor of 1.xxxxxx"; six digits of that factor pin
 * the API server's own estimate. Its refusals (rules, messageExpressions and the schema's
 * total) must equal `crdCostVerdict` in-process, field and message, for every CRD.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { crdCostVerdict, crdRuleCostEnvironment, estimateCost, schemaDeclType, type SchemaNode, type ValidationRule } from "../../../framework/cel/index.ts";
import { ApiError, type KubeClient } from "../../../framework/client/index.ts";
import { CustomResourceDefinitions } from "../../../framework/meta/index.ts";
import { testEnvironment } from "../../../framework/testing/index.ts";
import { COST_SCHEMA, costRules } from "./corpus/costs.ts";
import { libraryCases } from "./corpus/libraries.ts";
import { errorCases, ruleCases } from "./corpus/rules.ts";

const GROUP = "cost.kubeloop.dev";
const LIMIT = 10_000_000n;
/** Six rules of at most 1.5 × LIMIT each stay under the schema's total limit (10 × LIMIT). */
const PER_CRD = 6;
let client: KubeClient;

before(async () => {
  ({ client } = await testEnvironment());
});
after(() => client?.close());

interface Placed {
  /** The node carrying the rules, as the value schema of a map. */
  schema: SchemaNode;
  /** maxProperties of that map: the rules' cardinality. */
  cardinality: bigint;
}

/** The smallest cardinality K with C × K > LIMIT (1 when C is over it already or 0). */
function multiplier(cost: bigint): bigint {
  return cost === 0n || cost > LIMIT ? 1n : LIMIT / cost + 1n;
}

function openAPIV3Schema(placed: Placed[]): SchemaNode {
  const properties: Record<string, SchemaNode> = {};
  placed.forEach((p, i) => {
    properties[`c${i}`] = { type: "object", maxProperties: Number(p.cardinality), additionalProperties: p.schema };
  });
  return { type: "object", properties: { spec: { type: "object", properties } } };
}

const CONTRIBUTED = ": Forbidden: contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema";
/** Cost causes in a comparable form: sorted; the (at most 4, tie order unstable) "contributed" ones counted. */
function comparable(causes: string[]): string[] {
  const cost = causes.filter((c) => /estimated .*cost|contributed to estimated/.test(c));
  const contributed = cost.filter((c) => c.endsWith(CONTRIBUTED)).length;
  return [...cost.filter((c) => !c.endsWith(CONTRIBUTED)).sort(), ...(contributed ? [`${contributed} rules${CONTRIBUTED}`] : [])];
}

test("estimated rule costs equal kube-apiserver's, to six digits of the factor it reports", { timeout: 10 * 60_000 }, async () => {
  const placed: Placed[] = [];
  let unestimated = 0;
  const seen = new Set<string>();
  const candidates: { schema: SchemaNode; rules: ValidationRule[] }[] = [
    ...costRules.map((rule) => ({ schema: COST_SCHEMA, rules: [rule] })),
    ...[...ruleCases, ...libraryCases, ...errorCases].map((c) => ({ schema: c.schema, rules: c.schema["x-kubernetes-validations"] ?? [] })),
  ];
  for (const { schema, rules } of candidates) {
    const key = JSON.stringify([schema, rules]);
    if (seen.has(key) || rules.length === 0) continue;
    seen.add(key);
    const decl = schemaDeclType(schema, false);
    if (!decl) continue;
    let max = 0n;
    let known = true;
    for (const rule of rules) {
      const c = estimateCost(rule.rule, crdRuleCostEnvironment(decl, !!rule.optionalOldSelf));
      if (c === undefined) known = false;
      else if (c.max > max) max = c.max;
    }
    if (!known) {
      unestimated++;
      continue;
    }
    placed.push({ schema: { ...schema, "x-kubernetes-validations": rules }, cardinality: multiplier(max) });
  }

  const mismatches: string[] = [];
  let refusals = 0;
  let crds = 0;
  for (let i = 0; i < placed.length; i += PER_CRD) {
    const schema = openAPIV3Schema(placed.slice(i, i + PER_CRD));
    const n = crds++;
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: `costs${n}.${GROUP}` },
      spec: { group: GROUP, names: { kind: `Cost${n}`, plural: `costs${n}` }, scope: "Cluster", versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: schema } }] },
    };
    let server: string[] = [];
    try {
      await client.create(CustomResourceDefinitions, crd as never, { dryRun: true });
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      server = comparable((e.status.details?.causes ?? []).map((c) => `${c.field ?? ""}: ${c.message ?? ""}`));
    }
    const verdict = crdCostVerdict(schema);
    const local = comparable(verdict.violations.map((v) => `spec.validation.${v.field}: Forbidden: ${v.detail}`));
    refusals += server.length;
    if (JSON.stringify(server) !== JSON.stringify(local)) mismatches.push(`costs${n}:\n    API server: ${server.join("\n                ")}\n    in-process: ${local.join("\n                ")}`);
  }
  console.log(`estimated cost differential: ${placed.length} rule sets on ${crds} CRDs, ${refusals} cost refusals by the API server compared; ${unestimated} rule sets not estimated in-process; ${mismatches.length} mismatches`);
  for (const m of mismatches) console.log(`  ${m}`);
  assert.ok(placed.length >= 400, `only ${placed.length} rule sets placed`);
  assert.ok(refusals >= placed.length / 2, `only ${refusals} refusals: the multipliers did not push the rules past the limit`);
  assert.deepEqual(mismatches, []);
});
