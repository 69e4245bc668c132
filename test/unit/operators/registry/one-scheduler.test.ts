/**
 * `setupOperators` composes ONE kubeloop scheduler from every selected operator's plugins: with
 * gang-scheduling and gpu-placement (the default of operators/main.ts) the process runs a single
 * `Scheduler` whose profile has GangScheduling right after the PreEnqueue built-ins and
 * GPUPlacement before DefaultBinder, both operators' event sources and GPUPlacement's weight.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { rootLogger } from "../../../../framework/log/index.ts";
import { Manager, type Runnable } from "../../../../framework/manager/index.ts";
import { Scheduler, extendProfile, type Profile } from "../../../../framework/scheduling/index.ts";
import { defaultProfile } from "../../../../framework/scheduling/plugins/index.ts";
import { FakeClient } from "../../../../framework/testing/index.ts";
import { setupOperators } from "../../../../operators/registry.ts";
import { until } from "../../support/until.ts";

const log = rootLogger.child({}, { level: "silent" });

/** The fake API with `pods/binding` (the scheduler refuses a client that cannot bind). */
class BindingFakeClient extends FakeClient {
  async bind(): Promise<void> {}
}

/** A manager on the fake API whose added runnables are recorded. */
function recordingManager(): { mgr: Manager; added: Runnable[] } {
  const mgr = new Manager({ client: new BindingFakeClient(), log, metricsBindAddress: "0", healthProbeBindAddress: "0" });
  const added: Runnable[] = [];
  const add = mgr.add.bind(mgr);
  mgr.add = (r: Runnable) => {
    added.push(r);
    add(r);
  };
  return { mgr, added };
}

test("gang-scheduling + gpu-placement: one scheduler whose profile has both plugins", async () => {
  const { mgr, added } = recordingManager();
  const profiles: Profile[] = [];
  setupOperators(mgr, ["replicaset", "gang-scheduling", "gpu-placement"], { onScheduler: (_s, p) => profiles.push(p) });
  // The gang extension is deferred (native API discovery): no scheduler until the manager starts.
  assert.equal(added.filter((r) => r instanceof Scheduler).length, 0);
  const stop = new AbortController();
  const running = mgr.start(stop.signal);
  try {
    await until(() => profiles.length > 0, "the scheduler is added once discovery is done");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(profiles.length, 1);
    assert.equal(added.filter((r) => r instanceof Scheduler).length, 1, "exactly one Scheduler runnable");
    const p = profiles[0]!;
    assert.equal(p.schedulerName, "kubeloop-scheduler");
    const names = p.plugins.map((x) => x.name);
    assert.equal(new Set(names).size, names.length, `unique plugin names: ${names.join(", ")}`);
    assert.equal(names[names.indexOf("SchedulingGates") + 1], "GangScheduling", names.join(", "));
    assert.deepEqual(names.slice(-3), ["NodeResourcesFit", "GPUPlacement", "DefaultBinder"]);
    assert.equal(p.scoreWeights?.GPUPlacement, 10);
  } finally {
    stop.abort();
    await running;
  }
});

test("gpu-placement alone: the scheduler is added at once, without GangScheduling", () => {
  const { mgr, added } = recordingManager();
  const profiles: Profile[] = [];
  setupOperators(mgr, ["gpu-placement"], { onScheduler: (_s, p) => profiles.push(p) });
  assert.equal(added.filter((r) => r instanceof Scheduler).length, 1);
  assert.equal(profiles.length, 1);
  assert.ok(!profiles[0]!.plugins.some((x) => x.name === "GangScheduling"));
  assert.ok(profiles[0]!.plugins.some((x) => x.name === "GPUPlacement"));
});

test("replicaset alone: no scheduler; an unknown operator is refused before anything is set up", () => {
  const { mgr, added } = recordingManager();
  setupOperators(mgr, ["replicaset"]);
  assert.equal(added.filter((r) => r instanceof Scheduler).length, 0);
  const other = recordingManager();
  assert.throws(() => setupOperators(other.mgr, ["gpu-placement", "nope"]), /unknown operator "nope"; known: replicaset, endpoints, gang-scheduling, gpu-placement/);
  assert.equal(other.added.length, 0);
});

test("extendProfile: `after` places a plugin after the named one (front when absent); duplicate names are refused", () => {
  const base = defaultProfile({ client: { bind: async () => {} } });
  const mk = (name: string) => ({ name, preFilter: () => ({ code: "Success" as const }) }) as unknown as Profile["plugins"][number];
  const p = extendProfile(base, [{ plugins: [mk("X")], after: "SchedulingGates" }, { plugins: [mk("Y")], after: "NoSuchPlugin" }]);
  const names = p.plugins.map((x) => x.name);
  assert.equal(names[0], "Y");
  assert.equal(names[names.indexOf("SchedulingGates") + 1], "X");
  assert.throws(() => extendProfile(base, [{ plugins: [mk("X")] }, { plugins: [mk("X")] }]), /two plugins named "X"/);
});
