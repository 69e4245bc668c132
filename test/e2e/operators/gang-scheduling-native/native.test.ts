/**
 * The native gang API (`scheduling.k8s.io/v1alpha2` PodGroup, pods with
 * `spec.schedulingGroup.podGroupName`) scheduled by the kubeloop scheduler, and the differential
 * run (b) of issue 6: the same native PodGroups scheduled by kube-scheduler v1.36.3 with
 * `GenericWorkload` + `GangScheduling` on one pool of kwok nodes and by ours on a disjoint pool,
 * same outcome per group (bound or not, `PodGroupScheduled` status, reason and message).
 *
 * Needs a control plane that serves the native API: `KUBELOOP_GANG_SCHEDULING=1 node test/run.ts
 * 'test/e2e/operators/gang-scheduling-native/*.test.ts'` (the harness's `gangScheduling` option);
 * without it every test skips, saying so.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Pods, type Pod } from "../../../../framework/meta/index.ts";
import { waitFor } from "../../../../framework/testing/index.ts";
import { NativePodGroups, nativePodGroupsServed, type NativePodGroup } from "../../../../operators/gang-scheduling/native-api.ts";
import { eventsAbout, gangPod, TIMEOUT_MS, useGangSuite } from "../gang-scheduling/harness.ts";

const SKIP = "the control plane does not serve scheduling.k8s.io/v1alpha2: run with KUBELOOP_GANG_SCHEDULING=1";
const suite = useGangSuite({ namespacePrefix: "gang-native", controllerName: "podgroup-native-e2e", nodePrefix: "native", when: nativePodGroupsServed });
const pool = (count: number, cpu: string) => suite.pool(count, cpu);

function nativeGroup(name: string, minCount: number | "basic"): NativePodGroup {
  return {
    apiVersion: "scheduling.k8s.io/v1alpha2", kind: "PodGroup", metadata: { name, namespace: suite.ns },
    spec: { schedulingPolicy: minCount === "basic" ? { basic: {} } : { gang: { minCount } } },
  };
}

async function getPods(names: string[]): Promise<Pod[]> {
  return Promise.all(names.map((name) => suite.client.get(Pods, { namespace: suite.ns, name })));
}

const boundCount = (ps: Pod[]) => ps.filter((p) => p.spec?.nodeName).length;
const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

async function condition(group: string) {
  const pg = await suite.client.get(NativePodGroups, { namespace: suite.ns, name: group });
  const c = pg.status?.conditions?.find((x) => x.type === "PodGroupScheduled");
  return c ? { status: c.status, reason: c.reason, message: c.message } : undefined;
}

async function createMembers(prefix: string, n: number, group: string, o: { cpu: string; sel: Record<string, string>; schedulerName: string }): Promise<string[]> {
  const list = names(prefix, n);
  for (const name of list) await suite.client.create(Pods, gangPod(suite.ns, name, { native: group, cpu: o.cpu, nodeSelector: o.sel, schedulerName: o.schedulerName }));
  return list;
}

test("native: a gang short of minCount waits silently (no binding, no condition, no event), then schedules at once", { timeout: 120_000 }, async (t) => {
  if (!suite.active) return t.skip(SKIP);
  const sel = await pool(1, "4");
  await suite.client.create(NativePodGroups, nativeGroup("quorum", 3));
  const first = await createMembers("q", 2, "quorum", { cpu: "1", sel, schedulerName: "kubeloop-scheduler" });
  await new Promise((r) => setTimeout(r, 3000));
  const waiting = await getPods(first);
  assert.equal(boundCount(waiting), 0);
  for (const p of waiting) assert.equal(p.status?.conditions?.find((c) => c.type === "PodScheduled"), undefined, "PreEnqueue is silent: no condition");
  assert.deepEqual((await eventsAbout(suite.client, suite.ns, "Pod", "q-0")).map((e) => e.reason), [], "no event");
  assert.equal(await condition("quorum"), undefined);
  await suite.client.create(Pods, gangPod(suite.ns, "q-2", { native: "quorum", cpu: "1", nodeSelector: sel }));
  await waitFor(async () => boundCount(await getPods(names("q", 3))) === 3, { timeoutMs: TIMEOUT_MS, description: "all 3 bound" });
  const c = await waitFor(async () => (await condition("quorum"))?.status === "True" ? condition("quorum") : undefined, { timeoutMs: TIMEOUT_MS, description: "PodGroupScheduled True" });
  assert.deepEqual(c, { status: "True", reason: "Scheduled", message: "" });
});

test("native: pods wait silently for their PodGroup to appear, then schedule", { timeout: 120_000 }, async (t) => {
  if (!suite.active) return t.skip(SKIP);
  const sel = await pool(1, "4");
  const list = await createMembers("late", 2, "late", { cpu: "1", sel, schedulerName: "kubeloop-scheduler" });
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(boundCount(await getPods(list)), 0);
  await suite.client.create(NativePodGroups, nativeGroup("late", 2));
  await waitFor(async () => boundCount(await getPods(list)) === 2, { timeoutMs: TIMEOUT_MS, description: "both bound once the group exists" });
});

/** One differential scenario: what each scheduler made of its copy. */
interface Outcome {
  bound: number[];
  conditions: Array<{ status: string; reason: string; message: string } | undefined>;
}

/**
 * Runs `scenario` twice at once: with kube-scheduler (`default-scheduler`, pool K) and with ours
 * (pool O), each on its own nodes and groups (`k-`/`o-` prefixes), then waits `settleMs` and
 * returns per group the bound count and the PodGroupScheduled condition.
 */
async function differential(
  label: string,
  nodeCpu: string,
  groups: Array<{ name: string; minCount: number | "basic"; pods: number; cpu: string }>,
  done: (o: Outcome) => boolean,
): Promise<{ kube: Outcome; ours: Outcome }> {
  const run = async (side: "k" | "o"): Promise<Outcome> => {
    const sel = await pool(1, nodeCpu);
    const schedulerName = side === "k" ? "default-scheduler" : "kubeloop-scheduler";
    for (const g of groups) await suite.client.create(NativePodGroups, nativeGroup(`${side}-${label}-${g.name}`, g.minCount));
    // Interleave members of the groups, as upstream's competing-gangs test does.
    const max = Math.max(...groups.map((g) => g.pods));
    for (let i = 0; i < max; i++) {
      for (const g of groups) {
        if (i >= g.pods) continue;
        await suite.client.create(Pods, gangPod(suite.ns, `${side}-${label}-${g.name}-${i}`, { native: `${side}-${label}-${g.name}`, cpu: g.cpu, nodeSelector: sel, schedulerName }));
      }
    }
    const read = async (): Promise<Outcome> => ({
      bound: await Promise.all(groups.map(async (g) => boundCount(await getPods(names(`${side}-${label}-${g.name}`, g.pods))))),
      conditions: await Promise.all(groups.map((g) => condition(`${side}-${label}-${g.name}`))),
    });
    return waitFor(async () => {
      const o = await read();
      return done(o) ? o : undefined;
    }, { timeoutMs: TIMEOUT_MS, description: `${label}: ${side === "k" ? "kube-scheduler" : "kubeloop"} settled` });
  };
  const [kube, ours] = await Promise.all([run("k"), run("o")]);
  return { kube, ours };
}

const settled = (o: Outcome) => o.conditions.every((c) => c !== undefined);

test("differential (b): a gang that fits: bound by both, PodGroupScheduled True/Scheduled", { timeout: 120_000 }, async (t) => {
  if (!suite.active) return t.skip(SKIP);
  const { kube, ours } = await differential("fits", "4", [{ name: "g", minCount: 3, pods: 3, cpu: "1" }], (o) => settled(o) && o.bound[0] === 3);
  assert.deepEqual(ours, kube);
  assert.deepEqual(kube.conditions[0], { status: "True", reason: "Scheduled", message: "" });
});

test("differential (b): a gang that does not fit: nothing bound by either, False/Unschedulable 'pod group is unschedulable'", { timeout: 120_000 }, async (t) => {
  if (!suite.active) return t.skip(SKIP);
  const { kube, ours } = await differential("nofit", "2", [{ name: "g", minCount: 3, pods: 3, cpu: "1" }], settled);
  assert.deepEqual(ours, kube);
  assert.deepEqual(kube, { bound: [0], conditions: [{ status: "False", reason: "Unschedulable", message: "pod group is unschedulable" }] });
});

test("differential (b): a basic group is scheduled member by member by both", { timeout: 120_000 }, async (t) => {
  if (!suite.active) return t.skip(SKIP);
  const { kube, ours } = await differential("basic", "2", [{ name: "g", minCount: "basic", pods: 3, cpu: "1" }], (o) => settled(o) && o.bound[0] === 2);
  // Room for 2 of 3: a basic group binds what fits.
  assert.deepEqual(ours.bound, kube.bound);
  assert.deepEqual(ours.conditions[0]?.status, kube.conditions[0]?.status);
});

test("differential (b): two gangs competing for room that fits one: exactly one bound by each scheduler, the other False", { timeout: 180_000 }, async (t) => {
  if (!suite.active) return t.skip(SKIP);
  const gangs = [{ name: "a", minCount: 3, pods: 3, cpu: "1" }, { name: "b", minCount: 3, pods: 3, cpu: "1" }];
  const { kube, ours } = await differential("compete", "4", gangs, (o) => settled(o) && o.bound.includes(3));
  const shape = (o: Outcome) => ({
    bound: [...o.bound].sort(),
    conditions: o.conditions.map((c) => `${c?.status}/${c?.reason}/${c?.message}`).sort(),
  });
  assert.deepEqual(shape(ours), shape(kube), "same outcome up to which gang won");
  assert.deepEqual(shape(kube), { bound: [0, 3], conditions: ["False/Unschedulable/pod group is unschedulable", "True/Scheduled/"] });
});

test("differential (b): a gang short of minCount: neither binds nor writes a condition", { timeout: 120_000 }, async (t) => {
  if (!suite.active) return t.skip(SKIP);
  const start = Date.now();
  const { kube, ours } = await differential("short", "4", [{ name: "g", minCount: 3, pods: 2, cpu: "1" }], () => Date.now() - start > 4000);
  assert.deepEqual(ours, kube);
  assert.deepEqual(kube, { bound: [0], conditions: [undefined] });
});
