/**
 * Differential proof of framework/cel against the real kube-apiserver v1.36: every corpus case
 * (test/e2e/cel/corpus) is a field of a test CRD carrying CEL rules; the API server receives a
 * dry-run create (or, with `old`, a real create then a dry-run update), and its verdict and
 * exact message must equal `validateCustomResource` + `invalidMessage` in-process, for 100 % of
 * the cases the evaluator does not refuse. Prints how many were refused and why, and how the
 * compile verdicts compare. Every CRD sent is also validated offline with
 * `validateCustomResourceDefinitions` (what `npm run generate` runs): its causes must equal
 * the API server's, field and message.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { ICustomResourceDefinition } from "kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition";
import { installCustomResourceDefinitions } from "../../../framework/api/index.ts";
import { CelCompileError, compile, crdCostVerdict, crdRuleEnvironment, invalidMessage, validateCustomResource, type SchemaNode } from "../../../framework/cel/index.ts";
import { ApiError, type KubeClient } from "../../../framework/client/index.ts";
import { CustomResourceDefinitions, resourceType, type KubeObject } from "../../../framework/meta/index.ts";
import { testEnvironment, validateCustomResourceDefinitions } from "../../../framework/testing/index.ts";
import { libraryCases } from "./corpus/libraries.ts";
import { errorCases, ruleCases } from "./corpus/rules.ts";
import type { CelCase } from "./corpus/types.ts";

const GROUP = "cel.kubeloop.dev";
const GROUP_SIZE = 60;
const fieldManager = "kubeloop-cel-e2e";
let client: KubeClient;

before(async () => {
  ({ client } = await testEnvironment());
});
after(() => client?.close());

interface Group {
  index: number;
  kind: string;
  plural: string;
  cases: { id: number; c: CelCase }[];
}

function rootSchema(_group: Group, cases: { id: number; c: CelCase }[]): SchemaNode {
  const properties: Record<string, SchemaNode> = {};
  for (const { id, c } of cases) properties[`c${id}`] = c.schema;
  return {
    type: "object",
    properties: { apiVersion: { type: "string" }, kind: { type: "string" }, metadata: { type: "object" }, spec: { type: "object", properties } },
  };
}

function crdOf(group: Group, schema: SchemaNode): ICustomResourceDefinition {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${group.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: { kind: group.kind, listKind: `${group.kind}List`, plural: group.plural, singular: `celtest${group.index}x` },
      scope: "Cluster",
      versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: schema as never } }],
    },
  };
}

const CONTRIBUTED = ": Forbidden: contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema";

/**
 * Causes in a comparable form: sorted, and the "contributed to estimated rule cost total" ones
 * counted rather than named. The API server names the 4 most expensive rules of a CRD over its
 * total cost limit, and among rules of equal cost which 4 depends on Go's map iteration order
 * over the schema's properties (and an unstable sort), so two creates of the same CRD on the
 * same server can name different rules.
 */
function comparableCauses(causes: string[]): string[] {
  const contributed = causes.filter((c) => c.endsWith(CONTRIBUTED)).length;
  return [...causes.filter((c) => !c.endsWith(CONTRIBUTED)).sort(), ...(contributed ? [`${contributed} rules${CONTRIBUTED}`] : [])];
}

/** The estimated-cost causes of a create in the API server's form (`<field>: Forbidden: <detail>`), comparable. */
function costCauses(causes: string[]): string[] {
  return comparableCauses(causes.filter((c) => /: Forbidden: (estimated .*cost|contributed to estimated|x-kubernetes-validations estimated)/.test(c)));
}

function localCompiles(c: CelCase): boolean {
  for (const rule of c.schema["x-kubernetes-validations"] ?? []) {
    for (const expr of [rule.rule, rule.messageExpression].filter((e): e is string => !!e)) {
      try {
        compile(expr, crdRuleEnvironment(c.schema, rule));
      } catch (e) {
        if (e instanceof CelCompileError) return false;
        throw e;
      }
    }
  }
  return true;
}

test("CRD rules: in-process verdicts and messages equal the API server's", { timeout: 30 * 60_000 }, async () => {
  const all = [...ruleCases, ...libraryCases, ...errorCases].map((c, id) => ({ id, c }));
  const groups: Group[] = [];
  for (let i = 0; i < all.length; i += GROUP_SIZE) {
    groups.push({ index: groups.length, kind: `CelTest${groups.length}`, plural: `celtests${groups.length}`, cases: all.slice(i, i + GROUP_SIZE) });
  }
  const compile = { serverRejects: 0, bothReject: 0, localOnlyRejects: [] as string[], serverOnlyRejects: [] as string[] };
  const cost = { compared: 0, refusals: 0, mismatches: [] as string[] };
  const offlineValidation = { compared: 0, refusals: 0, mismatches: [] as string[] };
  let agreed = 0;
  const refusedReasons = new Map<string, number>();
  let refused = 0;
  const mismatches: string[] = [];
  const byLibrary = new Map<string, { agreed: number; refused: number }>();

  for (const group of groups) {
    // Install; drop the cases whose rules the API server does not compile.
    let cases = group.cases;
    for (let attempt = 0; attempt < 20; attempt++) {
      const crd = crdOf(group, rootSchema(group, cases));
      // The estimated-cost refusals in-process (crdCostVerdict), by case.
      const localCost = crdCostVerdict(rootSchema(group, cases)).violations;
      const localCostCauses = costCauses(localCost.map((v) => `spec.validation.${v.field}: Forbidden: ${v.detail}`));
      const costRejected = new Set(localCost.map((v) => /properties\[(c\d+)\]/.exec(v.field)?.[1]).filter((k): k is string => k !== undefined));
      // The same CRD through kube-apiserver's validation run offline (what `npm run generate` does).
      const [verdict] = await validateCustomResourceDefinitions([crd]);
      const offline = comparableCauses(verdict!.errors.map((err) => `${err.field}: ${err.message}`));
      try {
        await client.create(CustomResourceDefinitions, crd, { dryRun: true, fieldManager });
        cost.compared++;
        if (localCostCauses.length > 0) cost.mismatches.push(`${group.kind}: accepted by the API server, refused in-process: ${localCostCauses.join("; ")}`);
        offlineValidation.compared++;
        if (offline.length > 0) offlineValidation.mismatches.push(`${group.kind}: accepted by the API server, refused offline: ${offline.join("; ")}`);
        break;
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        const server = comparableCauses((e.status.details?.causes ?? []).map((cause) => `${cause.field ?? ""}: ${cause.message ?? ""}`));
        const serverCost = costCauses((e.status.details?.causes ?? []).map((cause) => `${cause.field ?? ""}: ${cause.message ?? ""}`));
        cost.compared++;
        cost.refusals += serverCost.length;
        if (JSON.stringify(serverCost) !== JSON.stringify(localCostCauses)) cost.mismatches.push(`${group.kind}: API server ${JSON.stringify(serverCost)}, in-process ${JSON.stringify(localCostCauses)}`);
        const contributedInProcess = localCost.some((v) => v.detail.startsWith("contributed"));
        offlineValidation.compared++;
        offlineValidation.refusals += server.length;
        if (JSON.stringify(server) !== JSON.stringify(offline)) offlineValidation.mismatches.push(`${group.kind}: API server ${JSON.stringify(server)}, offline ${JSON.stringify(offline)}`);
        const bad = new Set<string>();
        const why = new Map<string, string>();
        for (const cause of e.status.details?.causes ?? []) {
          const m = /properties\[(c\d+)\]/.exec(cause.field ?? "");
          if (m) {
            bad.add(m[1]!);
            why.set(m[1]!, (cause.message ?? "").split("\n")[0]!.slice(0, 200));
            // Which 4 of equally expensive rules the API server names is not stable (see comparableCauses).
            if ((cause.message ?? "").endsWith(CONTRIBUTED.slice(": ".length)) && contributedInProcess) costRejected.add(m[1]!);
          }
        }
        if (bad.size === 0) throw e;
        for (const { id, c } of cases) {
          if (!bad.has(`c${id}`)) continue;
          compile.serverRejects++;
          if (localCompiles(c) && !costRejected.has(`c${id}`)) compile.serverOnlyRejects.push(`${c.library}: ${JSON.stringify(c.schema["x-kubernetes-validations"])}: ${why.get(`c${id}`)}`);
          else compile.bothReject++;
        }
        cases = cases.filter(({ id }) => !bad.has(`c${id}`));
      }
    }
    for (const { c } of cases) if (!localCompiles(c)) compile.localOnlyRejects.push(`${c.library}: ${JSON.stringify(c.schema["x-kubernetes-validations"])}`);
    const schema = rootSchema(group, cases);
    await installCustomResourceDefinitions(client, [crdOf(group, schema)], { fieldManager });
    const type = resourceType<KubeObject & { spec: Record<string, unknown> }>({ group: GROUP, version: "v1", kind: group.kind, plural: group.plural, namespaced: false });

    for (const { id, c } of cases) {
      const name = `o${id}`;
      const stats = byLibrary.get(c.library) ?? { agreed: 0, refused: 0 };
      byLibrary.set(c.library, stats);
      const obj = { apiVersion: `${GROUP}/v1`, kind: group.kind, metadata: { name }, spec: { [`c${id}`]: c.value } };
      let oldObj: (typeof obj & { metadata: { resourceVersion?: string } }) | undefined;
      if (c.old !== undefined) {
        try {
          oldObj = (await client.create(type, { ...obj, spec: { [`c${id}`]: c.old } }, { fieldManager })) as typeof oldObj;
        } catch (e) {
          mismatches.push(`case ${id} (${c.library}): setup create failed: ${(e as Error).message}`);
          continue;
        }
      }
      const local = validateCustomResource(schema, obj, oldObj ? { ...oldObj, metadata: { name } } : undefined);
      const send = async (): Promise<string> => {
        try {
          if (oldObj) await client.update(type, { ...obj, metadata: { name, resourceVersion: oldObj.metadata.resourceVersion! } } as never, { dryRun: true, fieldManager });
          else await client.create(type, obj, { dryRun: true, fieldManager });
          return "accepted";
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
          return e.status.message ?? String(e);
        }
      };
      if (local.refused.length > 0) {
        refused++;
        stats.refused++;
        const reason = local.refused[0]!.reason;
        refusedReasons.set(reason, (refusedReasons.get(reason) ?? 0) + 1);
        // What the API server says where the evaluator refuses (to extend the evaluator).
        if (c.library === "errors") console.log(`refused case ${id}: ${reason}\n    server: ${await send()}`);
        continue;
      }
      const want = local.failures.length === 0 ? "accepted" : invalidMessage(group.kind, GROUP, name, local.failures);
      const got = await send();
      if (got === want) {
        agreed++;
        stats.agreed++;
      } else {
        mismatches.push(`case ${id} (${c.library}) rules=${JSON.stringify(c.schema["x-kubernetes-validations"])} value=${JSON.stringify(c.value)}${c.old !== undefined ? ` old=${JSON.stringify(c.old)}` : ""}\n    server:     ${got}\n    in-process: ${want}`);
      }
    }
  }

  const total = all.length;
  console.log(`CEL differential: ${total} cases; ${agreed} agreed with the API server, ${refused} refused in-process, ${mismatches.length} mismatches, ${compile.serverRejects} not compiled by the API server`);
  for (const [lib, s] of byLibrary) console.log(`  ${lib}: ${s.agreed} agreed, ${s.refused} refused`);
  console.log("refusals by reason:");
  for (const [reason, n] of [...refusedReasons].sort((a, b) => b[1] - a[1])) console.log(`  ${n} × ${reason}`);
  console.log(`compile verdicts: ${compile.bothReject} rejected by both; ${compile.serverOnlyRejects.length} rejected only by the API server; ${compile.localOnlyRejects.length} rejected only in-process`);
  for (const s of compile.serverOnlyRejects) console.log(`  server-only reject: ${s}`);
  for (const s of compile.localOnlyRejects) console.log(`  local-only reject: ${s}`);
  console.log(`estimated cost limits: ${cost.compared} CRD creates compared with crdCostVerdict in-process, ${cost.refusals} cost causes, ${cost.mismatches.length} differed`);
  for (const m of cost.mismatches) console.log(`COST MISMATCH ${m}`);
  console.log(`offline CRD validation (validate-crd, what npm run generate runs): ${offlineValidation.compared} CRD creates compared with the API server's answer, ${offlineValidation.refusals} refusal causes, ${offlineValidation.mismatches.length} differed`);
  for (const m of mismatches) console.log(`MISMATCH ${m}`);
  for (const m of offlineValidation.mismatches) console.log(`OFFLINE VALIDATION MISMATCH ${m}`);
  assert.equal(mismatches.length, 0, `${mismatches.length} cases differ from the API server`);
  assert.deepEqual(offlineValidation.mismatches, [], "the offline validation of a CRD differs from the API server's answer to its create");
  assert.ok(offlineValidation.refusals > 0, "no corpus CRD was refused: the offline validation was not compared on a refusal");
  assert.equal(compile.localOnlyRejects.length, 0, "compile() rejected expressions the API server accepts");
  assert.deepEqual(cost.mismatches, [], "the in-process estimated-cost verdict of a CRD differs from the API server's");
  assert.ok(cost.refusals > 0, "no corpus CRD was refused for cost: the in-process verdict was not compared on a refusal");
  assert.ok(agreed >= 500, `only ${agreed} cases agreed`);
});
