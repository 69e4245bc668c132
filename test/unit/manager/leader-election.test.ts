import { test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { rootLogger } from "../../../framework/log/index.ts";
import { Leases, type Lease } from "../../../framework/meta/index.ts";
import { LeaderElector } from "../../../framework/manager/index.ts";
import { FakeClient } from "../../../framework/testing/index.ts";
import { until } from "../support/until.ts";

const log = rootLogger.child({}, { level: "silent" });
const fast = { id: "ctrl", namespace: "kube-system", leaseDurationSeconds: 1, renewDeadlineSeconds: 0.6, retryPeriodSeconds: 0.1 };

test("one candidate leads; the other takes over at once when the first stops and releases", async () => {
  const api = new FakeClient();
  const metrics = new Registry();
  const a = new LeaderElector(api, { ...fast, identity: "a" }, { log, metrics });
  const b = new LeaderElector(api, { ...fast, identity: "b" }, { log });
  const stopA = new AbortController();
  const stopB = new AbortController();
  let aLed = false;
  let bLed = false;
  const runA = a.run(stopA.signal, () => (aLed = true));
  await until(() => aLed, "a leads");
  const runB = b.run(stopB.signal, () => (bLed = true));
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(bLed, false, "b waits while a renews");
  assert.match(await metrics.metrics(), /leader_election_master_status\{name="ctrl"\} 1/);
  const lease = await api.get(Leases, { namespace: "kube-system", name: "ctrl" }) as Lease;
  assert.equal(lease.spec?.holderIdentity, "a");
  assert.match(String(lease.spec?.renewTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  stopA.abort();
  assert.equal(await runA, "stopped");
  assert.equal(a.isLeader(), false);
  assert.match(await metrics.metrics(), /leader_election_master_status\{name="ctrl"\} 0/);
  const released = await api.get(Leases, { namespace: "kube-system", name: "ctrl" }) as Lease;
  assert.equal(released.spec?.holderIdentity, "", "released on stop, so a standby need not wait for expiry");
  await until(() => bLed, "b takes over");
  const after = await api.get(Leases, { namespace: "kube-system", name: "ctrl" }) as Lease;
  assert.equal(after.spec?.holderIdentity, "b");
  assert.equal(after.spec?.leaseTransitions, 1);
  stopB.abort();
  await runB;
});

test("a leader that cannot renew within the renew deadline loses leadership", async () => {
  const api = new FakeClient();
  const a = new LeaderElector(api, { ...fast, identity: "a" }, { log });
  let led = false;
  const run = a.run(new AbortController().signal, () => (led = true));
  await until(() => led, "a leads");
  a.checkRenewal(0); // just renewed: healthy
  api.prependReactor({}, () => new Error("connection refused"));
  assert.equal(await run, "lost");
  a.checkRenewal(0); // no longer leading: nothing to check
  assert.equal(a.isLeader(), false);
});

test("a lease held by a dead leader is taken only after it has not changed for leaseDuration", async () => {
  const api = new FakeClient();
  const now = new Date().toISOString();
  await api.create(Leases, { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "ctrl", namespace: "kube-system" }, spec: { holderIdentity: "dead", leaseDurationSeconds: 1, renewTime: now, acquireTime: now, leaseTransitions: 3 } });
  const b = new LeaderElector(api, { ...fast, identity: "b" }, { log });
  let ledAt = 0;
  const start = Date.now();
  const stop = new AbortController();
  const run = b.run(stop.signal, () => (ledAt = Date.now()));
  await until(() => ledAt > 0, "b takes over the expired lease");
  assert.ok(ledAt - start >= 900, "waited for the lease duration");
  const lease = await api.get(Leases, { namespace: "kube-system", name: "ctrl" }) as Lease;
  assert.equal(lease.spec?.leaseTransitions, 4);
  stop.abort();
  await run;
});

test("inconsistent durations are rejected", () => {
  const api = new FakeClient();
  assert.throws(() => new LeaderElector(api, { id: "x", namespace: "y", leaseDurationSeconds: 10, renewDeadlineSeconds: 10 }, { log }), /greater than renewDeadlineSeconds/);
  assert.throws(() => new LeaderElector(api, { id: "x", namespace: "y", renewDeadlineSeconds: 2, retryPeriodSeconds: 2 }, { log }), /1\.2 x retryPeriodSeconds/);
});

test("the health check fails when a leader's renew loop is stuck", async () => {
  const api = new FakeClient();
  const a = new LeaderElector(api, { ...fast, identity: "a" }, { log });
  let led = false;
  const stop = new AbortController();
  const run = a.run(stop.signal, () => (led = true));
  await until(() => led, "a leads");
  a.checkRenewal(0);
  // A request that never answers and ignores its abort signal: the renew loop hangs while leading.
  let hangs = 0;
  api.get = () => {
    hangs++;
    return new Promise(() => {});
  };
  await until(() => hangs > 0, "renew attempt hangs");
  await new Promise((r) => setTimeout(r, 1200));
  assert.equal(a.isLeader(), true);
  assert.throws(() => a.checkRenewal(0), /has not renewed the lease for \ds/);
  stop.abort();
  void run;
});
