// The public FakeClient over InMemoryApi: what the API server's storage does that controllers
// rely on (resourceVersions, conflicts, status subresource, finalizers, patches, selectors,
// watches), and the test hooks (actions, reactors).
import { test } from "node:test";
import assert from "node:assert/strict";
import { isAlreadyExists, isConflict, isInvalid, isNotFound, type WatchEvent } from "../../../framework/client/index.ts";
import { ConfigMaps, Pods, resourceType, type ConfigMap, type KubeObject, type Pod } from "../../../framework/meta/index.ts";
import { FakeClient, InMemoryApi, apiError } from "../../../framework/testing/index.ts";

interface Widget extends KubeObject {
  spec?: { size?: number; tags?: string[] };
  status?: { ready?: boolean };
}
const Widgets = resourceType<Widget>({ group: "example.dev", version: "v1", kind: "Widget", plural: "widgets", namespaced: true });
const widget = (name: string, size = 1, extra: Partial<Widget> = {}): Widget => ({ metadata: { name, namespace: "ns" }, spec: { size }, ...extra });

test("create fills in the server's fields; AlreadyExists, NotFound and generateName", async () => {
  const api = new InMemoryApi({ now: () => Date.UTC(2026, 0, 1) });
  const client = new FakeClient(api);
  const w = await client.create(Widgets, widget("a", 1, { status: { ready: true } }));
  assert.equal(w.apiVersion, "example.dev/v1");
  assert.equal(w.kind, "Widget");
  assert.match(w.metadata!.uid!, /^[0-9a-f-]{36}$/);
  assert.equal(w.metadata!.creationTimestamp, "2026-01-01T00:00:00Z");
  assert.equal(w.metadata!.generation, 1);
  assert.equal(w.metadata!.resourceVersion, String(api.resourceVersion));
  assert.equal(w.status, undefined, "status is a subresource: dropped on create");
  await assert.rejects(client.create(Widgets, widget("a")), (err) => isAlreadyExists(err) && /widgets.example.dev "a" already exists/.test((err as Error).message));
  await assert.rejects(client.get(Widgets, { namespace: "ns", name: "b" }), (err) => isNotFound(err) && /widgets.example.dev "b" not found/.test((err as Error).message));
  const g1 = await client.create(Widgets, { metadata: { generateName: "w-", namespace: "ns" } });
  const g2 = await client.create(Widgets, { metadata: { generateName: "w-", namespace: "ns" } });
  assert.match(g1.metadata!.name!, /^w-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  assert.notEqual(g1.metadata!.name, g2.metadata!.name);
  await assert.rejects(client.create(Widgets, { metadata: { namespace: "ns" } }), isInvalid);
  await assert.rejects(client.create(Widgets, { metadata: { name: "x" } }), /namespaced, so metadata.namespace must be set/);
});

test("update: stale resourceVersion conflicts, none is unconditional, no-op writes nothing, status kept, generation on spec change", async () => {
  const client = new FakeClient();
  const created = await client.create(Widgets, widget("a"));
  await client.updateStatus(Widgets, { ...created, status: { ready: true } });
  await assert.rejects(client.update(Widgets, { ...created, spec: { size: 2 } }), (err) => isConflict(err) && /the object has been modified/.test((err as Error).message));
  const current = await client.get(Widgets, { namespace: "ns", name: "a" });
  const updated = await client.update(Widgets, { ...current, spec: { size: 2 }, status: { ready: false } });
  assert.equal(updated.metadata!.generation, 2);
  assert.equal(updated.status?.ready, true, "PUT of the object does not change status");
  assert.ok(Number(updated.metadata!.resourceVersion) > Number(current.metadata!.resourceVersion));
  const unconditional = await client.update(Widgets, { metadata: { name: "a", namespace: "ns", labels: { x: "y" } }, spec: { size: 2 } });
  assert.equal(unconditional.metadata!.generation, 2, "a metadata-only change keeps the generation");
  assert.equal(unconditional.metadata!.uid, created.metadata!.uid, "uid and creationTimestamp are immutable");
  const same = await client.update(Widgets, unconditional);
  assert.equal(same.metadata!.resourceVersion, unconditional.metadata!.resourceVersion, "a no-op update writes nothing");
  const status = await client.updateStatus(Widgets, { ...same, metadata: { ...same.metadata, labels: {} }, spec: { size: 99 }, status: { ready: false } });
  assert.equal(status.status?.ready, false);
  assert.equal(status.spec?.size, 2, "the status subresource ignores everything but status");
  assert.deepEqual(status.metadata!.labels, { x: "y" });
  await assert.rejects(client.update(Widgets, widget("nope")), isNotFound);
  await assert.rejects(client.update(Widgets, { ...status, metadata: { ...status.metadata, uid: "other" } }), /Precondition failed: UID/);
});

test("patches: merge, JSON (a failed test is 422), strategic on ownerReferences and finalizers, conditional on resourceVersion, status", async () => {
  const client = new FakeClient();
  const pod = await client.create(Pods, {
    apiVersion: "v1", kind: "Pod",
    metadata: { name: "p", namespace: "ns", labels: { a: "1", b: "2" }, ownerReferences: [{ apiVersion: "v1", kind: "X", name: "o1", uid: "u1" }, { apiVersion: "v1", kind: "X", name: "o2", uid: "u2" }] },
    spec: { containers: [{ name: "c", image: "i" }] },
  });
  const merged = await client.patch(Pods, { namespace: "ns", name: "p" }, { type: "merge", body: { metadata: { labels: { a: null, c: "3" } } } });
  assert.deepEqual(merged.metadata!.labels, { b: "2", c: "3" });
  const json = await client.patch(Pods, { namespace: "ns", name: "p" }, { type: "json", ops: [{ op: "test", path: "/metadata/labels/b", value: "2" }, { op: "add", path: "/metadata/annotations", value: { n: "1" } }] });
  assert.deepEqual(json.metadata!.annotations, { n: "1" });
  await assert.rejects(client.patch(Pods, { namespace: "ns", name: "p" }, { type: "json", ops: [{ op: "test", path: "/metadata/labels/b", value: "9" }] }), isInvalid);
  const smp = await client.patch(Pods, { namespace: "ns", name: "p" }, {
    type: "strategic",
    body: { metadata: { ownerReferences: [{ uid: "u1", $patch: "delete" }, { apiVersion: "v1", kind: "X", name: "o3", uid: "u3" }], finalizers: ["f/one"] } },
  });
  assert.deepEqual(smp.metadata!.ownerReferences!.map((r) => r.uid), ["u2", "u3"]);
  assert.deepEqual(smp.metadata!.finalizers, ["f/one"]);
  await assert.rejects(
    client.patch(Pods, { namespace: "ns", name: "p" }, { type: "merge", body: { metadata: { resourceVersion: pod.metadata!.resourceVersion, labels: { d: "4" } } } }),
    isConflict, "a resourceVersion in the patch is a precondition",
  );
  const status = await client.patch(Pods, { namespace: "ns", name: "p" }, { type: "merge", body: { status: { phase: "Running" }, metadata: { labels: { ignored: "x" } } } }, { subresource: "status" });
  assert.equal(status.status?.phase, "Running");
  assert.equal(status.metadata!.labels!["ignored"], undefined);
  await assert.rejects(client.patch(Pods, { namespace: "ns", name: "gone" }, { type: "merge", body: {} }), isNotFound);
});

test("delete: preconditions, finalizers hold the object with a deletionTimestamp until they are removed", async () => {
  const api = new InMemoryApi({ now: () => Date.UTC(2026, 0, 1, 0, 0, 5) });
  const client = new FakeClient(api);
  const cm = await client.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "ns", finalizers: ["f/x"] } });
  await assert.rejects(client.delete(ConfigMaps, { namespace: "ns", name: "c" }, { preconditions: { uid: "other" } }), isConflict);
  await assert.rejects(client.delete(ConfigMaps, { namespace: "ns", name: "c" }, { preconditions: { resourceVersion: "1" } }), isConflict);
  await client.delete(ConfigMaps, { namespace: "ns", name: "c" });
  const deleting = await client.get(ConfigMaps, { namespace: "ns", name: "c" });
  assert.equal(deleting.metadata!.deletionTimestamp, "2026-01-01T00:00:05Z");
  await client.update(ConfigMaps, { ...deleting, metadata: { ...deleting.metadata, finalizers: [] } });
  await assert.rejects(client.get(ConfigMaps, { namespace: "ns", name: "c" }), isNotFound, "gone once the last finalizer is removed");
  await assert.rejects(client.delete(ConfigMaps, { namespace: "ns", name: "c" }), isNotFound);
  assert.ok(cm.metadata!.uid);
});

test("list: namespace, label and field selectors (unsupported field labels are 400), pages", async () => {
  const client = new FakeClient();
  for (const [ns, name, app, node] of [["a", "p1", "web", "n1"], ["a", "p2", "db", "n2"], ["b", "p3", "web", "n1"], ["b", "p4", "web", "n2"]] as const) {
    await client.create(Pods, { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: ns, labels: { app } }, spec: { containers: [], nodeName: node } });
  }
  const names = (l: { items: Pod[] }) => l.items.map((p) => `${p.metadata!.namespace}/${p.metadata!.name}`);
  assert.deepEqual(names(await client.list(Pods, { namespace: "a" })), ["a/p1", "a/p2"]);
  assert.deepEqual(names(await client.list(Pods, { labelSelector: "app=web" })), ["a/p1", "b/p3", "b/p4"]);
  assert.deepEqual(names(await client.list(Pods, { labelSelector: "app=web", fieldSelector: "spec.nodeName=n1" })), ["a/p1", "b/p3"]);
  assert.deepEqual(names(await client.list(Pods, { fieldSelector: "metadata.name!=p1,metadata.namespace=a" })), ["a/p2"]);
  await assert.rejects(client.list(Pods, { fieldSelector: "spec.hostname=x" }), /400 BadRequest: field label not supported: spec.hostname/);
  await assert.rejects(client.list(Pods, { labelSelector: "app in web" }), /400 BadRequest/);
  const page1 = await client.list(Pods, { limit: 3 });
  assert.equal(page1.items.length, 3);
  assert.equal(page1.metadata.remainingItemCount, 1);
  const page2 = await client.list(Pods, { limit: 3, continue: page1.metadata.continue! });
  assert.deepEqual(names(page2), ["b/p4"]);
  assert.equal(page2.metadata.continue, undefined);
});

async function take<T extends KubeObject>(it: AsyncIterator<WatchEvent<T>>, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const { value, done } = await it.next();
    if (done) break;
    out.push(value.type === "ERROR" ? `ERROR ${value.object.code}` : `${value.type} ${value.object.metadata?.name ?? ""}`);
  }
  return out;
}

test("watch: replay from a resourceVersion, initial ADDED without one, selector transitions, bookmarks, 410 after compaction, WatchList", async () => {
  const client = new FakeClient();
  const api = client.api;
  const stop = new AbortController();
  await client.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a", namespace: "ns", labels: { on: "yes" } } });
  const rv = String(api.resourceVersion);
  await client.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "b", namespace: "ns", labels: { on: "yes" } } });

  const fromRv = client.watch(ConfigMaps, { resourceVersion: rv, labelSelector: "on=yes", signal: stop.signal })[Symbol.asyncIterator]();
  assert.deepEqual(await take(fromRv, 1), ["ADDED b"], "history after the resourceVersion");
  await client.patch(ConfigMaps, { namespace: "ns", name: "a" }, { type: "merge", body: { metadata: { labels: { on: "no" } } } });
  assert.deepEqual(await take(fromRv, 1), ["DELETED a"], "an object that stops matching is deleted for this watch");
  await client.patch(ConfigMaps, { namespace: "ns", name: "a" }, { type: "merge", body: { metadata: { labels: { on: "yes" } } } });
  assert.deepEqual(await take(fromRv, 1), ["ADDED a"]);
  api.bookmark();
  assert.deepEqual(await take(fromRv, 1), ["BOOKMARK "]);

  const fresh = client.watch(ConfigMaps, { namespace: "ns", signal: stop.signal })[Symbol.asyncIterator]();
  assert.deepEqual(await take(fresh, 2), ["ADDED a", "ADDED b"], "no resourceVersion: the current state first");

  api.compact();
  const old = client.watch(ConfigMaps, { resourceVersion: rv })[Symbol.asyncIterator]();
  assert.deepEqual(await take(old, 2), ["ERROR 410"]);

  const list = client.watch(ConfigMaps, { sendInitialEvents: true, resourceVersionMatch: "NotOlderThan", signal: stop.signal })[Symbol.asyncIterator]();
  const initial = await take(list, 3);
  assert.deepEqual(initial, ["ADDED a", "ADDED b", "BOOKMARK "]);
  api.servesWatchList = false;
  await assert.rejects(take(client.watch(ConfigMaps, { sendInitialEvents: true })[Symbol.asyncIterator](), 1), /400 BadRequest/);

  assert.equal(api.openWatches, 3);
  api.breakWatches("ECONNRESET");
  await assert.rejects(fromRv.next(), /ECONNRESET/);
  await assert.rejects(list.next(), /ECONNRESET/);
  await assert.rejects(fresh.next(), /ECONNRESET/);
  assert.equal(api.openWatches, 0);
  const aborted = client.watch(ConfigMaps, { resourceVersion: String(api.resourceVersion), signal: stop.signal })[Symbol.asyncIterator]();
  const pending = aborted.next();
  await new Promise((r) => setImmediate(r));
  stop.abort();
  assert.equal((await pending).done, true, "abort ends the watch");
});

test("actions are recorded; reactors fail, answer, or let requests through, once or always", async () => {
  const client = new FakeClient();
  const off = client.prependReactor({ verb: "create", kind: "ConfigMap" }, (action) => (action.name === "bad" ? apiError(403, "Forbidden", "exceeded quota") : undefined));
  await assert.rejects(client.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "bad", namespace: "ns" } }), /403 Forbidden: exceeded quota/);
  await client.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "good", namespace: "ns" } });
  off();
  await client.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "bad", namespace: "ns" } });
  client.prependReactor({ verb: "get", once: true }, () => ({ result: { metadata: { name: "canned" } } }));
  assert.equal((await client.get(ConfigMaps, { namespace: "ns", name: "good" })).metadata?.name, "canned");
  assert.equal((await client.get(ConfigMaps, { namespace: "ns", name: "good" })).metadata?.name, "good", "once: removed after answering");
  const down = client.prependReactor({}, () => new Error("connection refused"));
  await assert.rejects(client.list(ConfigMaps), /connection refused/);
  down();
  assert.deepEqual(client.actions.map((a) => `${a.verb} ${a.name ?? ""}`), ["create bad", "create good", "create bad", "get good", "get good", "list "]);
  const created = client.actionsOf("create", "ConfigMap");
  assert.equal((created[1]!.object as ConfigMap).metadata?.name, "good");
  client.clearActions();
  assert.equal(client.actions.length, 0);
});

test("objects(): a live read-only view tests seed through, seen by watches", async () => {
  const client = new FakeClient();
  const widgets = client.api.objects(Widgets);
  const stop = new AbortController();
  const watch = client.watch(Widgets, { signal: stop.signal })[Symbol.asyncIterator]();
  const stored = widgets.add(widget("w", 3, { status: { ready: true } }));
  assert.equal(stored.status?.ready, true, "add keeps status");
  assert.ok(Object.isFrozen(stored));
  assert.deepEqual(await take(watch, 1), ["ADDED w"]);
  assert.equal(widgets.get("ns/w")?.spec?.size, 3);
  assert.equal(widgets.list("ns").length, 1);
  assert.equal(widgets.remove("ns/w"), true);
  assert.deepEqual(await take(watch, 1), ["DELETED w"]);
  assert.equal(widgets.size(), 0);
  const rv = client.api.resourceVersion;
  client.api.resourceVersion = rv + 5; // writes elsewhere moved the server on
  assert.equal(Number(widgets.add(widget("v")).metadata?.resourceVersion), rv + 6);
  assert.throws(() => (client.api.resourceVersion = rv), RangeError);
  stop.abort();
});
