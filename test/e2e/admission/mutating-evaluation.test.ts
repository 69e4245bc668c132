/**
 * Differential: MutatingAdmissionPolicies evaluated in-process (`evaluateMutatingPolicy`) against
 * kube-apiserver v1.36.3 applying the same policies to the same requests. Each case is a policy
 * (ApplyConfiguration or JSONPatch mutations, matchConditions, variables, `request`,
 * `namespaceObject`, `jsonpatch.escapeKey`, `test` operations, two mutations in sequence) that
 * applies to one object by name, on ConfigMaps and on a custom resource; each object is sent as a
 * dry-run create and the returned labels, annotations, data and spec must equal the in-process
 * result. Cases the in-process evaluator refuses are counted, printed with the reason, and must be
 * the ones expected. Needs a cluster (`KUBECONFIG`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import {
  evaluateMutatingPolicy, installAdmissionPolicies, kubernetesCelCheck, MutatingAdmissionPolicies, MutatingAdmissionPolicyBindings,
  mutatingPolicy, type AdmissionRequestInput, type MutatingPolicySet,
} from "../../../framework/admission/index.ts";
import { defineCustomResource, installCustomResourceDefinitions } from "../../../framework/api/index.ts";
import type { SchemaNode } from "../../../framework/cel/index.ts";
import { ConfigMaps, Namespaces, type KubeObject } from "../../../framework/meta/index.ts";
import { ApiError } from "../../../framework/client/index.ts";
import type { ParamRef } from "../../../framework/admission/index.ts";
import { useTestNamespace } from "../support/test-namespace.ts";
import { compareUntilAgreed, selfSubject } from "../support/self-subject.ts";

const Gadgets = defineCustomResource({
  group: "mapeval.kubeloop.dev", version: "v1", kind: "Gadget", plural: "gadgets", scope: "Namespaced",
  spec: z.object({
    replicas: z.int().min(0).max(100).optional(),
    mode: z.string().max(64).optional(),
    settings: z.record(z.string().max(64), z.string().max(64)).optional(),
    nested: z.object({ a: z.string().max(64).optional(), b: z.int().optional() }).optional(),
    tags: z.array(z.string().max(64)).max(16).optional(),
  }),
  status: z.object({}),
});
const gadgetSchema = Gadgets.crd().spec.versions[0]!.schema!.openAPIV3Schema as SchemaNode;
/** ConfigMap as the API server's OpenAPI types it (data and binaryData are granular string maps). */
const configMapSchema: SchemaNode = {
  type: "object",
  properties: {
    apiVersion: { type: "string" }, kind: { type: "string" }, metadata: { type: "object" }, immutable: { type: "boolean" },
    data: { type: "object", additionalProperties: { type: "string" } }, binaryData: { type: "object", additionalProperties: { type: "string", format: "byte" } },
  },
};

const suffix = Math.random().toString(16).slice(2, 8);
const selected = { [`map-eval-${suffix}`]: "on" };
const env = useTestNamespace("kubeloop-map-eval", {
  cleanup: async ({ client }) => {
    for (const c of cases) {
      await client.delete(MutatingAdmissionPolicyBindings, { name: c.set.bindings[0]!.metadata.name }).catch(() => {});
      await client.delete(MutatingAdmissionPolicies, { name: c.set.policy.metadata.name }).catch(() => {});
    }
  },
});

const configMaps = { apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"], operations: ["CREATE" as const] };
const gadgets = { apiGroups: ["mapeval.kubeloop.dev"], apiVersions: ["v1"], resources: ["gadgets"], operations: ["CREATE" as const] };

interface Case {
  name: string;
  set: MutatingPolicySet;
  object: KubeObject;
  /** Set when the in-process evaluator is expected to refuse (the words its reason must contain). */
  refused?: RegExp;
}

type Build = ReturnType<typeof mutatingPolicy>;
function policyFor(name: string, rules: typeof configMaps, build: (p: Build) => Build, paramRef?: ParamRef): MutatingPolicySet {
  return build(mutatingPolicy(`map-eval-${name}-${suffix}`).forResources(rules).when("this-case", `object.metadata.name == '${name}'`))
    .reinvocationPolicy("Never")
    // With params, the binding itself selects the case's object: the API server collects params
    // (and reports their absence) before it evaluates matchConditions.
    .bind({
      matchResources: { namespaceSelector: { matchLabels: selected }, ...(paramRef ? { objectSelector: { matchLabels: { "map-eval-case": name } } } : {}) },
      ...(paramRef ? { paramRef } : {}),
    })
    .build({ cel: kubernetesCelCheck });
}

/** The param objects of the cases with params (Gadgets in the test namespace), as the API server's informer holds them. */
const paramObjects: KubeObject[] = [];

function cm(name: string, data?: Record<string, string>, labels?: Record<string, string>, annotations?: Record<string, string>): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) }, ...(data ? { data } : {}) } as KubeObject;
}
function gadget(name: string, spec: Record<string, unknown>, labels?: Record<string, string>): KubeObject {
  return { apiVersion: "mapeval.kubeloop.dev/v1", kind: "Gadget", metadata: { name, ...(labels ? { labels } : {}) }, spec } as KubeObject;
}

const cmCase = (name: string, object: KubeObject, build: (p: Build) => Build, refused?: RegExp, paramRef?: ParamRef): Case =>
  ({ name, object, set: policyFor(name, configMaps, build, paramRef), ...(refused ? { refused } : {}) });
const gadgetCase = (name: string, object: KubeObject, build: (p: Build) => Build, refused?: RegExp): Case => ({ name, object, set: policyFor(name, gadgets, build), ...(refused ? { refused } : {}) });

const cases: Case[] = [
  cmCase("apply-label", cm("apply-label", { k: "v" }, { app: "web" }), (p) => p.applyConfiguration(`Object{metadata: Object.metadata{labels: {"team": "infra"}}}`)),
  cmCase("apply-label-none", cm("apply-label-none"), (p) => p.applyConfiguration(`Object{metadata: Object.metadata{labels: {"team": "infra", "tier": "1"}}}`)),
  cmCase("apply-overwrite", cm("apply-overwrite", undefined, { team: "old", keep: "yes" }), (p) => p.applyConfiguration(`Object{metadata: Object.metadata{labels: {"team": "new"}}}`)),
  cmCase("apply-variable", cm("apply-variable"), (p) => p.variable("derived", "object.metadata.name + '-derived'")
    .applyConfiguration(`Object{metadata: Object.metadata{annotations: {"example.com/derived": variables.derived}}}`)),
  cmCase("apply-data", cm("apply-data", { a: "1" }), (p) => p.applyConfiguration(`Object{data: {"b": string(size(object.data)), "a": object.data["a"] + "!"}}`)),
  cmCase("apply-request", cm("apply-request"), (p) => p.applyConfiguration(
    `Object{metadata: Object.metadata{annotations: {"op": request.operation, "ns": namespaceObject.metadata.name, "dry": string(request.dryRun), "res": request.resource.resource}}}`)),
  cmCase("apply-strings", cm("apply-strings", { greeting: "Hello World" }), (p) => p.applyConfiguration(
    `Object{data: {"upper": object.data["greeting"].upperAscii(), "words": string(object.data["greeting"].split(" ").size()), "q": string(quantity("1Gi").asInteger())}}`)),
  cmCase("patch-add-escaped", cm("patch-add-escaped", undefined, { app: "web" }), (p) => p.jsonPatch(
    `[JSONPatch{op: "add", path: "/metadata/labels/" + jsonpatch.escapeKey("example.com/owner"), value: "me"}]`)),
  cmCase("patch-labels-missing", cm("patch-labels-missing"), (p) => p.jsonPatch(
    `[JSONPatch{op: "add", path: "/metadata/labels", value: {}}, JSONPatch{op: "add", path: "/metadata/labels/added", value: "yes"}]`)),
  cmCase("patch-test-fails", cm("patch-test-fails", { k: "v" }), (p) => p.jsonPatch(
    `[JSONPatch{op: "test", path: "/data/k", value: "other"}, JSONPatch{op: "add", path: "/data/x", value: "1"}]`)),
  cmCase("patch-test-passes", cm("patch-test-passes", { k: "v" }), (p) => p.jsonPatch(
    `[JSONPatch{op: "test", path: "/data/k", value: "v"}, JSONPatch{op: "add", path: "/data/x", value: "1"}]`)),
  cmCase("patch-remove-replace", cm("patch-remove-replace", { gone: "1", k: "v" }), (p) => p.jsonPatch(
    `[JSONPatch{op: "remove", path: "/data/gone"}, JSONPatch{op: "replace", path: "/data/k", value: object.data["k"] + object.data["k"]}]`)),
  cmCase("patch-copy-move", cm("patch-copy-move", { a: "1", b: "2" }), (p) => p.jsonPatch(
    `[JSONPatch{op: "copy", from: "/data/a", path: "/data/c"}, JSONPatch{op: "move", from: "/data/b", path: "/data/d"}]`)),
  cmCase("patch-comprehension", cm("patch-comprehension", { x: "1", y: "2" }, { app: "web" }), (p) => p.jsonPatch(
    `object.data.map(k, JSONPatch{op: "add", path: "/metadata/annotations", value: {}}).slice(0, 1) + object.data.map(k, JSONPatch{op: "add", path: "/metadata/annotations/key-" + k, value: object.data[k]})`)),
  cmCase("two-mutations", cm("two-mutations"), (p) => p.applyConfiguration(`Object{metadata: Object.metadata{labels: {"team": "infra"}}}`)
    .jsonPatch(`[JSONPatch{op: "add", path: "/metadata/annotations", value: {"seen-team": object.metadata.labels["team"]}}]`)),
  cmCase("param-apply", cm("param-apply", undefined, { "map-eval-case": "param-apply" }), (p) => p.params({ apiVersion: "mapeval.kubeloop.dev/v1", kind: "Gadget" })
    .applyConfiguration(`Object{metadata: Object.metadata{labels: {"team": params.spec.mode}}}`), undefined, { name: "map-eval-params", parameterNotFoundAction: "Deny" }),
  cmCase("param-missing", cm("param-missing", undefined, { "map-eval-case": "param-missing" }), (p) => p.params({ apiVersion: "mapeval.kubeloop.dev/v1", kind: "Gadget" })
    .applyConfiguration(`Object{metadata: Object.metadata{labels: {"team": params.spec.mode}}}`), undefined, { name: "no-such-params", parameterNotFoundAction: "Deny" }),
  cmCase("param-missing-allowed", cm("param-missing-allowed", undefined, { "map-eval-case": "param-missing-allowed" }), (p) => p.params({ apiVersion: "mapeval.kubeloop.dev/v1", kind: "Gadget" })
    .applyConfiguration(`Object{metadata: Object.metadata{labels: {"team": params.spec.mode}}}`), undefined, { name: "no-such-params", parameterNotFoundAction: "Allow" }),
  cmCase("condition-false", cm("condition-false", { k: "v" }), (p) => p.when("never", "object.metadata.name == 'another'")
    .applyConfiguration(`Object{metadata: Object.metadata{labels: {"touched": "yes"}}}`)),
  gadgetCase("gadget-apply", gadget("gadget-apply", { replicas: 1, nested: { b: 2 }, settings: { a: "1" } }), (p) => p.applyConfiguration(
    `Object{spec: Object.spec{replicas: object.spec.replicas + 2, nested: Object.spec.nested{a: "x"}, settings: {"b": "2"}}}`)),
  gadgetCase("gadget-patch", gadget("gadget-patch", { replicas: 1, tags: ["a"] }), (p) => p.jsonPatch(
    `[JSONPatch{op: "replace", path: "/spec/replicas", value: 5}, JSONPatch{op: "add", path: "/spec/tags/-", value: "b"}, JSONPatch{op: "add", path: "/spec/mode", value: "fast"}]`)),
  gadgetCase("gadget-patch-object", gadget("gadget-patch-object", {}), (p) => p.jsonPatch(
    `[JSONPatch{op: "add", path: "/spec/nested", value: Object.spec.nested{a: "made", b: 7}}]`)),
  gadgetCase("gadget-apply-list", gadget("gadget-apply-list", { tags: ["a"] }), (p) => p.applyConfiguration(
    `Object{spec: Object.spec{tags: ["x"]}}`), /list merges/),
  cmCase("patch-wrong-type", cm("patch-wrong-type"), (p) => p.jsonPatch(
    `[JSONPatch{op: "add", path: "/metadata/labels", value: {"n": "1"}}, JSONPatch{op: "add", path: "/data", value: {"n": 1}}]`), /does not have its schema's type/),
];

/** The server's object after admission (dry-run create). */
async function serverObject(c: Case): Promise<KubeObject> {
  const obj = { ...c.object, metadata: { ...c.object.metadata, namespace: env.namespace } };
  const type = obj.kind === "Gadget" ? Gadgets.resource : ConfigMaps;
  return env.client.create(type as typeof ConfigMaps, obj as never, { dryRun: true }) as Promise<KubeObject>;
}

/** The parts a mutation may change, as JSON with sorted keys (the order of JSON object keys carries no meaning). */
function mutable(obj: KubeObject): string {
  const o = obj as KubeObject & { data?: unknown; spec?: unknown };
  const sorted = (_key: string, v: unknown) => v && typeof v === "object" && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v;
  return JSON.stringify({ labels: o.metadata?.labels ?? {}, annotations: o.metadata?.annotations ?? {}, data: o.data ?? null, spec: o.spec ?? null }, sorted);
}

test("in-process MutatingAdmissionPolicy results equal kube-apiserver's dry-run objects on a corpus of ConfigMaps and a custom resource", { timeout: 240_000 }, async (t) => {
  const { client, namespace } = env;
  await installCustomResourceDefinitions(client, [Gadgets.crd()], { fieldManager: "kubeloop-map-eval", waitPastCreateDelay: true });
  const ns = await client.get(Namespaces, { name: namespace });
  await client.patch(Namespaces, { name: namespace }, { type: "merge", body: { metadata: { labels: selected } } });
  const namespaceObject = { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace, labels: { ...ns.metadata?.labels, ...selected } } };
  const userInfo = await selfSubject(client);
  // Params of kind Gadget: with ConfigMap params here, the validating policy of policy-params.test.ts
  // (ConfigMap params too), run at the same time, found no params on the API server for 90 s.
  paramObjects.push(await client.create(Gadgets.resource, Gadgets.make({ metadata: { name: "map-eval-params", namespace }, spec: { mode: "from-params" } })));
  await installAdmissionPolicies(client, cases.map((c) => c.set), { fieldManager: "kubeloop-map-eval" });

  const inProcess = (c: Case) => {
    const object = { ...c.object, metadata: { ...c.object.metadata, namespace } };
    const gvr = object.kind === "Gadget" ? { group: "mapeval.kubeloop.dev", version: "v1", resource: "gadgets" } : { group: "", version: "v1", resource: "configmaps" };
    const request: AdmissionRequestInput = {
      operation: "CREATE", resource: gvr, kind: { group: gvr.group, version: "v1", kind: object.kind! }, namespace, name: object.metadata.name!,
      object, dryRun: true, namespaceObject, userInfo,
    };
    // Every policy in name order on the object the earlier ones left; a configuration error
    // (params not found) denies the request after all of them ran, as the API server reports it.
    let current: KubeObject = object;
    let denial: string | undefined;
    const refusals: string[] = [];
    for (const other of [...cases].sort((a, b) => a.set.policy.metadata.name.localeCompare(b.set.policy.metadata.name))) {
      const v = evaluateMutatingPolicy(other.set.policy, other.set.bindings[0]!, { ...request, object: current }, {
        schema: object.kind === "Gadget" ? gadgetSchema : configMapSchema, params: { namespaced: true, objects: paramObjects },
      });
      if (v.kind === "refused") refusals.push(v.reason);
      if (v.kind === "mutated" && v.object) current = v.object;
      if (v.kind === "denied") denial ??= `denied (403): ${v.message}`;
    }
    return { result: denial ?? current, refusals };
  };

  // The API server applies a new policy once its informer has it, each on its own schedule:
  // compare until both sides agree (a difference that persists 60 s fails).
  const compareCorpus = async () => {
    const differences: string[] = [];
    const refused: string[] = [];
    let changedOnServer = 0;
    for (const c of cases) {
      let local: ReturnType<typeof inProcess>;
      try {
        local = inProcess(c);
      } catch (err) {
        differences.push(`${c.name}: the in-process evaluation threw: ${(err as Error).message}`);
        continue;
      }
      if (local.refusals.length > 0) {
        refused.push(`${c.name}: ${local.refusals.join("; ")}`);
        if (!c.refused) differences.push(`${c.name}: refused in-process (${local.refusals.join("; ")})`);
        else if (!local.refusals.some((r) => c.refused!.test(r))) differences.push(`${c.name}: refused for another reason (${local.refusals.join("; ")})`);
        continue;
      }
      if (c.refused) differences.push(`${c.name}: expected a refusal (${c.refused}), got a result`);
      let server: string;
      try {
        server = mutable(await serverObject(c));
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        server = `denied (${err.statusCode}): ${err.status.message}`;
      }
      const ours = typeof local.result === "string" ? local.result : mutable(local.result);
      if (server !== mutable(c.object)) changedOnServer++;
      if (server !== ours) {
        differences.push(`${c.name}:\n  server     ${server}\n  in-process ${ours}`);
      }
    }
    return { differences, refused, changedOnServer };
  };
  const { differences, refused, changedOnServer } = await compareUntilAgreed(compareCorpus, "the API server to apply every new policy");
  t.diagnostic(`${cases.length} cases: ${cases.length - refused.length} compared, ${changedOnServer} of them mutated by the server; refused in-process: ${refused.join(" | ")}`);
  assert.deepEqual(differences, [], `in-process results differ from the API server's:\n${differences.join("\n")}`);
  assert.ok(changedOnServer >= cases.length - refused.length - 3, `most cases mutate the object (${changedOnServer})`);
});
