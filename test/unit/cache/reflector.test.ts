// Reflector error handling against the in-memory FakeApi: a store that cannot apply an event
// (index function throws) never advances the resourceVersion and relists; watch ERROR events
// other than 410 relist (429 re-watches); "Too large resource version" relists with a
// consistent read; stall detection bounded by bookmarks, on an injected clock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { Backoff, CacheApplyError, SharedInformer, isTooLargeResourceVersionError, type ListerWatcher } from "../../../framework/cache/index.ts";
import { ApiError, type Status, type WatchEvent } from "../../../framework/client/index.ts";
import { FakeApi, until, type TestObject } from "./fake-api.ts";
import { FakeClock } from "../queue/fake-clock.ts";

const silent = pino({ level: "silent" });
const fastBackoff = () => new Backoff({ initialMs: 1, maxMs: 5, jitter: 0 });

const tooLarge: Status = {
  kind: "Status", apiVersion: "v1", status: "Failure", code: 504, reason: "Timeout",
  message: "Too large resource version: 999, current: 3",
  details: { causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }], retryAfterSeconds: 1 } as Status["details"],
};

test("an event the store cannot apply (index function throws) changes nothing, does not advance the resourceVersion, is reported, and relists", async (t) => {
  const api = new FakeApi();
  api.create("a", 1);
  api.create("b", 1);
  const errors: unknown[] = [];
  const informer = new SharedInformer<TestObject>(api, {
    name: "Thing.v1", logger: silent, reflector: { useWatchList: false, backoff: fastBackoff(), onError: (e) => errors.push(e) },
  });
  let broken = false;
  informer.addIndex("byValue", (o) => {
    if (broken && o.spec?.value === 2) throw new Error("index bug");
    return [String(o.spec?.value)];
  });
  const seen: string[] = [];
  informer.addEventHandler({ onUpdate: (old, obj) => seen.push(`update ${obj.metadata?.name} v${old.spec?.value}->v${obj.spec?.value}`) });
  const stop = new AbortController();
  t.after(() => stop.abort());
  informer.run(stop.signal);
  await informer.waitForSync();
  await until(() => api.openWatches === 1, "the watch");
  const rvBefore = informer.lastSyncResourceVersion;
  broken = true;
  const updated = api.update("a", 2);
  await until(() => errors.length >= 1, "the failure reported");
  assert.ok(errors[0] instanceof CacheApplyError, "reported as CacheApplyError");
  assert.equal(informer.store.get("ns/a")?.spec?.value, 1, "the item is unchanged");
  assert.deepEqual(informer.store.byIndex("byValue", "2"), []);
  assert.deepEqual(informer.store.byIndex("byValue", "1").map((o) => o.metadata?.name).sort(), ["a", "b"]);
  assert.equal(informer.lastSyncResourceVersion, rvBefore, "the resourceVersion did not move past the failed event");
  assert.notEqual(rvBefore, updated.metadata?.resourceVersion);
  await until(() => api.listCalls.length >= 3, "relists (which fail too while the index is broken)");
  assert.equal(informer.store.get("ns/a")?.spec?.value, 1, "a failed relist changes nothing either");
  assert.deepEqual(seen, [], "no handler saw an update the store does not hold");
  broken = false;
  await until(() => informer.store.get("ns/a")?.spec?.value === 2, "the next relist applies");
  assert.deepEqual(seen, ["update a v1->v2"]);
  assert.equal(informer.lastSyncResourceVersion, updated.metadata?.resourceVersion);
  assert.ok(informer.applyErrorCount >= 3);
});

test("a watch ERROR that is not 410 relists after backoff (500, 504 too-large); a 429 re-watches from the same resourceVersion", async (t) => {
  for (const [status, relists] of [
    [{ kind: "Status", code: 500, reason: "InternalError", message: "etcd hiccup" }, true],
    [tooLarge, true],
    [{ kind: "Status", code: 429, reason: "TooManyRequests", message: "slow down" }, false],
  ] as Array<[Status, boolean]>) {
    const api = new FakeApi();
    api.create("a", 1);
    api.errorNextWatch = status;
    const informer = new SharedInformer<TestObject>(api, { name: "Thing.v1", logger: silent, reflector: { useWatchList: false, backoff: fastBackoff() } });
    const stop = new AbortController();
    t.after(() => stop.abort());
    informer.run(stop.signal);
    await informer.waitForSync();
    await until(() => api.watchCalls.length === 2 && api.openWatches === 1, `the second watch after ${status.code}`);
    assert.equal(api.listCalls.length, relists ? 2 : 1, `${status.code}: relist ${relists}`);
    assert.equal(api.watchCalls[1]!.resourceVersion, api.watchCalls[0]!.resourceVersion);
    api.update("a", 2);
    await until(() => informer.store.get("ns/a")?.spec?.value === 2, "events flow again");
    stop.abort();
  }
});

test("'Too large resource version' from the server relists with a consistent read instead of re-watching that resourceVersion forever", async (t) => {
  const api = new FakeApi();
  api.create("a", 1);
  const watchedAt: string[] = [];
  let lists = 0;
  // A server whose first LIST answered a resourceVersion it has not reached (an HA API server
  // ahead of this one's watch cache): a WATCH from it gets the 504 ERROR event, as kube-apiserver sends.
  const lw: ListerWatcher<TestObject> = {
    list: async (opts) => {
      const l = await api.list(opts);
      return lists++ === 0 ? { ...l, metadata: { ...l.metadata, resourceVersion: "999" } } : l;
    },
    watch: (opts) => {
      watchedAt.push(opts.resourceVersion ?? "");
      if (Number(opts.resourceVersion) > api.rv) {
        return (async function* (): AsyncGenerator<WatchEvent<TestObject>> { yield { type: "ERROR", object: tooLarge }; })();
      }
      return api.watch(opts);
    },
  };
  const informer = new SharedInformer<TestObject>(lw, { name: "Thing.v1", logger: silent, reflector: { useWatchList: false, backoff: fastBackoff() } });
  const stop = new AbortController();
  t.after(() => stop.abort());
  informer.run(stop.signal);
  await informer.waitForSync();
  await until(() => api.openWatches === 1, "a watch from a resourceVersion the server has");
  assert.deepEqual(watchedAt, ["999", String(api.rv)], "the too-large resourceVersion was watched once");
  assert.equal(lists, 2);
  assert.equal(api.listCalls[1]!.resourceVersion, undefined, "the relist is a consistent read (no resourceVersion)");
  api.update("a", 2);
  await until(() => informer.store.get("ns/a")?.spec?.value === 2, "events flow again");
});

test("isTooLargeResourceVersionError: the cause, the old message forms, and nothing else", () => {
  const err = (s: Status) => new ApiError(s.code ?? 500, s, { verb: "watch" });
  assert.ok(isTooLargeResourceVersionError(err(tooLarge)));
  assert.ok(isTooLargeResourceVersionError(err({ code: 504, reason: "Timeout", message: "x", details: { causes: [{ message: "Too large resource version" }] } })));
  assert.ok(isTooLargeResourceVersionError(err({ code: 504, reason: "Timeout", message: "Too large resource version: 9, current: 3" })));
  assert.ok(!isTooLargeResourceVersionError(err({ code: 504, reason: "Timeout", message: "request timed out" })));
  assert.ok(!isTooLargeResourceVersionError(err({ code: 410, reason: "Expired", message: "too old resource version" })));
  assert.ok(!isTooLargeResourceVersionError(new Error("Too large resource version")));
});

test("stall detection: bookmarks about every minute keep a quiet watch alive; 2.5 min with neither event nor bookmark restarts it; twice in a row relists", async (t) => {
  const clock = new FakeClock();
  const api = new FakeApi();
  api.create("a", 1);
  const informer = new SharedInformer<TestObject>(api, {
    name: "Thing.v1", logger: silent,
    reflector: { useWatchList: false, clock, minWatchTimeoutSeconds: 300, backoff: new Backoff({ initialMs: 1, jitter: 0, now: () => clock.now() }) },
  });
  const stop = new AbortController();
  t.after(() => stop.abort());
  informer.run(stop.signal);
  await informer.waitForSync();
  await until(() => api.openWatches === 1, "the watch");
  for (let minute = 1; minute <= 12; minute++) {
    clock.advance(60_000);
    api.rv++; // the server moved on; its bookmark says so
    api.bookmark();
    await until(() => informer.lastSyncResourceVersion === String(api.rv), `bookmark ${minute} seen`);
  }
  assert.equal(api.watchCalls.length, 1, "12 min of bookmarks only: never deemed stalled (the watch's own timeout is the server's business)");
  clock.advance(149_000);
  await new Promise((r) => setImmediate(r));
  assert.equal(api.watchCalls.length, 1, "149 s of silence: still trusted");
  clock.advance(1_000);
  await until(() => { clock.advance(1); return api.watchCalls.length === 2; }, "the stalled watch restarted");
  assert.equal(api.listCalls.length, 1, "a stall re-watches, it does not relist");
  assert.equal(api.watchCalls[1]!.resourceVersion, String(api.rv), "from the last bookmark's resourceVersion");
  await until(() => api.openWatches === 1, "the restarted watch");
  clock.advance(150_000);
  await until(() => { clock.advance(1); return api.listCalls.length === 2; }, "a second silent watch in a row relists");
  assert.equal(api.listCalls[1]!.resourceVersion, undefined, "with a consistent read");
});
