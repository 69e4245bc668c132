/**
 * Informers against a real API server: add/update/delete with old objects, shared informers per
 * scope, 1000 objects listed through paging, a forced 410 Gone relist and a kube-apiserver
 * restart, each ending with the store and the handlers' view equal to a fresh LIST (nothing
 * lost, nothing twice); a resourceVersion the server has not reached ("Too large resource
 * version") relists instead of re-watching it. Needs a cluster: `KUBELOOP_CLUSTER_DIR` or `KUBECONFIG`; the restart
 * needs a local control plane (`KUBELOOP_CLUSTER_DIR`).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import { pino } from "pino";
import { createClient, isGone, KubeConfig, type KubeClient, type ListOptions, type WatchOptions, type WatchEvent } from "../../../framework/client/index.ts";
import {
  Backoff, InformerCache, SharedInformer, isTooLargeResourceVersionError, listerWatcherFor, type EventHandler, type ListerWatcher,
} from "../../../framework/cache/index.ts";
import { ConfigMaps, keyOf, Namespaces } from "../../../framework/meta/index.ts";
import { testControlPlane, waitFor, type ControlPlane } from "../../../framework/testing/index.ts";

const suffix = randomBytes(3).toString("hex");
const namespace = `kubeloop-cache-e2e-${suffix}`;
const bulkNamespace = `kubeloop-cache-bulk-${suffix}`;
const silent = pino({ level: "silent" });
let plane: ControlPlane;
let client: KubeClient;
const stop = new AbortController();

function configMap(name: string, data: Record<string, string>, labels: Record<string, string>, ns = namespace): IConfigMap {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns, labels }, data };
}

/** What a handler saw, replayed into key -> resourceVersion; `problems` lists impossible sequences (a second add, an update or delete of an unknown key). */
class HandlerView implements EventHandler<IConfigMap> {
  readonly objects = new Map<string, string>();
  readonly problems: string[] = [];
  readonly log: string[] = [];
  onAdd(obj: IConfigMap, initial: boolean): void {
    const key = keyOf(obj);
    if (this.objects.has(key)) this.problems.push(`add of known ${key}`);
    this.objects.set(key, obj.metadata?.resourceVersion ?? "");
    this.log.push(`add ${obj.metadata?.name}${initial ? " initial" : ""}`);
  }
  onUpdate(old: IConfigMap, obj: IConfigMap): void {
    const key = keyOf(obj);
    if (this.objects.get(key) !== old.metadata?.resourceVersion) this.problems.push(`update of ${key} from an old object this handler never saw`);
    this.objects.set(key, obj.metadata?.resourceVersion ?? "");
    this.log.push(`update ${obj.metadata?.name} ${old.data?.["v"]}->${obj.data?.["v"]}`);
  }
  onDelete(obj: IConfigMap, unknown: boolean): void {
    const key = keyOf(obj);
    if (!this.objects.delete(key)) this.problems.push(`delete of unknown ${key}`);
    this.log.push(`delete ${obj.metadata?.name}${unknown ? " finalStateUnknown" : ""}`);
  }
}

/** Waits until the informer's store and the handler's view both equal a fresh LIST with this selector. */
async function expectMatchesFreshList(informer: SharedInformer<IConfigMap>, view: HandlerView, labelSelector: string): Promise<void> {
  await waitFor(async () => {
    const fresh = await client.list(ConfigMaps, { namespace, labelSelector });
    const want = new Map(fresh.items.map((i) => [keyOf(i), i.metadata?.resourceVersion ?? ""]));
    const cached = new Map(informer.store.list().map((i) => [keyOf(i), i.metadata?.resourceVersion ?? ""]));
    return sameEntries(want, cached) && sameEntries(want, view.objects);
  }, { timeoutMs: 60_000, intervalMs: 200, description: `the informer ${informer.name} and its handler to equal a fresh LIST` });
  assert.deepEqual(view.problems, []);
}

function sameEntries(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

before(async () => {
  plane = await testControlPlane();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(plane.kubeconfigPath);
  client = createClient({ kubeConfig });
  await client.create(Namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
  await client.create(Namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: bulkNamespace } });
});

after(async () => {
  stop.abort();
  if (!client) return;
  await client.delete(Namespaces, { name: namespace }).catch(() => undefined);
  await client.delete(Namespaces, { name: bulkNamespace }).catch(() => undefined);
  client.close();
});

test("an informer delivers adds, updates with the old object, and deletes; InformerCache shares informers per scope", { timeout: 60_000 }, async () => {
  await client.create(ConfigMaps, configMap("before", { v: "1" }, { suite: "events" }));
  const cache = new InformerCache(client, { logger: silent });
  const informer = cache.sharedInformerFor(ConfigMaps, { namespace, labelSelector: "suite=events" });
  assert.equal(cache.informerFor(ConfigMaps, { namespace, labelSelector: "suite=events" }), informer, "same scope, same informer");
  assert.notEqual(cache.informerFor(ConfigMaps, { namespace, labelSelector: "suite=other" }), informer, "another selector, another informer");
  const view = new HandlerView();
  informer.addEventHandler(view);
  cache.start(stop.signal);
  await cache.waitForSync();
  assert.equal(cache.hasSynced(), true);
  assert.deepEqual(view.log, ["add before initial"]);
  assert.equal(informer.store.get(`${namespace}/before`)?.metadata?.managedFields, undefined, "managedFields stripped");

  await client.create(ConfigMaps, configMap("during", { v: "1" }, { suite: "events" }));
  await client.patch(ConfigMaps, { namespace, name: "during" }, { type: "merge", body: { data: { v: "2" } } });
  await client.delete(ConfigMaps, { namespace, name: "before" });
  await client.create(ConfigMaps, configMap("unrelated", { v: "1" }, { suite: "other" }));
  await waitFor(async () => view.log.length >= 4, { timeoutMs: 30_000, description: "three events" });
  assert.deepEqual(view.log, ["add before initial", "add during", "update during 1->2", "delete before"]);
  await expectMatchesFreshList(informer, view, "suite=events");

  // An informer requested after start starts at once; a late handler gets the current state.
  const late = cache.informerFor(ConfigMaps, { namespace, labelSelector: "suite=other" });
  await late.waitForSync();
  const lateSeen: string[] = [];
  const registration = late.addEventHandler({ onAdd: (o, initial) => lateSeen.push(`${o.metadata?.name} ${initial}`) });
  await waitFor(async () => registration.hasSynced(), { timeoutMs: 10_000, description: "the late handler to sync" });
  assert.deepEqual(lateSeen, ["unrelated true"]);
});

test("1000 objects are listed through paging (limit 500)", { timeout: 300_000 }, async () => {
  const total = 1000;
  let next = 0;
  await Promise.all(Array.from({ length: 20 }, async () => {
    while (next < total) {
      const i = next++;
      await client.create(ConfigMaps, configMap(`bulk-${String(i).padStart(4, "0")}`, { i: String(i) }, { bulk: "yes" }, bulkNamespace));
    }
  }));
  const cache = new InformerCache(client, { logger: silent });
  const informer = cache.sharedInformerFor(ConfigMaps, { namespace: bulkNamespace, labelSelector: "bulk=yes" });
  cache.start(stop.signal);
  await cache.waitForSync();
  assert.equal(informer.store.size(), total);
  assert.ok(informer.pagesOfLastList >= 2, `1000 objects should take at least 2 pages of 500, took ${informer.pagesOfLastList}`);
  const fresh = await client.list(ConfigMaps, { namespace: bulkNamespace, labelSelector: "bulk=yes" });
  assert.deepEqual(new Set(informer.store.keys()), new Set(fresh.items.map((i) => keyOf(i))));
});

/**
 * A ListerWatcher that lets the test cut the current watch, hold the next one while it changes
 * objects, and start that next watch from resourceVersion "1" so the server answers 410 Gone.
 */
class GoneInjector implements ListerWatcher<IConfigMap> {
  readonly #inner: ListerWatcher<IConfigMap>;
  #current: AbortController | undefined;
  #hold: Promise<void> | undefined;
  #rewriteNext = false;
  readonly watchResourceVersions: string[] = [];

  constructor(inner: ListerWatcher<IConfigMap>) {
    this.#inner = inner;
  }

  list: ListerWatcher<IConfigMap>["list"] = (opts) => this.#inner.list(opts);

  watch(opts: WatchOptions): AsyncIterable<WatchEvent<IConfigMap>> {
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        if (self.#hold) await self.#hold;
        const rewrite = self.#rewriteNext;
        self.#rewriteNext = false;
        self.#current = new AbortController();
        const signal = opts.signal ? AbortSignal.any([opts.signal, self.#current.signal]) : self.#current.signal;
        self.watchResourceVersions.push(rewrite ? "1" : (opts.resourceVersion ?? ""));
        yield* self.#inner.watch({ ...opts, signal, ...(rewrite ? { resourceVersion: "1" } : {}) });
      },
    };
  }

  /** Cuts the current watch; the next one waits for the returned release function, then starts from "1". */
  cutAndHold(): () => void {
    let release!: () => void;
    this.#hold = new Promise((resolve) => { release = resolve; });
    this.#rewriteNext = true;
    this.#current?.abort();
    return () => { this.#hold = undefined; release(); };
  }
}

/** True when a watch from resourceVersion "1" is answered with 410 (the watch cache no longer holds it). */
async function resourceVersionOneIsGone(): Promise<boolean> {
  try {
    for await (const event of client.watch(ConfigMaps, { namespace, resourceVersion: "1", timeoutSeconds: 2 })) {
      if (event.type === "ERROR") return event.object.code === 410;
      return false;
    }
  } catch (err) {
    return isGone(err);
  }
  return false;
}

test("a forced 410 Gone relists: deletes with finalStateUnknown, updates, adds; nothing lost or repeated", { timeout: 180_000 }, async (t) => {
  if (!(await resourceVersionOneIsGone())) {
    // A fresh API server's watch cache still holds resourceVersion 1; a restarted one starts later.
    if (!plane.local) {
      t.skip("the cluster's watch cache still serves resourceVersion 1 and the cluster is not local, so no 410 can be forced");
      return;
    }
    await plane.restart("kube-apiserver");
    assert.ok(await resourceVersionOneIsGone(), "after a kube-apiserver restart a watch from resourceVersion 1 must be 410 Gone");
  }
  for (const name of ["keep", "change", "vanish"]) await client.create(ConfigMaps, configMap(name, { v: "1" }, { suite: "gone" }));
  const injector = new GoneInjector(listerWatcherFor(client, ConfigMaps, { namespace, labelSelector: "suite=gone" }));
  const informer = new SharedInformer<IConfigMap>(injector, {
    name: "ConfigMap gone-test", logger: silent, reflector: { useWatchList: false, backoff: new Backoff({ initialMs: 100, maxMs: 1000 }) },
  });
  const view = new HandlerView();
  informer.addEventHandler(view);
  informer.run(stop.signal);
  await informer.waitForSync();
  await waitFor(async () => injector.watchResourceVersions.length === 1, { timeoutMs: 10_000, description: "the first watch" });
  assert.equal(informer.listCount, 1);

  const release = injector.cutAndHold();
  await client.patch(ConfigMaps, { namespace, name: "change" }, { type: "merge", body: { data: { v: "2" } } });
  await client.delete(ConfigMaps, { namespace, name: "vanish" });
  await client.create(ConfigMaps, configMap("new", { v: "1" }, { suite: "gone" }));
  release();

  await waitFor(async () => informer.listCount === 2, { timeoutMs: 30_000, description: "a relist after 410" });
  assert.equal(injector.watchResourceVersions[1], "1");
  await expectMatchesFreshList(informer, view, "suite=gone");
  assert.deepEqual(view.log.slice(3).sort(), ["add new", "delete vanish finalStateUnknown", "update change 1->2"]);

  // And it watches on from the relist.
  await client.patch(ConfigMaps, { namespace, name: "keep" }, { type: "merge", body: { data: { v: "3" } } });
  await waitFor(async () => view.log.includes("update keep 1->3"), { timeoutMs: 30_000, description: "an update after the relist" });
  await expectMatchesFreshList(informer, view, "suite=gone");
});

test("an informer survives a kube-apiserver restart and then equals a fresh LIST", { timeout: 240_000 }, async (t) => {
  if (!plane.local) {
    t.skip("needs a local control plane (KUBELOOP_CLUSTER_DIR) to restart kube-apiserver; this cluster came from KUBECONFIG");
    return;
  }
  for (const name of ["r-keep", "r-change", "r-vanish"]) await client.create(ConfigMaps, configMap(name, { v: "1" }, { suite: "restart" }));
  const cache = new InformerCache(client, { logger: silent, reflector: { backoff: new Backoff({ initialMs: 200, maxMs: 2000 }) } });
  const informer = cache.sharedInformerFor(ConfigMaps, { namespace, labelSelector: "suite=restart" });
  const view = new HandlerView();
  informer.addEventHandler(view);
  cache.start(stop.signal);
  await cache.waitForSync();

  await plane.restart("kube-apiserver");
  await client.patch(ConfigMaps, { namespace, name: "r-change" }, { type: "merge", body: { data: { v: "2" } } });
  await client.delete(ConfigMaps, { namespace, name: "r-vanish" });
  await client.create(ConfigMaps, configMap("r-new", { v: "1" }, { suite: "restart" }));
  await expectMatchesFreshList(informer, view, "suite=restart");
  assert.ok(view.log.includes("update r-change 1->2"), view.log.join(", "));
  assert.ok(view.log.some((l) => l.startsWith("delete r-vanish")), view.log.join(", "));
  assert.ok(view.log.includes("add r-new"), view.log.join(", "));

  await client.patch(ConfigMaps, { namespace, name: "r-keep" }, { type: "merge", body: { data: { v: "5" } } });
  await waitFor(async () => view.log.includes("update r-keep 1->5"), { timeoutMs: 60_000, description: "an update after the restart" });
  await expectMatchesFreshList(informer, view, "suite=restart");
});

test("WatchList (sendInitialEvents) fills the informer without a LIST and then follows changes", { timeout: 60_000 }, async () => {
  for (const name of ["wl-a", "wl-b"]) await client.create(ConfigMaps, configMap(name, { v: "1" }, { suite: "watchlist" }));
  let lists = 0;
  const inner = listerWatcherFor(client, ConfigMaps, { namespace, labelSelector: "suite=watchlist" });
  const counting: ListerWatcher<IConfigMap> = { list: (opts) => { lists++; return inner.list(opts); }, watch: (opts) => inner.watch(opts) };
  const informer = new SharedInformer<IConfigMap>(counting, { name: "ConfigMap watchlist-test", logger: silent, reflector: { useWatchList: true } });
  const view = new HandlerView();
  informer.addEventHandler(view);
  informer.run(stop.signal);
  await informer.waitForSync();
  assert.equal(lists, 0, "the server serves WatchList, so no LIST was needed");
  assert.deepEqual(view.log.sort(), ["add wl-a initial", "add wl-b initial"]);
  await client.patch(ConfigMaps, { namespace, name: "wl-a" }, { type: "merge", body: { data: { v: "2" } } });
  await waitFor(async () => view.log.includes("update wl-a 1->2"), { timeoutMs: 30_000, description: "an update after WatchList" });
  await expectMatchesFreshList(informer, view, "suite=watchlist");
});

test("a resourceVersion the server has not reached: its 'Too large resource version' ERROR relists with an empty resourceVersion, never re-asks for it", { timeout: 90_000 }, async () => {
  await client.create(ConfigMaps, configMap("tl", { v: "1" }, { suite: "toolarge" }));
  const real = listerWatcherFor(client, ConfigMaps, { namespace, labelSelector: "suite=toolarge" });
  const current = (await client.list(ConfigMaps, { namespace, limit: 1 })).metadata.resourceVersion;
  const future = String(Number(current) + 1_000_000);
  const streams: WatchOptions[] = [];
  // The first WatchList asks for a resourceVersion far ahead of the server (as client-go's relist
  // from lastSyncResourceVersion does when an HA peer was ahead of this API server). kube-apiserver
  // waits 3 s for its watch cache and then sends the 504 "Too large resource version" ERROR event.
  const lw: ListerWatcher<IConfigMap> = {
    list: (opts: ListOptions) => real.list(opts),
    watch: (opts: WatchOptions) => {
      const sent = streams.length === 0 && opts.sendInitialEvents ? { ...opts, resourceVersion: future } : opts;
      streams.push(sent);
      return real.watch(sent);
    },
  };
  const errors: unknown[] = [];
  const informer = new SharedInformer<IConfigMap>(lw, {
    name: "ConfigMap too-large", logger: silent,
    reflector: { useWatchList: true, backoff: new Backoff({ initialMs: 100, maxMs: 1000 }), onError: (e) => errors.push(e) },
  });
  informer.run(stop.signal);
  await informer.waitForSync();
  assert.ok(isTooLargeResourceVersionError(errors[0]), `kube-apiserver answered a WatchList from ${future} with: ${String(errors[0])}`);
  assert.equal(streams[1]!.sendInitialEvents, true, "relisted through WatchList again");
  assert.equal(streams[1]!.resourceVersion, "", "with an empty resourceVersion: a consistent read");
  assert.deepEqual(informer.store.list().map((o) => o.metadata?.name), ["tl"]);
  await client.patch(ConfigMaps, { namespace, name: "tl" }, { type: "merge", body: { data: { v: "2" } } });
  await waitFor(async () => informer.store.get(`${namespace}/tl`)?.data?.["v"] === "2", { timeoutMs: 30_000, description: "events flow after the relist" });
  assert.deepEqual(streams.filter((o) => o.resourceVersion === future).length, 1, "the unreachable resourceVersion was asked for exactly once");
  assert.equal(errors.length, 1);
});

test("a plain watch from a resourceVersion the server has not reached (silent on kube-apiserver 1.36) relists after two silent watches", { timeout: 90_000 }, async () => {
  await client.create(ConfigMaps, configMap("silent", { v: "1" }, { suite: "future-watch" }));
  const real = listerWatcherFor(client, ConfigMaps, { namespace, labelSelector: "suite=future-watch" });
  const lists: ListOptions[] = [];
  const watchedAt: string[] = [];
  let future = "";
  const lw: ListerWatcher<IConfigMap> = {
    list: async (opts: ListOptions) => {
      lists.push(opts);
      const l = await real.list(opts);
      if (lists.length > 1) return l;
      future = String(Number(l.metadata.resourceVersion) + 1_000_000);
      return { ...l, metadata: { ...l.metadata, resourceVersion: future } };
    },
    watch: (opts: WatchOptions) => {
      watchedAt.push(opts.resourceVersion ?? "");
      return real.watch(opts);
    },
  };
  const informer = new SharedInformer<IConfigMap>(lw, {
    name: "ConfigMap future-watch", logger: silent,
    // A short stall timeout stands in for the 2.5 min default (the server sends no bookmark to such a watch at all).
    reflector: { useWatchList: false, stallTimeoutMs: 4000, backoff: new Backoff({ initialMs: 100, maxMs: 1000 }) },
  });
  informer.run(stop.signal);
  await informer.waitForSync();
  await waitFor(async () => informer.listCount === 2, { timeoutMs: 30_000, description: "a relist after two silent watches" });
  assert.deepEqual(watchedAt.slice(0, 2), [future, future], "the server sent nothing to either watch from the future");
  assert.equal(lists[1]!.resourceVersion, undefined, "the relist is a consistent read");
  await client.patch(ConfigMaps, { namespace, name: "silent" }, { type: "merge", body: { data: { v: "2" } } });
  await waitFor(async () => informer.store.get(`${namespace}/silent`)?.data?.["v"] === "2", { timeoutMs: 30_000, description: "events flow after the relist" });
  assert.equal(watchedAt.filter((rv) => rv === future).length, 2, "the unreachable resourceVersion is not asked for again");
});
