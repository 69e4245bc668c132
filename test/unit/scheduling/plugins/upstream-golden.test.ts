/**
 * Differential check against kube-scheduler v1.36.3's own code: `golden/cases.json` holds seeded
 * random pods and nodes with the results the upstream plugins computed for them (requests,
 * non-zero requests, NodeInfo accounting, PreFilter and Filter statuses of NodeUnschedulable,
 * NodeName, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit, and the normalized
 * scores of TaintToleration, NodeAffinity and NodeResourcesFit with random scoring strategies);
 * `golden/node-hints.json` and `golden/pod-hints.json` hold node and pod events with upstream's
 * verdict, per filter plugin, on requeueing a pod that plugin rejected (the events kube-scheduler
 * derives from the change, matched against each plugin's registered events, then its queueing
 * hint). `golden/generate.ts` and `golden/oracle.go` say how the files were made.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { Node, Pod } from "../../../../framework/meta/index.ts";
import { CycleState, type FilterPlugin, type NodeScore, type PreFilterPlugin, type ResourceAmounts, type Status } from "../../../../framework/scheduling/framework.ts";
import {
  NodeAffinity, NodeName, NodePorts, NodeResourcesFit, NodeUnschedulable, TaintToleration, type ScoringStrategy,
} from "../../../../framework/scheduling/plugins/index.ts";
import { nodeInfoOf, podInfoOf } from "../../../../framework/scheduling/resources.ts";
import { lister } from "./fixtures.ts";

interface StatusOut { code: string; reasons: string[] }
interface Expected {
  requests: Record<string, number>;
  non0CPU: number;
  non0Mem: number;
  preFilter: Record<string, StatusOut>;
  nodeNames?: string[];
  nodes: Array<{ name: string; filters: StatusOut[]; requested: Record<string, number>; nonZeroRequested: Record<string, number>; allocatable: Record<string, number> }>;
  scores: Record<string, Record<string, number>>;
}
interface Case { pod: Pod; nodes: Array<{ node: Node; pods: Pod[] }>; strategy?: ScoringStrategy; expected: Expected }

const cases = JSON.parse(readFileSync(new URL("./golden/cases.json", import.meta.url), "utf8")) as Case[];
const FIXED = ["cpu", "memory", "ephemeral-storage", "pods"];

/** Upstream's `Resource` view of ResourceAmounts: fixed fields always present (0), scalars as given. */
function asResource(a: ResourceAmounts, withPods: boolean): Record<string, number> {
  const out: Record<string, number> = { cpu: a["cpu"] ?? 0, memory: a["memory"] ?? 0, "ephemeral-storage": a["ephemeral-storage"] ?? 0, pods: withPods ? a["pods"] ?? 0 : 0 };
  for (const [k, v] of Object.entries(a)) if (!FIXED.includes(k)) out[k] = v;
  return out;
}

function plain(s: Status, sortReasons = false): StatusOut {
  return { code: s.code, reasons: sortReasons ? [...s.reasons].sort() : [...s.reasons] };
}

test(`${cases.length} seeded cases give kube-scheduler v1.36.3's results`, () => {
  assert.ok(cases.length >= 100);
  let rejected = 0;
  let scored = 0;
  for (const [i, c] of cases.entries()) {
    const where = `case ${i}`;
    const e = c.expected;
    const pod = podInfoOf(c.pod);
    assert.deepEqual(asResource(pod.requests, false), e.requests, `${where}: requests`);
    assert.deepEqual([pod.nonZeroRequests["cpu"], pod.nonZeroRequests["memory"]], [e.non0CPU, e.non0Mem], `${where}: non-zero requests`);

    const fit = new NodeResourcesFit(c.strategy ? { scoringStrategy: c.strategy } : {});
    const affinity = new NodeAffinity();
    const taints = new TaintToleration();
    const filters: FilterPlugin[] = [new NodeUnschedulable(), new NodeName(), taints, affinity, new NodePorts(), fit];
    const infos = c.nodes.map((n) => nodeInfoOf(n.node, n.pods));
    const state = new CycleState();
    const pre = new Map<string, Status>();
    for (const p of filters) {
      const pf = p as Partial<PreFilterPlugin> & FilterPlugin;
      if (!pf.preFilter) continue;
      const { status: s, result } = pf.preFilter(state, pod, lister(infos));
      pre.set(p.name, s);
      assert.deepEqual(plain(s), e.preFilter[p.name], `${where}: PreFilter ${p.name}`);
      if (p.name === "NodeAffinity") {
        assert.deepEqual(result?.nodeNames ? [...result.nodeNames].sort() : undefined, e.nodeNames, `${where}: NodeAffinity PreFilterResult`);
      }
    }
    for (const [j, ni] of infos.entries()) {
      const en = e.nodes[j]!;
      assert.deepEqual(asResource(ni.requested, false), { ...en.requested, pods: 0 }, `${where} ${en.name}: requested`);
      assert.deepEqual([ni.nonZeroRequested["cpu"] ?? 0, ni.nonZeroRequested["memory"] ?? 0], [en.nonZeroRequested["cpu"], en.nonZeroRequested["memory"]], `${where} ${en.name}: non-zero requested`);
      assert.deepEqual(asResource(ni.allocatable, true), en.allocatable, `${where} ${en.name}: allocatable`);
      filters.forEach((p, k) => {
        const ps = pre.get(p.name);
        const want = en.filters[k]!;
        if (ps && ps.code !== "Success") {
          assert.equal(want.code, "Skipped", `${where} ${en.name}: ${p.name} skipped after PreFilter`);
          return;
        }
        const got = p.filter(state, pod, ni);
        if (got.code !== "Success") rejected++;
        // upstream lists insufficient extended resources in Go map order; compare NodeResourcesFit's as a set
        const sort = p.name === "NodeResourcesFit";
        assert.deepEqual(plain(got, sort), sort ? { ...want, reasons: [...want.reasons].sort() } : want, `${where} ${en.name}: Filter ${p.name}`);
      });
    }
    for (const p of [taints, affinity, fit]) {
      const want = e.scores[p.name]!;
      const s = p.preScore(state, pod);
      if (s.code === "Skip") {
        assert.deepEqual(want, {}, `${where}: ${p.name} PreScore Skip`);
        continue;
      }
      const scores: NodeScore[] = infos.map((ni) => ({ name: ni.node.metadata!.name!, score: p.score(state, pod, ni).score }));
      (p as { normalizeScore?: (st: CycleState, pi: typeof pod, sc: NodeScore[]) => Status }).normalizeScore?.(state, pod, scores);
      assert.deepEqual(Object.fromEntries(scores.map((x) => [x.name, x.score])), want, `${where}: ${p.name} scores`);
      scored++;
    }
  }
  // the cases exercise rejections and scores, not only the happy path
  assert.ok(rejected > 200, `rejections seen: ${rejected}`);
  assert.ok(scored > 300, `score runs: ${scored}`);
});

test("node add/update events requeue a rejected pod exactly when kube-scheduler v1.36.3 would, per filter plugin", () => {
  const hintCases = JSON.parse(readFileSync(new URL("./golden/node-hints.json", import.meta.url), "utf8")) as Array<{ pod: Pod; old?: Node; new: Node; queue: Record<string, boolean> }>;
  assert.ok(hintCases.length >= 500);
  const plugins = [new NodeUnschedulable(), new NodeName(), new TaintToleration(), new NodeAffinity(), new NodePorts(), new NodeResourcesFit()];
  const mismatches: string[] = [];
  let queued = 0;
  for (const [i, c] of hintCases.entries()) {
    const action = c.old ? "Update" : "Add";
    for (const p of plugins) {
      const regs = p.eventsToRegister().filter((r) => r.event.resource === "Node" && r.event.action === action);
      const queue = regs.some((r) => !r.hint || r.hint(c.pod, c.old, c.new) === "Queue");
      if (queue) queued++;
      if (queue !== c.queue[p.name]) mismatches.push(`case ${i} ${action} ${p.name}: ours ${queue}, upstream ${c.queue[p.name]}`);
    }
  }
  assert.deepEqual(mismatches, []);
  assert.ok(queued > 500, `requeues seen: ${queued}`);
});

test("pod deletes and updates requeue a rejected pod exactly when kube-scheduler v1.36.3 would, per filter plugin", () => {
  const hintCases = JSON.parse(readFileSync(new URL("./golden/pod-hints.json", import.meta.url), "utf8")) as Array<{ pod: Pod; kind: "delete" | "update"; old: Pod; new?: Pod; queue: Record<string, boolean> }>;
  assert.ok(hintCases.length >= 500);
  const plugins = [new NodeUnschedulable(), new NodeName(), new TaintToleration(), new NodeAffinity(), new NodePorts(), new NodeResourcesFit()];
  const mismatches: string[] = [];
  let queued = 0;
  for (const [i, c] of hintCases.entries()) {
    const action = c.kind === "delete" ? "Delete" : "Update";
    for (const p of plugins) {
      const regs = p.eventsToRegister().filter((r) => r.event.resource === "Pod" && r.event.action === action);
      const queue = regs.some((r) => !r.hint || r.hint(c.pod, c.old, c.new) === "Queue");
      if (queue) queued++;
      if (queue !== c.queue[p.name]) mismatches.push(`case ${i} ${action} ${p.name}: ours ${queue}, upstream ${c.queue[p.name]}`);
    }
  }
  assert.deepEqual(mismatches, []);
  assert.ok(queued > 300, `requeues seen: ${queued}`);
});
