import { test } from "node:test";
import assert from "node:assert/strict";
import { CONTROLLER_UID_INDEX, IndexFuncError, NAMESPACE_INDEX, Store } from "../../../framework/cache/index.ts";
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

test("an index function that throws or returns junk changes nothing: not the item, not any index", () => {
  let mode: "ok" | "throw" | "junk" = "ok";
  const store = new Store<KubeObject>({
    byLabel: (o) => {
      if (mode === "throw" && o.metadata?.name === "p1") throw new Error("index bug");
      if (mode === "junk" && o.metadata?.name === "p1") return "not-an-array" as unknown as string[];
      return [o.metadata?.labels?.app ?? ""];
    },
  });
  const v1 = obj("a", "p1", { owner: "u1", labels: { app: "web" } });
  store.upsert(v1);
  store.upsert(obj("a", "p2", { labels: { app: "web" } }));
  const snapshot = () => JSON.stringify({
    items: store.keys().sort().map((k) => store.get(k)),
    web: names(store.byIndex("byLabel", "web")), db: names(store.byIndex("byLabel", "db")),
    u1: names(store.byIndex(CONTROLLER_UID_INDEX, "u1")), u2: names(store.byIndex(CONTROLLER_UID_INDEX, "u2")),
    b: names(store.byIndex(NAMESPACE_INDEX, "b")), values: store.indexValues("byLabel").sort(),
  });
  const before = snapshot();
  for (const m of ["throw", "junk"] as const) {
    mode = m;
    // The controller-uid index (run before byLabel) would change too: it must not.
    assert.throws(() => store.upsert(obj("a", "p1", { owner: "u2", labels: { app: "db" } })), IndexFuncError);
    assert.equal(snapshot(), before, `upsert (${m}) left the store unchanged`);
    assert.equal(store.get("a/p1"), v1);
    assert.throws(() => store.replace([obj("b", "p3"), obj("a", "p1", { labels: { app: "db" } })]), IndexFuncError);
    assert.equal(snapshot(), before, `replace (${m}) left the store unchanged`);
    assert.throws(() => store.addIndex(`late-${m}`, (o) => { if (o.metadata?.name === "p1") throw new Error("bug"); return []; }), IndexFuncError);
    assert.ok(!store.indexNames().includes(`late-${m}`), "a failing addIndex adds no index");
  }
  mode = "throw";
  // Removal never re-runs the index function, so a delete always works.
  assert.equal(store.delete("a/p1"), v1);
  assert.deepEqual(names(store.byIndex("byLabel", "web")), ["p2"]);
  assert.deepEqual(names(store.byIndex(CONTROLLER_UID_INDEX, "u1")), []);
});
