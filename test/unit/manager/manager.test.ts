import { test } from "node:test";
import assert from "node:assert/strict";
import { rootLogger } from "../../../framework/log/index.ts";
import { ConfigMaps, Leases, Pods, Services, type KubeObject, type ResourceType } from "../../../framework/meta/index.ts";
import { permission } from "../../../framework/rbac/index.ts";
import { controllerFor } from "../../../framework/controller/index.ts";
import { LeaderElectionLostError, Manager } from "../../../framework/manager/index.ts";
import { FakeClient } from "../../../framework/testing/index.ts";
import { until } from "../support/until.ts";
import { elapse, FakeClock } from "./fake-time.ts";

const log = rootLogger.child({}, { level: "silent" });

function newManager(api: FakeClient, extra: Partial<ConstructorParameters<typeof Manager>[0]> = {}) {
  return new Manager({ client: api, log, metricsBindAddress: "127.0.0.1:0", healthProbeBindAddress: "127.0.0.1:0", ...extra });
}

test("a manager runs a controller that reacts to changes, serves metrics and probes, and stops gracefully", async () => {
  const api = new FakeClient();
  const mgr = newManager(api);
  const seen: string[] = [];
  let release: () => void = () => {};
  let finishedInFlight = false;
  controllerFor(mgr, ConfigMaps).named("configmaps").complete(async (req, ctx) => {
    const cm = ctx.getCached();
    seen.push(`${req.name}=${cm?.data?.v ?? "<deleted>"}`);
    if (cm?.data?.v === "slow") {
      await new Promise<void>((r) => (release = r));
      finishedInFlight = true;
    }
  });
  let readyChecked = 0;
  mgr.addReadyCheck("custom", () => {
    readyChecked++;
  });
  const stop = new AbortController();
  const running = mgr.start(stop.signal);
  await until(() => mgr.healthProbeAddress() !== undefined, "probe server");
  const probe = `http://${mgr.healthProbeAddress()}`;
  await until(async () => (await fetch(`${probe}/readyz`)).status === 200, "ready after sync");
  assert.ok(readyChecked > 0);
  assert.equal(await (await fetch(`${probe}/healthz`)).text(), "ok");
  const verbose = await (await fetch(`${probe}/readyz?verbose`)).text();
  assert.match(verbose, /\[\+\]informer-sync ok/);
  assert.match(verbose, /\[\+\]custom ok/);
  assert.equal((await fetch(`${probe}/readyz/informer-sync`)).status, 200);
  assert.equal((await fetch(`${probe}/readyz/nope`)).status, 404);

  await api.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a", namespace: "ns" }, data: { v: "1" } });
  await until(() => seen.includes("a=1"), "reconcile of a new object");
  const a = await api.get(ConfigMaps, { namespace: "ns", name: "a" });
  await api.update(ConfigMaps, { ...a, data: { v: "2" } });
  await until(() => seen.includes("a=2"), "reconcile of a change");
  await api.delete(ConfigMaps, { namespace: "ns", name: "a" });
  await until(() => seen.includes("a=<deleted>"), "reconcile of a delete");

  const metrics = await (await fetch(`http://${mgr.metricsAddress()}/metrics`)).text();
  assert.match(metrics, /controller_runtime_reconcile_total\{controller="configmaps",result="success"\} 3/);
  assert.match(metrics, /controller_runtime_active_workers\{controller="configmaps"\} 0/);
  assert.match(metrics, /workqueue_adds_total\{name="configmaps",controller="configmaps"\} 3/);
  assert.match(metrics, /workqueue_depth\{name="configmaps",controller="configmaps",priority="0"\} 0/);
  assert.match(metrics, /process_cpu_seconds_total/);

  // SIGTERM-like stop with a reconcile in flight: it finishes before start() resolves.
  await api.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "b", namespace: "ns" }, data: { v: "slow" } });
  await until(() => seen.includes("b=slow"), "slow reconcile started");
  stop.abort();
  let resolved = false;
  const done = running.then(() => (resolved = true));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(resolved, false, "waits for the in-flight reconcile");
  release();
  await done;
  assert.equal(finishedInFlight, true);
  await assert.rejects(fetch(`${probe}/healthz`), "servers closed");
});

test("a failing ready check makes /readyz 500 naming it", async () => {
  const api = new FakeClient();
  const mgr = newManager(api, { metricsBindAddress: "0" });
  mgr.addReadyCheck("db", () => {
    throw new Error("no connection to the database");
  });
  assert.throws(() => mgr.addReadyCheck("db", () => {}), /already registered/);
  const stop = new AbortController();
  const running = mgr.start(stop.signal);
  await until(() => mgr.healthProbeAddress() !== undefined, "probe server");
  assert.equal(mgr.metricsAddress(), undefined, "metrics off");
  const res = await fetch(`http://${mgr.healthProbeAddress()}/readyz`);
  assert.equal(res.status, 500);
  assert.match(await res.text(), /\[-\]db failed: no connection to the database/);
  assert.equal((await fetch(`http://${mgr.healthProbeAddress()}/readyz?exclude=db`)).status, 200);
  stop.abort();
  await running;
});

test("with leader election only the leader runs controllers; a standby takes over when it stops", async () => {
  const api = new FakeClient();
  const clock = new FakeClock(0);
  const le = { id: "cm-controller", namespace: "kube-system" }; // 15 s / 10 s / 2 s
  const reconciledBy: string[] = [];
  const managers = ["one", "two"].map((name) => {
    const mgr = newManager(api, { name, clock, leaderElection: { ...le, identity: name }, metricsBindAddress: "0", healthProbeBindAddress: "0" });
    controllerFor(mgr, ConfigMaps).complete(async (req) => {
      reconciledBy.push(`${name}:${req.name}`);
    });
    return { mgr, stop: new AbortController() };
  });
  const [one, two] = managers as [typeof managers[0], typeof managers[0]];
  const runOne = one.mgr.start(one.stop.signal);
  await one.mgr.elected();
  assert.equal(one.mgr.isLeader(), true);
  const runTwo = two.mgr.start(two.stop.signal);
  await api.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "ns" } });
  await until(() => reconciledBy.includes("one:x"), "leader reconciles");
  await elapse(clock, 30_000, { stepMs: 100 });
  assert.equal(two.mgr.isLeader(), false, "the standby waits through twice the lease duration while the leader renews");
  assert.deepEqual(reconciledBy.filter((r) => r.startsWith("two:")), [], "the standby does not reconcile");
  one.stop.abort();
  await runOne;
  assert.equal(await elapse(clock, 5_000, { until: () => two.mgr.isLeader() }), true, "two takes over within a jittered retry period");
  await until(() => reconciledBy.includes("two:x"), "new leader reconciles the existing object");
  two.stop.abort();
  await runTwo;
});

test("losing the lease stops the manager with LeaderElectionLostError at the renew deadline", async () => {
  const api = new FakeClient();
  const clock = new FakeClock(0);
  const mgr = newManager(api, { clock, leaderElection: { id: "l", namespace: "ns" }, metricsBindAddress: "0", healthProbeBindAddress: "0" });
  let rejected = undefined as unknown;
  const running = mgr.start(new AbortController().signal).catch((err: unknown) => (rejected = err));
  await mgr.elected();
  const ledAtMs = clock.now();
  api.prependReactor({}, () => new Error("API server unreachable"));
  await elapse(clock, 9_900, { stepMs: 100 });
  assert.equal(mgr.isLeader(), true, "still leading before the renew deadline");
  await elapse(clock, 200, { stepMs: 100, until: () => rejected !== undefined });
  await running;
  assert.ok(rejected instanceof LeaderElectionLostError, String(rejected));
  assert.ok(clock.now() - ledAtMs <= 10_100, "lost at the renew deadline");
  assert.equal(mgr.isLeader(), false);
});

test("when another holder takes the lease, every in-flight reconcile's signal aborts at once and the manager's client sends nothing more", async () => {
  const api = new FakeClient();
  const clock = new FakeClock(0);
  const mgr = newManager(api, {
    clock, leaderElection: { id: "l", namespace: "ns", identity: "old" }, metricsBindAddress: "0", healthProbeBindAddress: "0",
  });
  const writes: string[] = [];
  const create = api.create.bind(api);
  api.create = (async <T extends KubeObject>(type: ResourceType<T>, obj: T) => {
    writes.push(`${type.kind}/${obj.metadata?.name}`);
    return create(type, obj);
  }) as FakeClient["create"];
  const aborted: Array<{ name: string; atMs: number; reason: unknown }> = [];
  const started: string[] = [];
  const afterLoss: Array<Promise<unknown>> = [];
  controllerFor(mgr, ConfigMaps, { informer: { namespace: "work" } }).withOptions({ maxConcurrentReconciles: 3 }).complete(async (req, ctx) => {
    started.push(req.name);
    // Each reconcile waits on something slow, as a request queued behind a rate limit would.
    await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
    aborted.push({ name: req.name, atMs: clock.now(), reason: ctx.signal.reason });
    // Code that ignores the signal and writes anyway is refused by the fenced client.
    afterLoss.push(mgr.client.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `late-${req.name}`, namespace: "work" } }).catch((err: unknown) => err));
  });
  let rejected = undefined as unknown;
  const running = mgr.start(new AbortController().signal).catch((err: unknown) => (rejected = err));
  await mgr.elected();
  for (const name of ["a", "b", "c"]) await api.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "work" } });
  await until(() => started.length === 3, "three reconciles in flight");
  await elapse(clock, 2_500, { stepMs: 100 }); // renewed at 2000; next renewal at 4000
  assert.equal(mgr.isLeader(), true);

  const lease = await api.get(Leases, { namespace: "ns", name: "l" });
  await api.update(Leases, { ...lease, spec: { ...lease.spec, holderIdentity: "thief", leaseTransitions: 1 } });
  const writesBefore = writes.length;
  await elapse(clock, 2_000, { stepMs: 10, until: () => rejected !== undefined });
  const lostAtMs = clock.now();
  await running;
  assert.ok(rejected instanceof LeaderElectionLostError, String(rejected));
  assert.ok(lostAtMs <= 4_010, `lost at the first renewal after the steal (${lostAtMs} ms), not at the renew deadline`);
  assert.deepEqual(aborted.map((a) => a.name).sort(), ["a", "b", "c"], "every in-flight reconcile was aborted");
  for (const a of aborted) {
    assert.ok(a.atMs <= lostAtMs, "aborted when the loss was seen, without waiting for a graceful shutdown");
    assert.ok(a.reason instanceof LeaderElectionLostError);
  }
  const late = await Promise.all(afterLoss);
  for (const err of late) assert.ok(err instanceof LeaderElectionLostError, `refused: ${String(err)}`);
  // A new change after the loss starts no reconcile.
  await create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "d", namespace: "work" } });
  await elapse(clock, 1_000, { stepMs: 100 });
  assert.equal(started.includes("d"), false, "no new reconcile");
  assert.deepEqual(writes.slice(writesBefore), [], "no write reached the API after the loss");
  const after = await api.get(Leases, { namespace: "ns", name: "l" });
  assert.equal(after.spec?.holderIdentity, "thief", "the lost lease is neither renewed nor released");
});

test("a runnable that fails stops the manager with its error", async () => {
  const api = new FakeClient();
  const mgr = newManager(api, { metricsBindAddress: "0", healthProbeBindAddress: "0" });
  let otherStopped = false;
  mgr.add({ needLeaderElection: false, start: async (signal) => {
    await new Promise<void>((r) => signal.addEventListener("abort", () => r()));
    otherStopped = true;
  } });
  mgr.add({ start: async () => {
    throw new Error("webhook certificate missing");
  } });
  await assert.rejects(mgr.start(new AbortController().signal), /webhook certificate missing/);
  assert.equal(otherStopped, true, "the other runnables were stopped");
});

test("a bind address in use fails start with the address in the message", async () => {
  const api = new FakeClient();
  const first = newManager(api, { healthProbeBindAddress: "0" });
  const stop = new AbortController();
  const running = first.start(stop.signal);
  await until(() => first.metricsAddress() !== undefined, "first listening");
  const second = newManager(api, { metricsBindAddress: first.metricsAddress()!, healthProbeBindAddress: "0" });
  await assert.rejects(second.start(new AbortController().signal), /metrics server could not listen on 127\.0\.0\.1:\d+/);
  stop.abort();
  await running;
});

test("Manager.policyRulesOf: the rules a setup declares (informed types list/watch, permit, Events), without connecting", () => {
  const rules = Manager.policyRulesOf((mgr) => {
    controllerFor(mgr, Pods).needs(Pods, ["patch"], "status").complete(async () => {});
    mgr.cache.informerFor(Services);
    mgr.permit(permission(Pods, ["delete"]));
    mgr.eventRecorder("test");
  });
  assert.deepEqual(rules, [
    { apiGroups: [""], resources: ["pods"], verbs: ["list", "watch", "delete"] },
    { apiGroups: [""], resources: ["pods/status"], verbs: ["patch"] },
    { apiGroups: [""], resources: ["services"], verbs: ["list", "watch"] },
    { apiGroups: ["events.k8s.io"], resources: ["events"], verbs: ["create", "patch"] },
  ]);
  assert.throws(() => Manager.policyRulesOf((mgr) => { void mgr.client.get(Pods, { namespace: "a", name: "b" }); }),
    /setup called client\.get, but this manager never connects/);
});
