// The cache-backed Reader: selectors, indexes, namespace scoping, read-only objects, and which
// informer InformerCache reads from.
import { test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import {
  InformerCache, Store, fieldIndexFunc, fieldIndexName, listFromStore, parseFieldSelector,
} from "../../../framework/cache/index.ts";
import { ConfigMaps, Nodes, Pods, deepCopy, labelSelectorAsSelector, type Pod } from "../../../framework/meta/index.ts";
import { FakeClient } from "../../../framework/testing/index.ts";
import { freshest } from "../../../framework/cache/informer-cache.ts";

const silent = pino({ level: "silent" });

function pod(namespace: string, name: string, labels: Record<string, string> = {}, node = ""): Pod {
  return { apiVersion: "v1", kind: "Pod", metadata: { namespace, name, labels, resourceVersion: "1" }, spec: { containers: [], ...(node ? { nodeName: node } : {}) } };
}

function podStore(): Store<Pod> {
  const store = new Store<Pod>();
  store.upsert(pod("a", "web-1", { app: "web", tier: "front" }, "n1"));
  store.upsert(pod("a", "web-2", { app: "web", tier: "back" }, "n2"));
  store.upsert(pod("a", "db-1", { app: "db" }, "n1"));
  store.upsert(pod("b", "web-1", { app: "web" }, "n1"));
  store.upsert(pod("b", "lonely"));
  return store;
}

const names = (objs: ReadonlyArray<{ readonly metadata?: { readonly namespace?: string; readonly name?: string } }>): string[] =>
  objs.map((o) => `${o.metadata?.namespace}/${o.metadata?.name}`).sort();

test("namespace scoping: one namespace from the namespace index, or all", () => {
  const store = podStore();
  assert.deepEqual(names(listFromStore(store, Pods, { namespace: "b" })), ["b/lonely", "b/web-1"]);
  assert.equal(listFromStore(store, Pods).length, 5);
  assert.deepEqual(listFromStore(store, Pods, { namespace: "nowhere" }), []);
});

test("label selectors: string syntax, matchLabels/matchExpressions, a parsed Selector; {} selects everything", () => {
  const store = podStore();
  assert.deepEqual(names(listFromStore(store, Pods, { labelSelector: "app=web,tier!=back" })), ["a/web-1", "b/web-1"]);
  assert.deepEqual(names(listFromStore(store, Pods, { namespace: "a", labelSelector: "app in (web,db),!tier" })), ["a/db-1"]);
  assert.deepEqual(
    names(listFromStore(store, Pods, { labelSelector: { matchLabels: { app: "web" }, matchExpressions: [{ key: "tier", operator: "In", values: ["front", "back"] }] } })),
    ["a/web-1", "a/web-2"],
  );
  assert.deepEqual(names(listFromStore(store, Pods, { labelSelector: { matchExpressions: [{ key: "app", operator: "DoesNotExist" }] } })), ["b/lonely"]);
  assert.equal(listFromStore(store, Pods, { labelSelector: {} }).length, 5, "an empty LabelSelector selects everything");
  assert.equal(listFromStore(store, Pods, { labelSelector: "" }).length, 5);
  const sel = labelSelectorAsSelector({ matchLabels: { app: "db" } });
  assert.deepEqual(names(listFromStore(store, Pods, { labelSelector: sel })), ["a/db-1"]);
  assert.throws(() => listFromStore(store, Pods, { labelSelector: { matchExpressions: [{ key: "app", operator: "Near" }] } }), /not a valid label selector operator/);
  assert.throws(() => listFromStore(store, Pods, { labelSelector: "app in web" }), /LabelSelectorError|expected|parenthesis|\(/);
});

test("metadata.name and metadata.namespace field selectors need no index", () => {
  const store = podStore();
  assert.deepEqual(names(listFromStore(store, Pods, { fieldSelector: "metadata.name=web-1" })), ["a/web-1", "b/web-1"]);
  assert.deepEqual(names(listFromStore(store, Pods, { namespace: "b", fieldSelector: { "metadata.name": "web-1" } })), ["b/web-1"]);
  assert.deepEqual(names(listFromStore(store, Pods, { fieldSelector: "metadata.namespace==b,metadata.name=web-1" })), ["b/web-1"]);
  assert.deepEqual(listFromStore(store, Pods, { namespace: "a", fieldSelector: "metadata.namespace=b" }), []);
  assert.deepEqual(names(listFromStore(store, Pods, { fieldSelector: "metadata.name=web-1", labelSelector: "app=web", namespace: "a" })), ["a/web-1"]);
});

test("an unknown field without an index throws naming how to register one; != is refused", () => {
  const store = podStore();
  assert.throws(() => listFromStore(store, Pods, { fieldSelector: "spec.nodeName=n1" }), (err: Error) => {
    assert.match(err.message, /no index "field:spec\.nodeName" exists for Pod/);
    assert.match(err.message, /cache\.indexField\(PodType, "spec\.nodeName"/);
    return true;
  });
  assert.throws(() => listFromStore(store, Pods, { fieldSelector: "metadata.name!=x" }), /not an exact match/);
  assert.throws(() => parseFieldSelector("justtext"), /is not field=value/);
  assert.deepEqual(parseFieldSelector("a\\,b=c\\=d,e!=f"), [{ field: "a,b", operator: "=", value: "c=d" }, { field: "e", operator: "!=", value: "f" }]);
});

test("field indexes: one lookup in a namespace or across all, combined with the other conditions", () => {
  const store = podStore();
  store.addIndex(fieldIndexName("spec.nodeName"), fieldIndexFunc<Pod>((p) => (p.spec?.nodeName ? [p.spec.nodeName] : [])));
  assert.deepEqual(names(listFromStore(store, Pods, { fieldSelector: "spec.nodeName=n1" })), ["a/db-1", "a/web-1", "b/web-1"]);
  assert.deepEqual(names(listFromStore(store, Pods, { namespace: "a", fieldSelector: { "spec.nodeName": "n1" } })), ["a/db-1", "a/web-1"]);
  assert.deepEqual(names(listFromStore(store, Pods, { namespace: "a", fieldSelector: "spec.nodeName=n1", labelSelector: "app=web" })), ["a/web-1"]);
  assert.deepEqual(names(listFromStore(store, Pods, { fieldSelector: "metadata.name=web-1,spec.nodeName=n1" })), ["a/web-1", "b/web-1"]);
  assert.deepEqual(names(listFromStore(store, Pods, { fieldSelector: "spec.nodeName=n1,metadata.namespace=b" })), ["b/web-1"]);
  assert.deepEqual(listFromStore(store, Pods, { fieldSelector: "spec.nodeName=n9" }), []);
  // Cluster-scoped objects are indexed under __all_namespaces only.
  const nodes = new Store<{ metadata: { name: string; labels?: Record<string, string> } }>();
  nodes.addIndex(fieldIndexName("zone"), fieldIndexFunc((n) => [n.metadata.labels?.zone ?? ""]));
  nodes.upsert({ metadata: { name: "n1", labels: { zone: "z1" } } });
  nodes.upsert({ metadata: { name: "n2", labels: { zone: "z2" } } });
  assert.deepEqual(listFromStore(nodes, Nodes as never, { fieldSelector: "zone=z2", namespace: "ignored" }).map((n) => n.metadata.name), ["n2"]);
});

test("named indexes and limit", () => {
  const store = podStore();
  store.addIndex("app", (p) => [p.metadata?.labels?.app ?? ""]);
  assert.deepEqual(names(listFromStore(store, Pods, { index: { name: "app", value: "web" } })), ["a/web-1", "a/web-2", "b/web-1"]);
  assert.deepEqual(names(listFromStore(store, Pods, { index: { name: "app", value: "web" }, namespace: "b" })), ["b/web-1"]);
  assert.throws(() => listFromStore(store, Pods, { index: { name: "nope", value: "x" } }), /no index named "nope" \(known: namespace, controllerUID, app\)/);
  assert.equal(listFromStore(store, Pods, { limit: 2 }).length, 2);
  assert.equal(listFromStore(store, Pods, { labelSelector: "app=web", limit: 1 }).length, 1);
});

function startedCache(client: FakeClient, opts: ConstructorParameters<typeof InformerCache>[1] = {}) {
  const cache = new InformerCache(client, { logger: silent, ...opts });
  const stop = new AbortController();
  cache.start(stop.signal);
  return { cache, stop };
}

test("InformerCache reads through a synced informer it starts on demand; objects are frozen", async (t) => {
  const client = new FakeClient();
  const pods = client.api.objects(Pods);
  pods.add(pod("a", "web-1", { app: "web" }, "n1"));
  pods.add(pod("b", "web-2", { app: "web" }, "n2"));
  const cache = new InformerCache(client, { logger: silent });
  await assert.rejects(cache.get(Pods, { namespace: "a", name: "web-1" }), /the cache has not been started/);
  cache.indexField(Pods, "spec.nodeName", (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
  const stop = new AbortController();
  t.after(() => stop.abort());
  cache.start(stop.signal);

  const got = await cache.get(Pods, { namespace: "a", name: "web-1" });
  assert.equal(got?.spec?.nodeName, "n1");
  assert.equal(client.actionsOf("list", "Pod").length, 1, "one informer started on demand");
  assert.equal(await cache.get(Pods, { namespace: "a", name: "missing" }), undefined);
  await assert.rejects(cache.get(Pods, { name: "web-1" }), /Pod is namespaced, so the key needs a namespace/);
  assert.deepEqual(names(await cache.list(Pods, { fieldSelector: "spec.nodeName=n2" })), ["b/web-2"]);

  // Read-only at run time: the object is the cache's, frozen to the leaves.
  assert.ok(Object.isFrozen(got) && Object.isFrozen(got?.metadata) && Object.isFrozen(got?.metadata?.labels));
  assert.throws(() => {
    (got as Pod).metadata!.labels = { app: "changed" };
  }, TypeError);
  assert.throws(() => {
    (got as unknown as Pod).metadata!.labels!["app"] = "changed";
  }, TypeError, "frozen to the leaves");
  const copy = deepCopy(got!);
  copy.metadata!.labels!.app = "changed";
  assert.equal((await cache.get(Pods, { namespace: "a", name: "web-1" }))?.metadata?.labels?.app, "web", "a copy changes nothing in the cache");

  // Changes arrive through the watch.
  const web3 = pod("a", "web-3", { app: "web" }, "n2");
  delete web3.metadata!.resourceVersion;
  await client.create(Pods, web3);
  let listed: string[] = [];
  for (let i = 0; i < 200 && !listed.includes("a/web-3"); i++) {
    await new Promise((r) => setTimeout(r, 5));
    listed = names(await cache.list(Pods, { namespace: "a", labelSelector: "app=web" }));
  }
  assert.deepEqual(listed, ["a/web-1", "a/web-3"]);
  assert.deepEqual(names(await cache.list(Pods, { namespace: "a", fieldSelector: "spec.nodeName=n2" })), ["a/web-3"], "an index registered before the informer existed applies to it");
});

test("InformerCache: indexField after the informer exists, readerFailOnMissingInformer, default namespace, ambiguous selectors, freezeObjects false", async (t) => {
  const client = new FakeClient();
  client.api.objects(ConfigMaps).add({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c1", namespace: "a", labels: { k: "1" } }, data: { x: "1" } });
  client.api.objects(ConfigMaps).add({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c2", namespace: "b", labels: { k: "2" } }, data: { x: "2" } });

  const strict = startedCache(client, { readerFailOnMissingInformer: true });
  t.after(() => strict.stop.abort());
  await assert.rejects(strict.cache.list(ConfigMaps), /no informer of ConfigMap is running and readerFailOnMissingInformer is set/);
  const informer = strict.cache.informerFor(ConfigMaps);
  await informer.waitForSync();
  strict.cache.indexField(ConfigMaps, "data.x", (cm) => [cm.data?.x ?? ""]);
  assert.deepEqual(names(await strict.cache.list(ConfigMaps, { fieldSelector: "data.x=2" })), ["b/c2"]);
  assert.throws(() => strict.cache.indexField(ConfigMaps, "data.x", () => []), /already indexed/);

  const scoped = startedCache(client, { defaultNamespace: "a" });
  t.after(() => scoped.stop.abort());
  assert.deepEqual(names(await scoped.cache.list(ConfigMaps)), ["a/c1"], "all namespaces means the cached namespace");
  await assert.rejects(scoped.cache.get(ConfigMaps, { namespace: "b", name: "c2" }), /namespace "b" is not cached; the cache watches only "a"/);

  const restricted = startedCache(client);
  t.after(() => restricted.stop.abort());
  restricted.cache.informerFor(ConfigMaps, { labelSelector: "k=1" });
  assert.deepEqual(names(await restricted.cache.list(ConfigMaps)), ["a/c1"], "the only informer of the type serves, with its selector");
  restricted.cache.informerFor(ConfigMaps, { labelSelector: "k=2" });
  await assert.rejects(restricted.cache.list(ConfigMaps), /2 informers with different selectors/);
  restricted.cache.informerFor(ConfigMaps, { namespace: "b" });
  assert.deepEqual(names(await restricted.cache.list(ConfigMaps, { namespace: "b" })), ["b/c2"], "an unrestricted informer of the namespace wins");

  const unfrozen = startedCache(client, { freezeObjects: false });
  t.after(() => unfrozen.stop.abort());
  const cm = await unfrozen.cache.get(ConfigMaps, { namespace: "a", name: "c1" });
  assert.equal(Object.isFrozen(cm), false);
});

test("types: a cached object is DeepReadonly, its deepCopy is a plain Pod again", async () => {
  const client = new FakeClient();
  client.api.objects(Pods).add(pod("a", "p"));
  const { cache, stop } = startedCache(client);
  const fromCache = (await cache.get(Pods, { namespace: "a", name: "p" }))!;
  stop.abort();
  assert.throws(() => {
    // @ts-expect-error: cached objects are read-only in the types
    fromCache.metadata.name = "x";
  }, TypeError, "and frozen at run time");
  const cached = (await client.api.reader().get(Pods, { namespace: "a", name: "p" }))!;
  const copy: Pod = deepCopy(cached);
  copy.metadata!.name = "renamed";
  assert.equal(cached.metadata?.name, "p");
});

test("InformerCache reads from the covering informer that has seen the newest resourceVersion", () => {
  const informer = (name: string, lastSyncResourceVersion: string, synced = true) => ({ name, lastSyncResourceVersion, hasSynced: () => synced });
  // A reconcile triggered by the all-namespaces informer's event 300 must not read the namespaced one still at 299.
  assert.equal(freshest([informer("namespaced", "299"), informer("all", "300")]).name, "all");
  assert.equal(freshest([informer("all", "300"), informer("namespaced", "1000")]).name, "namespaced", "numeric order: longer is newer");
  assert.equal(freshest([informer("synced", "5"), informer("syncing", "9", false)]).name, "synced", "a synced informer first");
  assert.equal(freshest([informer("first", "x"), informer("second", "7")]).name, "first", "not comparable: the first");
});
