import { test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import {
  defineCustomResource,
  intOrString,
  listMap,
  opaqueObject,
  structuralViolations,
  toStructuralSchema,
  withCel,
  type JSONSchemaProps,
} from "../../../framework/api/index.ts";
import { definitions } from "../../../operators/generate.ts";

type Node = Record<string, unknown>;

/** Visits every schema node with its path, independently of the library's own checker. */
function* nodes(schema: Node, path = ""): Generator<[string, Node]> {
  yield [path || "<root>", schema];
  const props = schema.properties as Record<string, Node> | undefined;
  if (props) for (const [k, v] of Object.entries(props)) yield* nodes(v, `${path}.${k}`);
  if (typeof schema.additionalProperties === "object" && schema.additionalProperties !== null) {
    yield* nodes(schema.additionalProperties as Node, `${path}[*]`);
  }
  if (typeof schema.items === "object" && schema.items !== null) yield* nodes(schema.items as Node, `${path}[*]`);
}

function rootSchema(definition: (typeof definitions)[number]): Node {
  const schema = definition.crd().spec.versions[0]?.schema?.openAPIV3Schema;
  assert.ok(schema, `${definition.name} has no openAPIV3Schema`);
  return schema as Node;
}

test("every generated CRD schema is structural", () => {
  assert.ok(definitions.length > 0);
  for (const definition of definitions) {
    const root = rootSchema(definition);
    for (const [path, node] of nodes(root)) {
      for (const key of ["$ref", "$schema", "$defs", "definitions", "allOf", "anyOf", "oneOf", "not", "const"]) {
        assert.ok(!(key in node), `${definition.name} ${path} has ${key}`);
      }
      assert.notEqual(node.additionalProperties, false, `${definition.name} ${path} has additionalProperties: false`);
      const exempt = node["x-kubernetes-int-or-string"] === true || node["x-kubernetes-preserve-unknown-fields"] === true;
      assert.ok(exempt || (typeof node.type === "string" && node.type.length > 0), `${definition.name} ${path} has no type`);
      assert.ok(!(node.properties && node.additionalProperties), `${definition.name} ${path} has properties and additionalProperties`);
    }
    assert.deepEqual(structuralViolations(root as JSONSchemaProps), [], definition.name);
  }
});

test("conversion inlines, types and annotates every construct", () => {
  const shared = z.object({ name: z.string() }).meta({ id: "Shared" });
  const schema = z.object({
    a: shared,
    b: shared.optional(),
    count: z.int32().min(0).default(3),
    big: z.int(),
    port: intOrString(),
    maybe: z.string().nullable(),
    mode: z.union([z.literal("A"), z.literal("B")]),
    at: z.iso.datetime(),
    strict: z.strictObject({ x: z.boolean() }),
    loose: z.looseObject({ x: z.boolean() }),
    map: z.record(z.string(), z.int32()),
    pod: opaqueObject<{ containers: unknown[] }>(),
    items: listMap(z.array(z.object({ key: z.string(), v: z.string().optional() })), ["key"]),
    checked: withCel(z.string(), [{ rule: "self != 'x'", messageExpression: "'got ' + self", reason: "FieldValueForbidden", fieldPath: "" }]),
  });
  const out = toStructuralSchema(schema, "test") as Node;
  assert.deepEqual(structuralViolations(out as JSONSchemaProps), []);
  const p = out.properties as Record<string, Node>;
  assert.deepEqual(p.a, { type: "object", properties: { name: { type: "string" } }, required: ["name"] });
  assert.deepEqual(p.b, p.a);
  assert.deepEqual(p.count, { type: "integer", format: "int32", minimum: 0, default: 3 });
  assert.deepEqual(p.big, { type: "integer", format: "int64" });
  assert.deepEqual(p.port, { "x-kubernetes-int-or-string": true });
  assert.deepEqual(p.maybe, { type: "string", nullable: true });
  assert.deepEqual(p.mode, { type: "string", enum: ["A", "B"] });
  assert.deepEqual(p.at, { type: "string", format: "date-time" });
  assert.equal(p.strict?.additionalProperties, undefined);
  assert.equal(p.loose?.["x-kubernetes-preserve-unknown-fields"], true);
  assert.deepEqual(p.map, { type: "object", additionalProperties: { type: "integer", format: "int32" } });
  assert.deepEqual(p.pod, { type: "object", "x-kubernetes-preserve-unknown-fields": true });
  assert.equal(p.items?.["x-kubernetes-list-type"], "map");
  assert.deepEqual(p.items?.["x-kubernetes-list-map-keys"], ["key"]);
  assert.deepEqual(p.checked?.["x-kubernetes-validations"], [
    { rule: "self != 'x'", messageExpression: "'got ' + self", reason: "FieldValueForbidden", fieldPath: "" },
  ]);
  // Defaulted fields are not required; plain ones are.
  assert.deepEqual(new Set(out.required as string[]), new Set(["a", "big", "port", "maybe", "mode", "at", "strict", "loose", "map", "pod", "items", "checked"]));
});

test("withCel appends rules and survives optional/default wrappers", () => {
  const field = withCel(withCel(z.string(), [{ rule: "size(self) > 0" }]), [{ rule: "self != 'a'", message: "not a" }]);
  const out = toStructuralSchema(z.object({ f: field.optional(), g: field.default("b") }), "test") as Node;
  const p = out.properties as Record<string, Node>;
  const expected = [{ rule: "size(self) > 0" }, { rule: "self != 'a'", message: "not a" }];
  assert.deepEqual(p.f?.["x-kubernetes-validations"], expected);
  assert.deepEqual(p.g?.["x-kubernetes-validations"], expected);
  assert.equal(p.g?.default, "b");
});

test("schemas with no structural form are rejected with the path", () => {
  assert.throws(() => toStructuralSchema(z.object({ u: z.union([z.object({ a: z.string() }), z.object({ b: z.int() })]) }), "T"), /\.u is a union/);
  // zod merges an intersection of two objects into one object, which is structural.
  const merged = toStructuralSchema(z.object({ i: z.intersection(z.object({ a: z.string() }), z.object({ b: z.string() })) }), "T") as Node;
  assert.deepEqual((merged.properties as Record<string, Node>).i?.required, ["a", "b"]);
  assert.throws(() => toStructuralSchema(z.object({ any: z.unknown() }), "T"), /\.any: no type/);
  const Tree: z.ZodType<{ children: unknown[] }> = z.object({ get children() { return z.array(Tree); } });
  assert.throws(() => toStructuralSchema(z.object({ tree: Tree }), "T"), /recursive|not defined/);
});

test("structuralViolations reports each broken rule", () => {
  const bad = {
    type: "object",
    properties: {
      noType: {},
      both: { type: "object", properties: { a: { type: "string" } }, additionalProperties: { type: "string" } },
      closed: { type: "object", additionalProperties: false },
      ref: { $ref: "#/definitions/x" },
      list: { type: "array", items: { type: "object", properties: { k: { type: "string" } } }, "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["k"] },
    },
  } as JSONSchemaProps;
  const violations = structuralViolations(bad);
  for (const fragment of [".noType: no type", ".both: both properties", ".closed: additionalProperties: false", ".ref: has $ref", ".list: list-map key k is neither required"]) {
    assert.ok(violations.some((v) => v.includes(fragment)), `missing ${fragment} in ${violations.join("; ")}`);
  }
});

test("crd() carries names, scope, subresources, printer columns and root rules", () => {
  const Widgets = defineCustomResource({
    group: "example.kubeloop.dev",
    version: "v1",
    kind: "Widget",
    plural: "widgets",
    shortNames: ["wd"],
    scope: "Cluster",
    spec: z.object({ size: z.int32().min(0).default(1) }),
    status: z.object({ size: z.int32().optional(), selector: z.string().optional() }),
    subresources: { scale: { specReplicasPath: ".spec.size", statusReplicasPath: ".status.size" } },
    printerColumns: [{ name: "Size", type: "integer", jsonPath: ".spec.size" }],
    validations: [{ rule: "self.metadata.name.startsWith('w')", message: "name must start with w" }],
  });
  const crd = Widgets.crd();
  assert.equal(crd.metadata?.name, "widgets.example.kubeloop.dev");
  assert.equal(crd.spec.scope, "Cluster");
  assert.deepEqual(crd.spec.names, { kind: "Widget", listKind: "WidgetList", plural: "widgets", singular: "widget", shortNames: ["wd"] });
  const version = crd.spec.versions[0]!;
  assert.deepEqual(version.subresources, { status: {}, scale: { specReplicasPath: ".spec.size", statusReplicasPath: ".status.size" } });
  assert.deepEqual(version.additionalPrinterColumns, [{ name: "Size", type: "integer", jsonPath: ".spec.size" }]);
  const root = version.schema!.openAPIV3Schema!;
  assert.deepEqual(root["x-kubernetes-validations"], [{ rule: "self.metadata.name.startsWith('w')", message: "name must start with w" }]);
  assert.deepEqual(root.required, ["spec"]);
  assert.deepEqual(root.properties?.spec?.properties?.size, { type: "integer", format: "int32", minimum: 0, default: 1 });
  assert.equal(Widgets.resource.namespaced, false);
  assert.equal(Widgets.resource.apiVersion, "example.kubeloop.dev/v1");
});
