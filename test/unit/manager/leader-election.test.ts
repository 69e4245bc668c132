/**
 * Leader election against an in-memory API with a fake monotonic clock: no test here waits on
 * real time.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { rootLogger } from "../../../framework/log/index.ts";
import { Leases, type Lease } from "../../../framework/meta/index.ts";
import { LeaderElector, type LeaderElectionOptions, type LeadingOutcome } from "../../../framework/manager/index.ts";
import { FakeClient } from "../../../framework/testing/index.ts";
import { elapse, FakeClock } from "./fake-time.ts";

const log = rootLogger.child({}, { level: "silent" });
/** The defaults: 15 s lease, 10 s renew deadline, 2 s retry period. */
const lease = { id: "ctrl", namespace: "kube-system" } satisfies LeaderElectionOptions;
const key = { namespace: "kube-system", name: "ctrl" };

function candidate(api: FakeClient, clock: FakeClock, identity: string, extra: { metrics?: Registry; wallClock?: () => number } = {}) {
  const elector = new LeaderElector(api, { ...lease, identity }, { log, clock, random: () => 0, ...extra });
  const stop = new AbortController();
  const state = { ledAtMs: undefined as number | undefined, outcome: undefined as LeadingOutcome | undefined };
  const run = elector.run(stop.signal, () => (state.ledAtMs = clock.now())).then((o) => (state.outcome = o));
  return { elector, stop, state, run };
}

async function getLease(api: FakeClient): Promise<Lease> {
  return await api.get(Leases, key) as Lease;
}

test("one candidate leads and renews every retry period; the other takes over at once when it stops and releases", async () => {
  const api = new FakeClient();
  const clock = new FakeClock(0);
  const metrics = new Registry();
  const a = candidate(api, clock, "a", { metrics });
  assert.equal(await elapse(clock, 100, { until: () => a.state.ledAtMs !== undefined }), true, "a leads at once");
  const b = candidate(api, clock, "b");
  await elapse(clock, 30_000);
  assert.equal(b.state.ledAtMs, undefined, "b waits while a renews, for twice the lease duration");
  assert.equal(a.elector.isLeader(), true);
  assert.equal(b.elector.leader(), "a");
  assert.match(await metrics.metrics(), /leader_election_master_status\{name="ctrl"\} 1/);
  const held = await getLease(api);
  assert.equal(held.spec?.holderIdentity, "a");
  assert.equal(held.spec?.leaseTransitions, 0);
  assert.match(String(held.spec?.renewTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  a.stop.abort();
  await a.run;
  assert.equal(a.state.outcome, "stopped");
  assert.equal(a.elector.isLeader(), false);
  assert.match(await metrics.metrics(), /leader_election_master_status\{name="ctrl"\} 0/);
  const released = await getLease(api);
  assert.equal(released.spec?.holderIdentity, "", "released on stop, so a standby need not wait for expiry");
  const releasedAtMs = clock.now();
  assert.equal(await elapse(clock, 10_000, { until: () => b.state.ledAtMs !== undefined }), true, "b takes over");
  assert.ok(b.state.ledAtMs! - releasedAtMs <= 2_000, `b took over within one retry period (${b.state.ledAtMs! - releasedAtMs} ms)`);
  const after = await getLease(api);
  assert.equal(after.spec?.holderIdentity, "b");
  assert.equal(after.spec?.leaseTransitions, 1);
  b.stop.abort();
  await b.run;
});

test("the leader renews optimistically (one update, no read) and counts the slow path when it must read", async () => {
  const api = new FakeClient();
  const clock = new FakeClock(0);
  const metrics = new Registry();
  const a = candidate(api, clock, "a", { metrics });
  await elapse(clock, 100, { until: () => a.state.ledAtMs !== undefined });
  let gets = 0;
  let updates = 0;
  const get = api.get.bind(api);
  const update = api.update.bind(api);
  api.get = (async (...args: Parameters<FakeClient["get"]>) => (gets++, get(...args))) as FakeClient["get"];
  api.update = (async (...args: Parameters<FakeClient["update"]>) => (updates++, update(...args))) as FakeClient["update"];
  await elapse(clock, 10_000);
  assert.equal(gets, 0, "no read while the optimistic update succeeds");
  assert.ok(updates >= 4 && updates <= 5, `one update per retry period (${updates} in 10 s)`);
  // Someone else touches the Lease (its resourceVersion moves): the next renew conflicts, reads, and renews.
  const l = await get(Leases, key);
  await update(Leases, { ...l, metadata: { ...l.metadata, labels: { touched: "yes" } } });
  await elapse(clock, 2_100);
  assert.equal(gets, 1);
  assert.equal(a.elector.isLeader(), true);
  assert.match(await metrics.metrics(), /leader_election_slowpath_total\{name="ctrl"\} 1/);
  a.stop.abort();
  await a.run;
});

test("a leader that cannot renew loses leadership exactly at the renew deadline after its last successful renewal", async () => {
  const api = new FakeClient();
  const clock = new FakeClock(0);
  const a = candidate(api, clock, "a");
  await elapse(clock, 100, { until: () => a.state.ledAtMs !== undefined });
  await elapse(clock, 2_400); // renewed at 2000
  a.elector.checkRenewal(0);
  api.prependReactor({}, () => new Error("connection refused"));
  const downAtMs = clock.now();
  await elapse(clock, 12_000 - downAtMs - 1, { stepMs: 1 });
  assert.equal(a.state.outcome, undefined, "still leading 1 ms before the deadline (last renewal started at 2000 + 10 s)");
  assert.equal(a.elector.isLeader(), true);
  await elapse(clock, 2, { stepMs: 1 });
  assert.equal(a.state.outcome, "lost");
  assert.equal(a.elector.isLeader(), false);
  a.elector.checkRenewal(0); // no longer leading: nothing to check
});

test("a leader whose Lease is taken by another holder steps down at its next renewal, not at the renew deadline", async () => {
  const api = new FakeClient();
  const clock = new FakeClock(0);
  const a = candidate(api, clock, "a");
  await elapse(clock, 100, { until: () => a.state.ledAtMs !== undefined });
  await elapse(clock, 2_400); // renewed at 2000; next attempt at 4000
  const l = await getLease(api);
  await api.update(Leases, { ...l, spec: { ...l.spec, holderIdentity: "thief", leaseDurationSeconds: 3600, leaseTransitions: 1 } });
  await elapse(clock, 4_000 - clock.now() - 1, { stepMs: 1 });
  assert.equal(a.elector.isLeader(), true, "not known before the next renewal");
  await elapse(clock, 2, { stepMs: 1 });
  assert.equal(a.state.outcome, "lost", "lost at 4000, 8 s before the renew deadline");
  assert.equal(a.elector.leader(), "thief");
  const after = await getLease(api);
  assert.equal(after.spec?.holderIdentity, "thief", "the old leader neither overwrote nor released the new holder's Lease");
});

test("a Lease held by a dead leader is taken after leaseDuration of no change on the monotonic clock, whatever its timestamps and the wall clock say", async () => {
  const api = new FakeClient();
  const clock = new FakeClock(0);
  // Timestamps far in the past: a wall-clock comparison would take the Lease at once.
  const old = "2001-01-01T00:00:00.000000Z";
  await api.create(Leases, { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "ctrl", namespace: "kube-system" }, spec: { holderIdentity: "dead", leaseDurationSeconds: 15, renewTime: old, acquireTime: old, leaseTransitions: 3 } });
  let wallMs = Date.UTC(2030, 0, 1);
  const b = candidate(api, clock, "b", { wallClock: () => wallMs });
  await elapse(clock, 8_000);
  wallMs -= 3_600_000; // the system clock is set back an hour: nothing changes
  // The dead leader's Lease changes once (e.g. a renewal that landed late): the wait starts again.
  const l = await getLease(api);
  await api.update(Leases, { ...l, spec: { ...l.spec, renewTime: "2001-01-01T00:00:01.000000Z" } });
  const changedAtMs = clock.now();
  assert.equal(await elapse(clock, 30_000, { until: () => b.state.ledAtMs !== undefined }), true, "b takes over");
  const waitedMs = b.state.ledAtMs! - changedAtMs;
  // Observed at the next retry (<= 2 s later), then 15 s must pass, then the next retry (<= 2 s).
  assert.ok(waitedMs >= 15_000 && waitedMs <= 15_000 + 2 * 2_000, `took over ${waitedMs} ms after the last change`);
  const taken = await getLease(api);
  assert.equal(taken.spec?.holderIdentity, "b");
  assert.equal(taken.spec?.leaseTransitions, 4);
  assert.equal(taken.spec?.acquireTime, new Date(wallMs).toISOString().replace("Z", "000Z"), "MicroTime stamps come from the wall clock");
  b.stop.abort();
  await b.run;
});

test("inconsistent durations are rejected", () => {
  const api = new FakeClient();
  assert.throws(() => new LeaderElector(api, { id: "x", namespace: "y", leaseDurationSeconds: 10, renewDeadlineSeconds: 10 }, { log }), /greater than renewDeadlineSeconds/);
  assert.throws(() => new LeaderElector(api, { id: "x", namespace: "y", renewDeadlineSeconds: 2, retryPeriodSeconds: 2 }, { log }), /1\.2 x retryPeriodSeconds/);
});

test("the health check fails when a leader's renew loop is stuck", async () => {
  const api = new FakeClient();
  const clock = new FakeClock(0);
  const a = candidate(api, clock, "a");
  await elapse(clock, 100, { until: () => a.state.ledAtMs !== undefined });
  a.elector.checkRenewal(0);
  // A request that never answers and ignores its abort signal: the renew loop hangs while leading.
  let hangs = 0;
  api.update = () => {
    hangs++;
    return new Promise(() => {});
  };
  await elapse(clock, 2_100);
  assert.equal(hangs, 1, "renew attempt hangs");
  await elapse(clock, 15_000);
  assert.equal(a.elector.isLeader(), true);
  assert.doesNotThrow(() => a.elector.checkRenewal(20_000), "within the tolerance");
  assert.throws(() => a.elector.checkRenewal(0), /has not renewed the lease for 1[5-7]s/);
  a.stop.abort();
});

test("a Lease without a holder (as the Helm chart creates it) is taken at once", async () => {
  const api = new FakeClient();
  const clock = new FakeClock(0);
  await api.create(Leases, { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { ...key, labels: { "app.kubernetes.io/managed-by": "Helm" } }, spec: {} });
  const a = candidate(api, clock, "a");
  assert.equal(await elapse(clock, 100, { until: () => a.state.ledAtMs !== undefined }), true, "a leads at once, without waiting a lease duration");
  const held = await getLease(api);
  assert.equal(held.spec?.holderIdentity, "a");
  assert.equal(held.metadata?.labels?.["app.kubernetes.io/managed-by"], "Helm", "the chart's labels stay");
  a.stop.abort();
  await a.run;
});
