/**
 * Gang scheduling by the kubeloop scheduler on a real control plane with kwok nodes, ported from
 * upstream `test/integration/scheduler/podgroup/podgroup_test.go` (v1.36.3) for
 * `scheduling.kubeloop.dev/v1alpha1` PodGroups: a gang schedules when its group and resources are
 * there; waits for quorum, then binds all at once; waits for its PodGroup to appear; two gangs
 * competing for room that fits one: exactly one runs, never partly, in both creation orders, and
 * the other runs once room frees (no deadlock); a group that does not fit names the member and its
 * node histogram; members beyond minMember are scheduled alone once the group runs; members that
 * disagree on schedulerName are refused with a reason.
 *
 * Each test gets its own pool of kwok nodes (label `gang-e2e-pool`) and pods select it, so the
 * cluster's other nodes never take them. The operator (PodGroup controller and scheduler) runs in
 * this process for the whole file.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Pods, type Pod } from "../../../../framework/meta/index.ts";
import { POD_GROUP_UNSCHEDULABLE_MESSAGE } from "../../../../framework/scheduling/index.ts";
import { waitFor } from "../../../../framework/testing/index.ts";
import { PodGroups } from "../../../../operators/gang-scheduling/api.ts";
import { eventsAbout, gangPod, podGroup, TIMEOUT_MS, useGangSuite } from "./harness.ts";

const suite = useGangSuite({ namespacePrefix: "gang-sched", controllerName: "podgroup-gang-e2e", nodePrefix: "gang" });
const pool = (count: number, cpu: string) => suite.pool(count, cpu);

async function pods(names: string[]): Promise<Pod[]> {
  return Promise.all(names.map((name) => suite.client.get(Pods, { namespace: suite.ns, name })));
}

function bound(ps: Pod[]): string[] {
  return ps.filter((p) => p.spec?.nodeName).map((p) => p.metadata!.name!);
}

function scheduledCondition(p: Pod) {
  return p.status?.conditions?.find((c) => c.type === "PodScheduled");
}

/** Waits until every named pod is bound; returns them. */
async function allBound(names: string[], what: string): Promise<Pod[]> {
  return waitFor(async () => {
    const ps = await pods(names);
    return bound(ps).length === names.length ? ps : undefined;
  }, { timeoutMs: TIMEOUT_MS, description: `${what}: pods ${names.join(", ")} bound` });
}

/**
 * Waits until every named pod has PodScheduled=False (tried and refused), with a message matching
 * `message` when given (a pod refused earlier for another reason is retried on the event that
 * changed it); returns them.
 */
async function allRefused(names: string[], what: string, message?: RegExp): Promise<Pod[]> {
  return waitFor(async () => {
    const ps = await pods(names);
    return ps.every((p) => scheduledCondition(p)?.status === "False" && (!message || message.test(scheduledCondition(p)?.message ?? ""))) ? ps : undefined;
  }, { timeoutMs: TIMEOUT_MS, description: `${what}: pods ${names.join(", ")} reported unschedulable${message ? ` with ${message}` : ""}` });
}

async function groupCondition(name: string) {
  return (await suite.client.get(PodGroups, { namespace: suite.ns, name })).status?.conditions?.find((c) => c.type === "PodGroupScheduled");
}

/** Pod names `<prefix>-0 .. <prefix>-<n-1>`. */
const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

test("gang schedules when pod group and resources are available", { timeout: 120_000 }, async () => {
  const sel = await pool(1, "4");
  await suite.client.create(PodGroups, podGroup(suite.ns, "pg-avail", 3));
  for (const n of names("avail", 3)) await suite.client.create(Pods, gangPod(suite.ns, n, { group: "pg-avail", cpu: "1", nodeSelector: sel }));
  await allBound(names("avail", 3), "available");
  const cond = await waitFor(async () => (await groupCondition("pg-avail"))?.status === "True" ? groupCondition("pg-avail") : undefined,
    { timeoutMs: TIMEOUT_MS, description: "PodGroupScheduled True" });
  assert.equal(cond?.reason, "Scheduled");
  const events = await waitFor(async () => {
    const evs = await eventsAbout(suite.client, suite.ns, "PodGroup", "pg-avail");
    return evs.some((e) => e.reason === "Scheduled") ? evs : undefined;
  }, { timeoutMs: TIMEOUT_MS, description: "a Scheduled Event on the PodGroup" });
  assert.match(events.find((e) => e.reason === "Scheduled")!.note ?? "", /^PodGroup gang-sched-\w+\/pg-avail: 3 members assigned \(/);
  await waitFor(async () => (await eventsAbout(suite.client, suite.ns, "Pod", "avail-0"))
    .some((e) => e.reason === "Scheduled" && new RegExp(`^Successfully assigned ${suite.ns}/avail-0 to gang-`).test(e.note ?? "")),
  { timeoutMs: TIMEOUT_MS, description: "the pod's Scheduled Event" });
});

test("gang waits for quorum to start, then schedules all at once", { timeout: 120_000 }, async () => {
  const sel = await pool(1, "4");
  await suite.client.create(PodGroups, podGroup(suite.ns, "pg-quorum", 3));
  const [a, b, c] = names("quorum", 3) as [string, string, string];
  await suite.client.create(Pods, gangPod(suite.ns, a, { group: "pg-quorum", cpu: "1", nodeSelector: sel }));
  await suite.client.create(Pods, gangPod(suite.ns, b, { group: "pg-quorum", cpu: "1", nodeSelector: sel }));
  const waiting = await allRefused([a, b], "quorum not met", new RegExp(`^0/\\d+ nodes are available: 2/3 pods of PodGroup ${suite.ns}/pg-quorum exist\\.$`));
  assert.deepEqual(bound(waiting), []);
  for (const p of waiting) assert.equal(scheduledCondition(p)?.reason, "Unschedulable");
  await suite.client.create(Pods, gangPod(suite.ns, c, { group: "pg-quorum", cpu: "1", nodeSelector: sel }));
  await allBound([a, b, c], "quorum met");
});

test("gang waits for its PodGroup to appear ('PodGroup <ns>/<name> not found'), then schedules", { timeout: 120_000 }, async () => {
  const sel = await pool(1, "4");
  for (const n of names("late", 2)) await suite.client.create(Pods, gangPod(suite.ns, n, { group: "pg-late", cpu: "1", nodeSelector: sel }));
  const refused = await allRefused(names("late", 2), "no PodGroup");
  for (const p of refused) {
    assert.equal(scheduledCondition(p)?.reason, "Unschedulable");
    assert.match(scheduledCondition(p)?.message ?? "", new RegExp(`^0/\\d+ nodes are available: PodGroup ${suite.ns}/pg-late not found\\.$`));
  }
  const failed = (await eventsAbout(suite.client, suite.ns, "Pod", "late-0")).filter((e) => e.reason === "FailedScheduling");
  assert.ok(failed.some((e) => (e.note ?? "").includes(`PodGroup ${suite.ns}/pg-late not found`)), "a FailedScheduling Event says so too");
  await suite.client.create(PodGroups, podGroup(suite.ns, "pg-late", 2));
  await allBound(names("late", 2), "PodGroup created");
});

for (const order of ["A first", "B first"] as const) {
  test(`two gangs competing for room that fits one: exactly one runs, never partly, the other waits without deadlock (${order})`, { timeout: 180_000 }, async () => {
    const sel = await pool(1, "4");
    const tag = order === "A first" ? "ab" : "ba";
    const A = names(`${tag}-a`, 3), B = names(`${tag}-b`, 3);
    await suite.client.create(PodGroups, podGroup(suite.ns, `${tag}-pga`, 3));
    await suite.client.create(PodGroups, podGroup(suite.ns, `${tag}-pgb`, 3));
    // Interleaved creation, as upstream's test: the first member of each gang, then the next...
    const [first, second] = order === "A first" ? [{ ns: A, g: `${tag}-pga` }, { ns: B, g: `${tag}-pgb` }] : [{ ns: B, g: `${tag}-pgb` }, { ns: A, g: `${tag}-pga` }];
    for (let i = 0; i < 3; i++) {
      await suite.client.create(Pods, gangPod(suite.ns, first.ns[i]!, { group: first.g, cpu: "1", nodeSelector: sel }));
      await suite.client.create(Pods, gangPod(suite.ns, second.ns[i]!, { group: second.g, cpu: "1", nodeSelector: sel }));
    }
    // One gang binds completely; the other is refused as a whole.
    const outcome = await waitFor(async () => {
      const a = bound(await pods(A)).length, b = bound(await pods(B)).length;
      return a === 3 || b === 3 ? { a, b } : undefined;
    }, { timeoutMs: TIMEOUT_MS, description: "one gang bound" });
    const [winner, loser] = outcome.a === 3 ? [A, B] : [B, A];
    const loserGroup = outcome.a === 3 ? `${tag}-pgb` : `${tag}-pga`;
    const refused = await allRefused(loser, "the losing gang");
    assert.deepEqual(bound(refused), [], "no member of the losing gang is bound (never partial)");
    // Hold for a few scheduling rounds: still exactly one gang, never a partial one.
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(bound(await pods(winner)).length, 3);
      assert.equal(bound(await pods(loser)).length, 0);
    }
    const cond = await waitFor(async () => (await groupCondition(loserGroup))?.status === "False" ? groupCondition(loserGroup) : undefined,
      { timeoutMs: TIMEOUT_MS, description: "the losing PodGroup's condition False" });
    assert.equal(cond?.reason, "Unschedulable");
    assert.match(cond?.message ?? "", /^pod group is unschedulable: /);
    // Free the room: the waiting gang runs (no deadlock).
    for (const n of winner) await suite.client.delete(Pods, { namespace: suite.ns, name: n }, { gracePeriodSeconds: 0 });
    await allBound(loser, "the waiting gang after room freed");
  });
}

test("a group that does not fit is refused as a whole and says which member failed and why", { timeout: 120_000 }, async () => {
  const sel = await pool(1, "2");
  await suite.client.create(PodGroups, podGroup(suite.ns, "pg-big", 3));
  for (const n of names("big", 3)) await suite.client.create(Pods, gangPod(suite.ns, n, { group: "pg-big", cpu: "1", nodeSelector: sel }));
  // Members created before the last one may first say the group is short of pods ("2/3 pods of
  // PodGroup ... exist", the gate, bare or after "0/N nodes are available: " when a retry of the
  // member reported it); the group's verdict replaces that once all three exist.
  const refused = await allRefused(names("big", 3), "too big", /^(?!.*\d+\/\d+ pods of PodGroup \S+ exist)/);
  assert.deepEqual(bound(refused), []);
  const messages = refused.map((p) => scheduledCondition(p)?.message ?? "");
  assert.equal(messages.filter((m) => m === POD_GROUP_UNSCHEDULABLE_MESSAGE).length, 2, `the two that fit say the group is short: ${messages.join(" | ")}`);
  const failing = messages.find((m) => m !== POD_GROUP_UNSCHEDULABLE_MESSAGE)!;
  assert.match(failing, /^0\/\d+ nodes are available: .*1 Insufficient cpu/);
  const cond = await waitFor(async () => (await groupCondition("pg-big"))?.status === "False" ? groupCondition("pg-big") : undefined,
    { timeoutMs: TIMEOUT_MS, description: "PodGroupScheduled False" });
  assert.match(cond?.message ?? "", /^pod group is unschedulable: member big-\d did not fit: 0\/\d+ nodes are available: .*1 Insufficient cpu.*; 2\/3 members fit$/);
  const events = await eventsAbout(suite.client, suite.ns, "PodGroup", "pg-big");
  assert.ok(events.some((e) => e.reason === "FailedScheduling" && /member big-\d did not fit/.test(e.note ?? "")));
});

test("members beyond minMember are scheduled one by one once the group runs", { timeout: 120_000 }, async () => {
  const sel = await pool(1, "4");
  await suite.client.create(PodGroups, podGroup(suite.ns, "pg-extra", 2));
  for (const n of names("extra", 2)) await suite.client.create(Pods, gangPod(suite.ns, n, { group: "pg-extra", cpu: "1", nodeSelector: sel }));
  await allBound(names("extra", 2), "the gang");
  await suite.client.create(Pods, gangPod(suite.ns, "extra-2", { group: "pg-extra", cpu: "1", nodeSelector: sel }));
  await allBound(["extra-2"], "the extra member alone");
  await suite.client.create(Pods, gangPod(suite.ns, "extra-3", { group: "pg-extra", cpu: "3", nodeSelector: sel }));
  const [late] = await allRefused(["extra-3"], "an extra member without room");
  assert.match(scheduledCondition(late!)?.message ?? "", /Insufficient cpu/);
  assert.deepEqual(bound(await pods(names("extra", 3))).length, 3, "the running members are untouched");
  assert.equal((await groupCondition("pg-extra"))?.status, "True", "a True PodGroupScheduled is never regressed");
});

test("members that disagree on schedulerName: the kubeloop member is Unschedulable with a reason", { timeout: 120_000 }, async () => {
  const sel = await pool(1, "4");
  await suite.client.create(PodGroups, podGroup(suite.ns, "pg-mixed", 2));
  await suite.client.create(Pods, gangPod(suite.ns, "mixed-0", { group: "pg-mixed", cpu: "1", nodeSelector: sel }));
  await suite.client.create(Pods, gangPod(suite.ns, "mixed-1", { group: "pg-mixed", cpu: "1", nodeSelector: sel, schedulerName: "default-scheduler" }));
  const [p] = await allRefused(["mixed-0"], "mixed schedulers",
    new RegExp(`pods of PodGroup ${suite.ns}/pg-mixed disagree on spec\\.schedulerName \\(1 default-scheduler, 1 kubeloop-scheduler\\)`));
  assert.equal(scheduledCondition(p!)?.reason, "Unschedulable");
  assert.equal(p!.spec?.nodeName, undefined);
});

test("minResources the cluster cannot cover: 'resource gap for PodGroup ...'; lowered, the gang schedules", { timeout: 120_000 }, async () => {
  const sel = await pool(1, "4");
  const pg = podGroup(suite.ns, "pg-res", 2);
  pg.spec.minResources = { cpu: "100000" };
  await suite.client.create(PodGroups, pg);
  for (const n of names("res", 2)) await suite.client.create(Pods, gangPod(suite.ns, n, { group: "pg-res", cpu: "1", nodeSelector: sel }));
  await allRefused(names("res", 2), "resource gap", new RegExp(`^0/\\d+ nodes are available: resource gap for PodGroup ${suite.ns}/pg-res: cpu: 100000000m wanted, \\d+m free\\.$`));
  await suite.client.patch(PodGroups, { namespace: suite.ns, name: "pg-res" }, { type: "merge", body: { spec: { minResources: { cpu: "2" } } } });
  await allBound(names("res", 2), "minResources lowered");
});
