import { test } from "node:test";
import assert from "node:assert/strict";
import type { KubeObject } from "../../../framework/meta/index.ts";
import { enqueueForObject, enqueueForOwner, enqueueMapped, predicates } from "../../../framework/controller/index.ts";
import { cm } from "./fakes.ts";

const withGen = (generation: number, rv = "1") => cm("a", { generation, resourceVersion: rv });

test("generationChanged passes spec changes, drops status-only updates, passes create and delete", () => {
  const p = predicates.generationChanged();
  assert.equal(p.update!(withGen(1), withGen(2)), true);
  assert.equal(p.update!(withGen(1, "1"), withGen(1, "2")), false);
  assert.equal(p.create, undefined);
  assert.equal(p.delete, undefined);
});

test("labelsChanged, annotationsChanged and resourceVersionChanged compare their field", () => {
  assert.equal(predicates.labelsChanged().update!(cm("a", { labels: { x: "1" } }), cm("a", { labels: { x: "2" } })), true);
  assert.equal(predicates.labelsChanged().update!(cm("a", { labels: { x: "1" } }), cm("a", { labels: { x: "1" } })), false);
  assert.equal(predicates.labelsChanged().update!(cm("a"), cm("a", { labels: {} })), false, "absent equals empty");
  assert.equal(predicates.annotationsChanged().update!(cm("a"), cm("a", { annotations: { n: "v" } })), true);
  assert.equal(predicates.resourceVersionChanged().update!(withGen(1, "1"), withGen(1, "1")), false);
  assert.equal(predicates.resourceVersionChanged().update!(withGen(1, "1"), withGen(1, "2")), true);
});

test("and, or, not combine per event kind", () => {
  const gen = predicates.generationChanged();
  const labels = predicates.labelsChanged();
  const both = predicates.and(gen, labels);
  const either = predicates.or(gen, labels);
  const onlyLabels = cm("a", { generation: 1, labels: { x: "2" } });
  const before = cm("a", { generation: 1, labels: { x: "1" } });
  assert.equal(both.update!(before, onlyLabels), false);
  assert.equal(either.update!(before, onlyLabels), true);
  assert.equal(predicates.not(gen).update!(before, onlyLabels), true);
  assert.equal(predicates.not(gen).create!(before, false), false, "not of a pass-through drops");
  assert.equal(predicates.or().create!(before, false), false);
  assert.equal(predicates.and().create!(before, false), true);
  const named = predicates.filter<KubeObject>((o) => o.metadata?.name === "a");
  assert.equal(named.create!(cm("a"), false), true);
  assert.equal(named.delete!(cm("b"), false), false);
  assert.equal(named.update!(cm("b"), cm("a")), true, "update looks at the new object");
});

const rsRef = (name: string, controller = true) => ({ apiVersion: "apps.kubeloop.dev/v1alpha1", kind: "ReplicaSet", name, uid: `uid-${name}`, controller });
const owner = { group: "apps.kubeloop.dev", version: "v1alpha1", kind: "ReplicaSet" };

test("enqueueForObject enqueues the object (the new one on update); cluster-scoped objects have no namespace", () => {
  const h = enqueueForObject();
  assert.deepEqual(h.create(cm("a")), [{ namespace: "default", name: "a" }]);
  assert.deepEqual(h.update(cm("a"), cm("a")), [{ namespace: "default", name: "a" }]);
  assert.deepEqual(h.delete({ metadata: { name: "node-1" } }), [{ name: "node-1" }]);
});

test("enqueueForOwner follows the controller reference of the owner kind and group, any version", () => {
  const h = enqueueForOwner(owner);
  const pod = (refs: object[]) => ({ metadata: { name: "p", namespace: "ns", ownerReferences: refs } }) as KubeObject;
  assert.deepEqual(h.create(pod([rsRef("rs1")])), [{ namespace: "ns", name: "rs1" }]);
  assert.deepEqual(h.create(pod([rsRef("rs1", false)])), [], "not the controller");
  assert.deepEqual(h.create(pod([{ ...rsRef("x"), apiVersion: "apps/v1" }])), [], "another group");
  assert.deepEqual(h.create(pod([{ ...rsRef("x"), apiVersion: "apps.kubeloop.dev/v1beta9" }])), [{ namespace: "ns", name: "x" }]);
  assert.deepEqual(enqueueForOwner(owner, { onlyController: false }).create(pod([rsRef("rs1", false)])), [{ namespace: "ns", name: "rs1" }]);
  assert.deepEqual(h.update(pod([rsRef("old")]), pod([rsRef("new")])), [{ namespace: "ns", name: "old" }, { namespace: "ns", name: "new" }],
    "a change of owner reaches both");
  assert.deepEqual(h.update(pod([rsRef("same")]), pod([rsRef("same")])), [{ namespace: "ns", name: "same" }]);
  const node = enqueueForOwner({ group: "", version: "v1", kind: "Node" }, { ownerNamespaced: false });
  assert.deepEqual(node.create(pod([{ apiVersion: "v1", kind: "Node", name: "n1", uid: "u", controller: true }])), [{ name: "n1" }]);
});

test("enqueueMapped maps old and new objects and deduplicates", () => {
  const h = enqueueMapped<KubeObject>((o) => (o.metadata?.labels?.app ? [{ namespace: "default", name: o.metadata.labels.app }] : []));
  assert.deepEqual(h.create(cm("a", { labels: { app: "web" } })), [{ namespace: "default", name: "web" }]);
  assert.deepEqual(h.update(cm("a", { labels: { app: "web" } }), cm("a", { labels: { app: "db" } })),
    [{ namespace: "default", name: "web" }, { namespace: "default", name: "db" }]);
  assert.deepEqual(h.update(cm("a", { labels: { app: "web" } }), cm("a", { labels: { app: "web" } })), [{ namespace: "default", name: "web" }]);
});
