// Reflector and SharedInformer against the in-memory FakeApi: initial paged list, watch events
// with old objects, resume after a watch ends, 410 relist with finalStateUnknown deletes,
// stalled watches, broken watches, late handlers, resync, and handler exceptions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Backoff, SharedInformer, stripManagedFields, type EventHandler } from "../../../framework/cache/index.ts";
import { FakeApi, keyOf, until, type TestObject } from "./fake-api.ts";
import { pino } from "pino";

const silent = pino({ level: "silent" });

type Seen = string[];

function recorder(seen: Seen): EventHandler<TestObject> {
  return {
    onAdd: (obj, initial) => seen.push(`add ${obj.metadata?.name} v${obj.spec?.value}${initial ? " initial" : ""}`),
    onUpdate: (old, obj) => seen.push(`update ${obj.metadata?.name} v${old.spec?.value}->v${obj.spec?.value}`),
    onDelete: (obj, unknown) => seen.push(`delete ${obj.metadata?.name}${unknown ? " finalStateUnknown" : ""}`),
  };
}

function startInformer(api: FakeApi, t: { after(fn: () => void): void }, extra: { resyncPeriodMs?: number; minWatchTimeoutSeconds?: number; stallTimeoutMs?: number } = {}) {
  const informer = new SharedInformer<TestObject>(api, {
    name: "Thing.v1", logger: silent,
    ...(extra.resyncPeriodMs !== undefined ? { resyncPeriodMs: extra.resyncPeriodMs } : {}),
    reflector: {
      useWatchList: false, pageSize: 2, backoff: new Backoff({ initialMs: 1, maxMs: 5, jitter: 0 }),
      ...(extra.minWatchTimeoutSeconds !== undefined ? { minWatchTimeoutSeconds: extra.minWatchTimeoutSeconds } : {}),
      ...(extra.stallTimeoutMs !== undefined ? { stallTimeoutMs: extra.stallTimeoutMs } : {}),
    },
  });
  const controller = new AbortController();
  t.after(() => controller.abort());
  return { informer, controller };
}

function storeMatches(api: FakeApi, informer: SharedInformer<TestObject>): boolean {
  if (informer.store.size() !== api.objects.size) return false;
  for (const [key, obj] of api.objects) {
    const cached = informer.store.get(key.replace(/^\//, ""));
    if (cached?.metadata?.resourceVersion !== obj.metadata?.resourceVersion) return false;
  }
  return true;
}

test("initial paged list then watch events, with old objects on update", async (t) => {
  const api = new FakeApi();
  for (let i = 1; i <= 5; i++) api.create(`o${i}`, i, i === 1 ? { managedFields: [{ manager: "x" }] } : {});
  const { informer, controller } = startInformer(api, t);
  const seen: Seen = [];
  informer.addEventHandler(recorder(seen));
  informer.run(controller.signal);
  await informer.waitForSync();
  assert.equal(api.listCalls.length, 3, "5 objects in pages of 2 take 3 LIST calls");
  assert.equal(informer.pagesOfLastList, 3);
  assert.equal(seen.length, 5);
  assert.ok(seen.every((s) => s.endsWith("initial")));
  assert.equal(informer.store.get("ns/o1")?.metadata?.managedFields, undefined, "managedFields are stripped by default");

  await until(() => api.openWatches === 1, "the watch to open");
  assert.equal(api.watchCalls[0]?.resourceVersion, String(api.rv), "the watch starts at the list's resourceVersion");
  assert.equal(api.watchCalls[0]?.allowWatchBookmarks, true);
  const timeout = api.watchCalls[0]?.timeoutSeconds ?? 0;
  assert.ok(timeout >= 300 && timeout < 600, `watch timeout ${timeout}s is within 5-10 min`);

  seen.length = 0;
  api.update("o2", 20);
  api.create("o6", 6);
  api.remove("o3");
  await until(() => seen.length === 3, "three events");
  assert.deepEqual(seen, ["update o2 v2->v20", "add o6 v6", "delete o3"]);
  assert.ok(storeMatches(api, informer));
});

test("a watch that ends is resumed from the last resourceVersion (bookmarks included) without relisting or repeating events", async (t) => {
  const api = new FakeApi();
  api.create("a", 1);
  const { informer, controller } = startInformer(api, t);
  const seen: Seen = [];
  informer.addEventHandler(recorder(seen));
  informer.run(controller.signal);
  await informer.waitForSync();
  await until(() => api.openWatches === 1, "the watch to open");
  api.update("a", 2);
  await until(() => seen.length === 2, "the update");
  api.bookmark();
  await until(() => informer.lastSyncResourceVersion === String(api.rv), "the bookmark's resourceVersion");
  api.endWatches();
  await until(() => api.watchCalls.length === 2, "a second watch");
  assert.equal(api.watchCalls[1]?.resourceVersion, String(api.rv));
  api.update("a", 3);
  await until(() => seen.length === 3, "the next update");
  assert.deepEqual(seen, ["add a v1 initial", "update a v1->v2", "update a v2->v3"]);
  assert.equal(api.listCalls.length, 1, "no relist");
});

test("410 Gone relists: vanished objects are deleted with finalStateUnknown, changed ones updated, new ones added", async (t) => {
  const api = new FakeApi();
  api.create("keep", 1);
  api.create("change", 1);
  api.create("vanish", 1);
  const { informer, controller } = startInformer(api, t);
  const seen: Seen = [];
  informer.addEventHandler(recorder(seen));
  informer.run(controller.signal);
  await informer.waitForSync();
  await until(() => api.openWatches === 1, "the watch to open");
  seen.length = 0;
  // The watch breaks; while it is down the history is compacted past our resourceVersion.
  api.breakWatches();
  api.update("change", 2);
  api.remove("vanish");
  api.create("new", 1);
  api.compact();
  await until(() => informer.listCount === 2, "a relist");
  await until(() => seen.length === 3, "three events from the relist");
  assert.deepEqual(seen.sort(), ["add new v1", "delete vanish finalStateUnknown", "update change v1->v2"]);
  assert.ok(storeMatches(api, informer), "the store equals the server's objects");
  // It goes on watching from the new list.
  api.update("keep", 5);
  await until(() => seen.length === 4, "an event after the relist");
  assert.equal(seen[3], "update keep v1->v5");
});

test("a failing LIST is retried with backoff and the informer syncs afterwards", async (t) => {
  const api = new FakeApi();
  api.create("a");
  api.failNextList = new Error("connection refused");
  const { informer, controller } = startInformer(api, t);
  informer.run(controller.signal);
  await informer.waitForSync();
  assert.equal(api.listCalls.length, 2);
  assert.equal(informer.store.size(), 1);
});

test("a stalled watch (no event and no bookmark for stallTimeoutMs) is aborted and restarted; a second silent one relists", async (t) => {
  const api = new FakeApi();
  api.create("a", 1);
  const { informer, controller } = startInformer(api, t, { stallTimeoutMs: 30 });
  informer.run(controller.signal);
  await informer.waitForSync();
  await until(() => api.listCalls.length >= 2, "a stall, a restarted watch that stalls too, then a relist");
  assert.equal(api.watchCalls[1]!.resourceVersion, api.watchCalls[0]!.resourceVersion, "the first stall re-watches from the same resourceVersion");
  api.update("a", 2);
  await until(() => informer.store.get("ns/a")?.spec?.value === 2, "an update after the restarts");
});

test("a broken watch connection is retried from the last resourceVersion", async (t) => {
  const api = new FakeApi();
  api.create("a", 1);
  const { informer, controller } = startInformer(api, t);
  const seen: Seen = [];
  informer.addEventHandler(recorder(seen));
  informer.run(controller.signal);
  await informer.waitForSync();
  await until(() => api.openWatches === 1, "the watch");
  api.breakWatches();
  api.update("a", 2); // happens while disconnected, still in history
  await until(() => seen.length === 2, "the update made while disconnected");
  assert.equal(seen[1], "update a v1->v2");
  assert.equal(api.listCalls.length, 1);
});

test("handlers added after sync get synthetic adds; exceptions in handlers do not stop the informer", async (t) => {
  const api = new FakeApi();
  api.create("a", 1);
  api.create("b", 1);
  const { informer, controller } = startInformer(api, t);
  informer.addEventHandler({ onAdd: () => { throw new Error("boom"); }, onUpdate: () => { throw new Error("boom"); } });
  informer.run(controller.signal);
  await informer.waitForSync();
  const late: Seen = [];
  const registration = informer.addEventHandler(recorder(late));
  assert.equal(registration.hasSynced(), false, "not synced before its snapshot is delivered");
  await until(() => registration.hasSynced(), "the late handler to sync");
  assert.deepEqual(late.sort(), ["add a v1 initial", "add b v1 initial"]);
  await until(() => api.openWatches === 1, "the watch");
  api.update("a", 2);
  await until(() => late.length === 3, "an update after a throwing handler");
  assert.equal(late[2], "update a v1->v2");
  registration.remove();
  api.update("a", 3);
  await until(() => informer.store.get("ns/a")?.spec?.value === 3, "the store to follow");
  assert.equal(late.length, 3, "a removed handler gets nothing");
});

test("resync re-delivers every object as an update with old === new", async (t) => {
  const api = new FakeApi();
  api.create("a", 1);
  const { informer, controller } = startInformer(api, t, { resyncPeriodMs: 20 });
  const same: string[] = [];
  informer.addEventHandler({ onUpdate: (old, obj) => { if (old === obj) same.push(keyOf(obj)); } });
  informer.run(controller.signal);
  await informer.waitForSync();
  await until(() => same.length >= 2, "two resyncs");
  assert.deepEqual([...new Set(same)], ["ns/a"]);
});

test("waitForSync rejects when its signal aborts first", async (t) => {
  const api = new FakeApi();
  api.failNextList = new Error("down");
  const informer = new SharedInformer<TestObject>(api, { name: "Thing.v1", logger: silent, reflector: { useWatchList: false, backoff: new Backoff({ initialMs: 10_000 }) } });
  const controller = new AbortController();
  t.after(() => controller.abort());
  informer.run(controller.signal);
  const waiting = new AbortController();
  const promise = informer.waitForSync(waiting.signal);
  waiting.abort();
  await assert.rejects(promise, /aborted/);
  assert.equal(informer.hasSynced(), false);
});

test("WatchList streams the initial state instead of LIST, then watches on", async (t) => {
  const api = new FakeApi();
  api.create("a", 1);
  api.create("b", 1);
  const informer = new SharedInformer<TestObject>(api, { name: "Thing.v1", logger: silent, reflector: { useWatchList: true, backoff: new Backoff({ initialMs: 1, jitter: 0 }) } });
  const controller = new AbortController();
  t.after(() => controller.abort());
  const seen: Seen = [];
  informer.addEventHandler(recorder(seen));
  informer.run(controller.signal);
  await informer.waitForSync();
  assert.equal(api.listCalls.length, 0, "no LIST");
  assert.equal(api.watchCalls[0]?.sendInitialEvents, true);
  assert.equal(api.watchCalls[0]?.resourceVersionMatch, "NotOlderThan");
  assert.deepEqual(seen.sort(), ["add a v1 initial", "add b v1 initial"]);
  assert.equal(informer.lastSyncResourceVersion, String(api.rv));
  api.update("a", 2);
  await until(() => seen.length === 3, "an update after the initial events");
  assert.equal(seen[2], "update a v1->v2");
  assert.equal(api.listCalls.length, 0);
});

test("WatchList refused by the server falls back to LIST", async (t) => {
  const api = new FakeApi();
  api.servesWatchList = false;
  api.create("a", 1);
  const informer = new SharedInformer<TestObject>(api, { name: "Thing.v1", logger: silent, reflector: { useWatchList: true } });
  const controller = new AbortController();
  t.after(() => controller.abort());
  informer.run(controller.signal);
  await informer.waitForSync();
  assert.equal(api.listCalls.length, 1);
  assert.equal(informer.store.size(), 1);
});

test("a server that keeps answering 410 is relisted once at once, then with backoff (no hot loop)", { timeout: 10_000 }, async (t) => {
  const api = new FakeApi();
  api.create("a", 1);
  api.compactedRv = Number.MAX_SAFE_INTEGER; // every watch is too old
  const informer = new SharedInformer<TestObject>(api, { name: "Thing.v1", logger: silent, reflector: { useWatchList: false, backoff: new Backoff({ initialMs: 60_000 }) } });
  const controller = new AbortController();
  t.after(() => controller.abort());
  informer.run(controller.signal);
  await informer.waitForSync();
  await until(() => api.listCalls.length === 2 && api.watchCalls.length === 2, "the immediate relist and its watch");
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(api.listCalls.length, 2, "the second 410 in a row waits for the backoff");
});

test("with WatchList, a 410 relists through WatchList again and reports the differences", async (t) => {
  const api = new FakeApi();
  api.create("keep", 1);
  api.create("change", 1);
  api.create("vanish", 1);
  const informer = new SharedInformer<TestObject>(api, { name: "Thing.v1", logger: silent, reflector: { useWatchList: true, backoff: new Backoff({ initialMs: 1, jitter: 0 }) } });
  const controller = new AbortController();
  t.after(() => controller.abort());
  const seen: Seen = [];
  informer.addEventHandler(recorder(seen));
  informer.run(controller.signal);
  await informer.waitForSync();
  await until(() => api.openWatches === 1, "the watch after the initial events");
  seen.length = 0;
  api.breakWatches();
  api.update("change", 2);
  api.remove("vanish");
  api.create("new", 1);
  api.compact();
  await until(() => informer.listCount === 2 && seen.length === 3, "a WatchList relist");
  assert.deepEqual(seen.sort(), ["add new v1", "delete vanish finalStateUnknown", "update change v1->v2"]);
  assert.equal(api.listCalls.length, 0, "no LIST at all");
  assert.ok(storeMatches(api, informer));
});

test("stripManagedFields drops managedFields and keeps every other metadata field in order", () => {
  const obj = {
    apiVersion: "v1", kind: "Pod",
    metadata: { name: "p", namespace: "ns", uid: "u", labels: { app: "a" }, managedFields: [{ manager: "kubectl" }], annotations: { a: "b" } },
    spec: { nodeName: "n" },
  };
  const stripped = stripManagedFields(obj);
  assert.equal(stripped, obj, "the same object, transformed in place");
  assert.deepEqual(Object.keys(stripped.metadata), ["name", "namespace", "uid", "labels", "annotations"]);
  assert.deepEqual(stripped.metadata, { name: "p", namespace: "ns", uid: "u", labels: { app: "a" }, annotations: { a: "b" } });
  assert.deepEqual(stripped.spec, { nodeName: "n" });
  const plain = { metadata: { name: "q" } };
  assert.equal(stripManagedFields(plain).metadata, plain.metadata, "metadata without managedFields is left as it is");
});
