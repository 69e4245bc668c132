import { test } from "node:test";
import assert from "node:assert/strict";
import { CycleState } from "../../../../framework/scheduling/framework.ts";
import { NodeAffinity } from "../../../../framework/scheduling/plugins/index.ts";
import { info, lister, makeNode, makePod, pi, scoreAll, type Json } from "./fixtures.ts";

const REASON = "node(s) didn't match Pod's node affinity/selector";
const required = (...terms: Json[]) => ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } });

function run(plugin: NodeAffinity, spec: Json, node = makeNode("n1", { labels: { zone: "a", "gpu-type": "nvidia-a100", cores: "16" } })) {
  const state = new CycleState();
  const pod = pi(makePod({ spec }));
  const pre = plugin.preFilter(state, pod, lister([info(node)]));
  if (pre.status.code !== "Success" && pre.status.code !== "Skip") return pre.status;
  return plugin.filter(state, pod, info(node));
}

test("NodeAffinity: nodeSelector must match every label", () => {
  const plugin = new NodeAffinity();
  assert.equal(run(plugin, { nodeSelector: { zone: "a" } }).code, "Success");
  assert.deepEqual(run(plugin, { nodeSelector: { zone: "a", pool: "x" } }), { code: "UnschedulableAndUnresolvable", reasons: [REASON] });
  assert.equal(run(plugin, {}).code, "Success");
});

test("NodeAffinity: PreFilter skips pods without node constraints", () => {
  const plugin = new NodeAffinity();
  assert.equal(plugin.preFilter(new CycleState(), pi(makePod()), lister([])).status.code, "Skip");
  assert.equal(plugin.preFilter(new CycleState(), pi(makePod({ spec: { nodeSelector: { a: "b" } } })), lister([])).status.code, "Success");
});

test("NodeAffinity: required terms with In, NotIn, Exists, DoesNotExist, Gt, Lt; terms are ORed, expressions ANDed", () => {
  const plugin = new NodeAffinity();
  const expr = (key: string, operator: string, values?: string[]) => ({ matchExpressions: [{ key, operator, ...(values ? { values } : {}) }] });
  const cases: Array<[Json, boolean]> = [
    [required(expr("gpu-type", "In", ["nvidia-a100"])), true], // the seed's example
    [required(expr("gpu-type", "In", ["nvidia-h100"])), false],
    [required(expr("gpu-type", "NotIn", ["nvidia-h100"])), true],
    [required(expr("missing", "NotIn", ["x"])), true],
    [required(expr("zone", "Exists")), true],
    [required(expr("zone", "DoesNotExist")), false],
    [required(expr("missing", "DoesNotExist")), true],
    [required(expr("cores", "Gt", ["8"])), true],
    [required(expr("cores", "Gt", ["16"])), false],
    [required(expr("cores", "Lt", ["17"])), true],
    [required(expr("zone", "Gt", ["1"])), false], // label value not an integer
    [required(expr("missing", "Lt", ["1"])), false],
    [required(expr("zone", "In", ["b"]), expr("zone", "In", ["a"])), true], // ORed
    [required({ matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }, { key: "cores", operator: "Lt", values: ["4"] }] }), false], // ANDed
    [required(), false], // no terms: matches nothing
    [required({}), false], // only empty terms: matches nothing
    [required(expr("zone", "In", [])), false], // invalid requirement: the term matches nothing
    [required(expr("zone", "Bogus", ["a"])), false],
  ];
  for (const [spec, ok] of cases) {
    assert.deepEqual(run(plugin, spec), ok ? { code: "Success", reasons: [] } : { code: "UnschedulableAndUnresolvable", reasons: [REASON] }, JSON.stringify(spec));
  }
  // nodeSelector AND affinity
  assert.equal(run(plugin, { nodeSelector: { zone: "b" }, ...required(expr("zone", "Exists")) }).code, "UnschedulableAndUnresolvable");
});

test("NodeAffinity: matchFields on metadata.name, and the PreFilter node-name result", () => {
  const plugin = new NodeAffinity();
  const byName = (op: string, name: string) => ({ matchFields: [{ key: "metadata.name", operator: op, values: [name] }] });
  assert.equal(run(plugin, required(byName("In", "n1"))).code, "Success");
  assert.equal(run(plugin, required(byName("In", "n2"))).code, "UnschedulableAndUnresolvable");
  assert.equal(run(plugin, required(byName("NotIn", "n1"))).code, "UnschedulableAndUnresolvable");
  assert.equal(run(plugin, required(byName("NotIn", "n2"))).code, "Success");

  const state = new CycleState();
  const pre = plugin.preFilter(state, pi(makePod({ spec: required(byName("In", "n1"), byName("In", "n3")) })), lister([]));
  assert.deepEqual([...(pre.result?.nodeNames ?? [])].sort(), ["n1", "n3"]);
  // a term not pinned by name: no restriction
  const open = plugin.preFilter(new CycleState(), pi(makePod({ spec: required(byName("In", "n1"), { matchExpressions: [{ key: "zone", operator: "Exists" }] }) })), lister([]));
  assert.equal(open.result, undefined);
  // two pins in one term that do not intersect: conflict
  const conflict = plugin.preFilter(new CycleState(), pi(makePod({ spec: required({ matchFields: [
    { key: "metadata.name", operator: "In", values: ["n1"] }, { key: "metadata.name", operator: "In", values: ["n2"] },
  ] }) })), lister([]));
  assert.deepEqual(conflict.status, { code: "UnschedulableAndUnresolvable", reasons: ["pod affinity terms conflict"] });
});

test("NodeAffinity: added (scheduler-enforced) affinity has its own reason", () => {
  const plugin = new NodeAffinity({ addedAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "pool", operator: "In", values: ["ours"] }] }] } } });
  assert.deepEqual(run(plugin, {}), { code: "UnschedulableAndUnresolvable", reasons: ["node(s) didn't match scheduler-enforced node affinity"] });
  assert.equal(run(plugin, {}, makeNode("n", { labels: { pool: "ours" } })).code, "Success");
});

test("NodeAffinity score: sum of matching preferred weights, normalized to the best node", () => {
  const plugin = new NodeAffinity();
  const pref = (weight: number, key: string, value: string) => ({ weight, preference: { matchExpressions: [{ key, operator: "In", values: [value] }] } });
  const pod = pi(makePod({ spec: { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [
    pref(2, "zone", "a"), pref(5, "gpu", "a100"), pref(0, "zone", "a"), { weight: 9, preference: {} },
  ] } } } }));
  const nodes = [
    info(makeNode("both", { labels: { zone: "a", gpu: "a100" } })),
    info(makeNode("gpu", { labels: { gpu: "a100" } })),
    info(makeNode("zone", { labels: { zone: "a" } })),
    info(makeNode("none")),
  ];
  // raw 7, 5, 2, 0 -> trunc(100*s/7)
  assert.deepEqual(scoreAll(plugin, pod, nodes), { both: 100, gpu: 71, zone: 28, none: 0 });
  assert.equal(plugin.preScore(new CycleState(), pi(makePod())).code, "Skip");
  assert.deepEqual(scoreAll(plugin, pi(makePod()), nodes), { both: 0, gpu: 0, zone: 0, none: 0 });
});

test("NodeAffinity hints: queued only when the node matches now and did not before", () => {
  const plugin = new NodeAffinity();
  const [add, update] = plugin.eventsToRegister();
  const pod = makePod({ spec: { nodeSelector: { zone: "a" } } });
  assert.equal(add!.hint!(pod, undefined, makeNode("n", { labels: { zone: "a" } })), "Queue");
  assert.equal(add!.hint!(pod, undefined, makeNode("n", { labels: { zone: "b" } })), "QueueSkip");
  assert.equal(update!.hint!(pod, makeNode("n", { labels: { zone: "b" } }), makeNode("n", { labels: { zone: "a" } })), "Queue");
  assert.equal(update!.hint!(pod, makeNode("n", { labels: { zone: "a" } }), makeNode("n", { labels: { zone: "a", x: "y" } })), "QueueSkip");
});
