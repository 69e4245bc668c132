import { test } from "node:test";
import assert from "node:assert/strict";
import { CONTROLLER_UID_INDEX, NAMESPACE_INDEX, Store } from "../../../framework/cache/index.ts";
import type { KubeObject } from "../../../framework/meta/index.ts";

function obj(namespace: string, name: string, opts: { owner?: string; labels?: Record<string, string> } = {}): KubeObject {
  return {
    metadata: {
      namespace, name, labels: opts.labels ?? {},
      ...(opts.owner ? { ownerReferences: [{ apiVersion: "v1", kind: "X", name: "o", uid: opts.owner, controller: true }] } : {}),
    },
  };
}

const names = (objs: KubeObject[]) => objs.map((o) => o.metadata?.name).sort();

test("namespace and controller-uid indices follow add, update and delete", () => {
  const store = new Store<KubeObject>();
  store.upsert(obj("a", "p1", { owner: "u1" }));
  store.upsert(obj("a", "p2", { owner: "u1" }));
  store.upsert(obj("b", "p3"));
  assert.deepEqual(names(store.list("a")), ["p1", "p2"]);
  assert.deepEqual(names(store.byIndex(NAMESPACE_INDEX, "b")), ["p3"]);
  assert.deepEqual(names(store.byIndex(CONTROLLER_UID_INDEX, "u1")), ["p1", "p2"]);

  // p2 changes its controller: it leaves u1 and joins u2.
  const old = store.upsert(obj("a", "p2", { owner: "u2" }));
  assert.equal(old?.metadata?.name, "p2");
  assert.deepEqual(names(store.byIndex(CONTROLLER_UID_INDEX, "u1")), ["p1"]);
  assert.deepEqual(names(store.byIndex(CONTROLLER_UID_INDEX, "u2")), ["p2"]);

  // p1 loses its owner: no longer indexed.
  store.upsert(obj("a", "p1"));
  assert.deepEqual(store.byIndex(CONTROLLER_UID_INDEX, "u1"), []);
  assert.deepEqual(store.indexValues(CONTROLLER_UID_INDEX), ["u2"]);

  assert.equal(store.delete("a/p2")?.metadata?.name, "p2");
  assert.equal(store.delete("a/p2"), undefined);
  assert.deepEqual(store.byIndex(CONTROLLER_UID_INDEX, "u2"), []);
  assert.deepEqual(names(store.list("a")), ["p1"]);
  assert.equal(store.size(), 2);
  assert.equal(store.get("b/p3")?.metadata?.name, "p3");
});

test("replace rebuilds every index, custom ones included", () => {
  const store = new Store<KubeObject>({ byApp: (o) => (o.metadata?.labels?.["app"] ? [o.metadata.labels["app"]] : []) });
  store.upsert(obj("a", "old", { labels: { app: "web" }, owner: "u9" }));
  store.replace([obj("a", "n1", { labels: { app: "web" } }), obj("c", "n2", { labels: { app: "db" }, owner: "u1" })]);
  assert.equal(store.get("a/old"), undefined);
  assert.deepEqual(names(store.byIndex("byApp", "web")), ["n1"]);
  assert.deepEqual(names(store.byIndex("byApp", "db")), ["n2"]);
  assert.deepEqual(store.byIndex(CONTROLLER_UID_INDEX, "u9"), []);
  assert.deepEqual(names(store.byIndex(CONTROLLER_UID_INDEX, "u1")), ["n2"]);
  assert.deepEqual(store.list("a").length, 1);
  assert.deepEqual(names(store.list()), ["n1", "n2"]);
});

test("an index added later covers existing objects; multi-value index functions work", () => {
  const store = new Store<KubeObject>();
  store.upsert(obj("a", "p1", { labels: { x: "1", y: "1" } }));
  store.upsert(obj("a", "p2", { labels: { y: "1" } }));
  store.addIndex("labelKeys", (o) => Object.keys(o.metadata?.labels ?? {}));
  assert.deepEqual(names(store.byIndex("labelKeys", "y")), ["p1", "p2"]);
  assert.deepEqual(names(store.byIndex("labelKeys", "x")), ["p1"]);
  store.upsert(obj("a", "p1", { labels: { x: "1" } }));
  assert.deepEqual(names(store.byIndex("labelKeys", "y")), ["p2"]);
  assert.deepEqual(store.keysByIndex("labelKeys", "x"), ["a/p1"]);
  assert.throws(() => store.byIndex("nope", "x"), /no index named "nope"/);
  assert.throws(() => store.addIndex("labelKeys", () => []), /already exists/);
});

test("cluster-scoped objects are keyed by name and indexed under the empty namespace", () => {
  const store = new Store<KubeObject>();
  store.upsert({ metadata: { name: "node-1" } });
  assert.equal(store.get("node-1")?.metadata?.name, "node-1");
  assert.equal(store.list("").length, 1);
});
