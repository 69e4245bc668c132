import { test } from "node:test";
import assert from "node:assert/strict";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import { ObjectValidationError, type JSONSchemaProps } from "../../../framework/api/index.ts";
import type { ObjectOf } from "../../../framework/meta/index.ts";
import {
  ReplicaSetDefinition,
  ReplicaSets,
  type ReplicaSet,
  type ReplicaSetSpec,
  type ReplicaSetStatus,
} from "../../../operators/replicaset/api.ts";

const crd = ReplicaSetDefinition.crd();
const version = crd.spec.versions[0]!;
const root = version.schema!.openAPIV3Schema!;
const spec = root.properties!.spec!;
const status = root.properties!.status!;

function rules(node: JSONSchemaProps | undefined) {
  return (node?.["x-kubernetes-validations"] ?? []).map((r) => ({ ...r }));
}

test("ReplicaSet resource type and names", () => {
  assert.deepEqual(
    { group: ReplicaSets.group, version: ReplicaSets.version, kind: ReplicaSets.kind, plural: ReplicaSets.plural, namespaced: ReplicaSets.namespaced, apiVersion: ReplicaSets.apiVersion },
    { group: "apps.kubeloop.dev", version: "v1alpha1", kind: "ReplicaSet", plural: "replicasets", namespaced: true, apiVersion: "apps.kubeloop.dev/v1alpha1" },
  );
  assert.equal(crd.metadata?.name, "replicasets.apps.kubeloop.dev");
  assert.deepEqual(crd.spec.names.shortNames, ["krs"]);
  assert.equal(crd.spec.scope, "Namespaced");
});

test("defaults and bounds are carried into the CRD", () => {
  assert.deepEqual(spec.properties!.replicas, { type: "integer", format: "int32", minimum: 0, default: 1, description: spec.properties!.replicas!.description });
  assert.equal(spec.properties!.minReadySeconds!.default, 0);
  assert.equal(spec.properties!.minReadySeconds!.minimum, 0);
  assert.deepEqual(new Set(spec.required), new Set(["selector", "template"]));
  assert.deepEqual(root.required, ["spec"]);
  const podSpec = spec.properties!.template!.properties!.spec!;
  assert.equal(podSpec.type, "object");
  assert.equal(podSpec["x-kubernetes-preserve-unknown-fields"], true);
});

test("CEL rules carry apps/v1 messages", () => {
  const selectorRules = rules(spec.properties!.selector);
  assert.deepEqual(selectorRules.map((r) => r.message), ["empty selector is invalid for deployment", "field is immutable"]);
  assert.equal(selectorRules[1]!.rule, "self == oldSelf");
  const specRules = rules(spec);
  assert.equal(specRules.length, 1);
  assert.equal(specRules[0]!.message, "`selector` does not match template `labels`");
  assert.equal(specRules[0]!.fieldPath, ".template.metadata.labels");
  for (const op of ["'In'", "'NotIn'", "'Exists'", "matchLabels.all"]) assert.ok(specRules[0]!.rule.includes(op), op);
  const requirement = spec.properties!.selector!.properties!.matchExpressions!.items as JSONSchemaProps;
  assert.deepEqual(requirement.properties!.operator!.enum, ["In", "NotIn", "Exists", "DoesNotExist"]);
  assert.equal(rules(requirement).length, 2);
});

test("status: list-map conditions, selector string, scale subresource, printer columns", () => {
  const conditions = status.properties!.conditions!;
  assert.equal(conditions["x-kubernetes-list-type"], "map");
  assert.deepEqual(conditions["x-kubernetes-list-map-keys"], ["type"]);
  assert.deepEqual(Object.keys(status.properties!).sort(), [
    "availableReplicas", "conditions", "fullyLabeledReplicas", "observedGeneration", "readyReplicas", "replicas", "selector", "terminatingReplicas",
  ]);
  assert.equal(status.properties!.selector!.type, "string");
  assert.deepEqual(version.subresources, {
    status: {},
    scale: { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas", labelSelectorPath: ".status.selector" },
  });
  const columns = version.additionalPrinterColumns!;
  assert.deepEqual(columns.filter((c) => !c.priority).map((c) => [c.name, c.jsonPath]), [
    ["Desired", ".spec.replicas"],
    ["Current", ".status.replicas"],
    ["Ready", ".status.readyReplicas"],
    ["Age", ".metadata.creationTimestamp"],
  ]);
});

test("make applies defaults; parse lists every failing path", () => {
  const rs = ReplicaSetDefinition.make({
    metadata: { name: "web", namespace: "default" },
    spec: { selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "nginx" }] } } },
  });
  assert.equal(rs.apiVersion, "apps.kubeloop.dev/v1alpha1");
  assert.equal(rs.kind, "ReplicaSet");
  assert.equal(rs.spec.replicas, 1);
  assert.equal(rs.spec.minReadySeconds, 0);
  assert.equal(rs.spec.template.spec.containers[0]?.image, "nginx");

  const error = (() => {
    try {
      ReplicaSetDefinition.parse({
        apiVersion: "apps.kubeloop.dev/v1alpha1",
        kind: "ReplicaSet",
        metadata: { name: "bad", namespace: "ns" },
        spec: { replicas: -1, selector: { matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }] }, template: { spec: [] } },
      });
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(error instanceof ObjectValidationError, "parse must throw ObjectValidationError");
  assert.match(error.message, /ReplicaSet\.v1alpha1\.apps\.kubeloop\.dev ns\/bad is invalid/);
  assert.deepEqual(error.issues.map((i) => i.path).sort(), ["spec.replicas", "spec.selector.matchExpressions.0.values", "spec.template.spec"]);
});

test("types: ReplicaSet is inferred from the zod schemas", () => {
  type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
  const checks: [
    Equal<ReplicaSetSpec["replicas"], number>,
    Equal<ReplicaSetSpec["template"]["spec"], IPodSpec>,
    Equal<ReplicaSet["spec"], ReplicaSetSpec>,
    Equal<ReplicaSet["status"], ReplicaSetStatus | undefined>,
    Equal<ObjectOf<typeof ReplicaSets>, ReplicaSet>,
    Equal<NonNullable<ReplicaSetStatus["conditions"]>[number]["status"], "True" | "False" | "Unknown">,
  ] = [true, true, true, true, true, true];
  assert.ok(checks.every(Boolean));
  // @ts-expect-error replicas is a number
  const wrong: ReplicaSetSpec["replicas"] = "3";
  assert.equal(typeof wrong, "string");
});
