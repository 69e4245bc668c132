import { after, test } from "node:test";
import assert from "node:assert/strict";
import type { Node, Pod } from "../../../framework/meta/index.ts";
import {
  POD_GROUP_UNSCHEDULABLE_MESSAGE, Scheduler, status, SUCCESS, type FilterPlugin, type NodeInfo, type PermitPlugin, type Plugin, type PodGroupCycleResult,
  type PodGroupPlugin, type PreFilterPlugin, type ReservePlugin, type ScorePlugin,
} from "../../../framework/scheduling/index.ts";
import { until } from "../support/until.ts";
import { FakeInformer, FakeRecorder, FakeSchedulerClient, node, pod } from "./fakes.ts";

const NAME = "test-scheduler";

function setup(plugins: Plugin[], nodes: Node[], opts: { scoreWeights?: Record<string, number> } = {}) {
  const nodeInf = new FakeInformer<Node>();
  const podInf = new FakeInformer<Pod>();
  for (const n of nodes) nodeInf.set(n);
  const client = new FakeSchedulerClient(podInf);
  const recorder = new FakeRecorder();
  const sched = new Scheduler({
    client, nodes: nodeInf, pods: podInf, recorder, initialBackoffMs: 20, maxBackoffMs: 40,
    profiles: [{ schedulerName: NAME, plugins, ...(opts.scoreWeights ? { scoreWeights: opts.scoreWeights } : {}) }],
    random: () => 0.99,
  });
  const ac = new AbortController();
  const running = sched.start(ac.signal);
  after(() => ac.abort());
  return {
    nodeInf, podInf, client, recorder, sched,
    stop: async () => {
      ac.abort();
      await running;
    },
  };
}

/** A Filter rejecting the nodes `reject` maps to a reason. */
function filter(name: string, reject: Record<string, string>): FilterPlugin {
  return { name, filter: (_s, _p, ni) => (reject[ni.node.metadata!.name!] ? status("Unschedulable", reject[ni.node.metadata!.name!]!) : SUCCESS) };
}

/** A Filter that fits at most `capacity` pods on a node (reads the snapshot's pods, assumed ones included). */
function capacity(cap: Record<string, number>): FilterPlugin & { eventsToRegister(): [] } {
  return {
    name: "Capacity",
    filter: (_s, _p, ni: NodeInfo) => (ni.pods.length < (cap[ni.node.metadata!.name!] ?? 0) ? SUCCESS : status("Unschedulable", "Too many pods")),
    eventsToRegister: () => [],
  };
}

test("the first failing filter per node is reported, in kube-scheduler's sorted histogram, with a FailedScheduling event", async () => {
  const nodes = Array.from({ length: 12 }, (_, i) => node(`n${String(i).padStart(2, "0")}`));
  const reject: Record<string, string> = {};
  for (let i = 0; i < 10; i++) reject[`n${String(i).padStart(2, "0")}`] = "zzz later reason";
  const second: Record<string, string> = { n00: "never shown", n10: "aaa first reason", n11: "aaa first reason" };
  const env = setup([filter("First", reject), filter("Second", second)], nodes);
  env.podInf.set(pod("p"));
  await until(() => env.client.conditions.has("ns/p"), "condition written");
  // Go's sort.Strings: "10 ..." sorts before "2 ...".
  const msg = "0/12 nodes are available: 10 zzz later reason, 2 aaa first reason.";
  assert.deepEqual(env.client.conditions.get("ns/p"), { reason: "Unschedulable", message: msg });
  const ev = env.recorder.events.find((e) => e.reason === "FailedScheduling")!;
  assert.equal(ev.type, "Warning");
  assert.equal(ev.action, "Scheduling");
  assert.equal(ev.note, msg);
  assert.equal(env.sched.queue.whereIs("uid-p"), "unschedulable");
  await env.stop();
});

test("a PreFilter rejection is the whole message; no nodes is a SchedulerError", async () => {
  const pre: PreFilterPlugin = { name: "Pre", preFilter: () => ({ status: status("UnschedulableAndUnresolvable", "pod asks for something", "and more") }) };
  const env = setup([pre, filter("F", {})], [node("a"), node("b")]);
  env.podInf.set(pod("p"));
  await until(() => env.client.conditions.has("ns/p"), "condition written");
  assert.equal(env.client.conditions.get("ns/p")!.message, "0/2 nodes are available: pod asks for something, and more.");
  await env.stop();

  const empty = setup([filter("F", {})], []);
  empty.podInf.set(pod("q"));
  await until(() => empty.client.conditions.has("ns/q"), "condition written");
  assert.deepEqual(empty.client.conditions.get("ns/q"), { reason: "SchedulerError", message: "no nodes available to schedule pods" });
  await empty.stop();
});

test("the highest weighted score wins; success writes a Scheduled event and the pod leaves the queue", async () => {
  const score: ScorePlugin = { name: "S", score: (_s, _p, ni) => ({ score: ni.node.metadata!.name === "b" ? 10 : 50 }) };
  const score2: ScorePlugin = { name: "T", score: (_s, _p, ni) => ({ score: ni.node.metadata!.name === "b" ? 30 : 0 }) };
  const env = setup([filter("F", { c: "no" }), score, score2], [node("a"), node("b"), node("c")], { scoreWeights: { T: 2 } });
  env.podInf.set(pod("p"));
  await until(() => env.client.binds.length === 1, "bound");
  assert.deepEqual(env.client.binds, [{ pod: "ns/p", node: "b" }]); // a: 50, b: 10 + 2*30 = 70
  await until(() => env.recorder.events.some((e) => e.reason === "Scheduled"), "event");
  const ev = env.recorder.events.find((e) => e.reason === "Scheduled")!;
  assert.deepEqual([ev.type, ev.action, ev.note], ["Normal", "Binding", "Successfully assigned ns/p to b"]);
  await until(() => env.sched.queue.whereIs("uid-p") === undefined, "dequeued");
  await env.stop();
});

test("a Permit rejection unreserves, reports 0/1 nodes and does not bind; a wait binds once allowed; a timeout rejects", async () => {
  const log: string[] = [];
  const reserve: ReservePlugin = {
    name: "R", reserve: (_s, p, n) => (log.push(`reserve ${p.pod.metadata!.name} ${n}`), SUCCESS),
    unreserve: (_s, p, n) => void log.push(`unreserve ${p.pod.metadata!.name} ${n}`),
  };
  let waiting: import("../../../framework/scheduling/index.ts").WaitingPods | undefined;
  const permit: PermitPlugin = {
    name: "Gate",
    permit: (_s, p, _n, w) => {
      waiting = w;
      const name = p.pod.metadata!.name!;
      if (name === "rejected") return { status: status("Unschedulable", "not now") };
      return { status: status("Wait"), timeoutMs: name === "slow" ? 50 : 60_000 };
    },
  };
  const env = setup([filter("F", {}), reserve, permit], [node("a")]);
  env.podInf.set(pod("rejected"));
  await until(() => env.client.conditions.has("ns/rejected"), "rejected reported");
  assert.equal(env.client.conditions.get("ns/rejected")!.message, "0/1 nodes are available: 1 not now.");
  assert.deepEqual(log, ["reserve rejected a", "unreserve rejected a"]);

  env.podInf.set(pod("waits"));
  await until(() => waiting?.uids().includes("uid-waits") === true, "waiting");
  assert.equal(env.client.binds.length, 0);
  waiting!.allow("uid-waits", "Gate");
  await until(() => env.client.binds.length === 1, "bound after allow");

  log.length = 0;
  env.podInf.set(pod("slow"));
  await until(() => env.client.conditions.has("ns/slow"), "timeout reported");
  assert.equal(env.client.conditions.get("ns/slow")!.message, "0/1 nodes are available: 1 rejected due to timeout after waiting 50ms at plugin Gate.");
  assert.deepEqual(log, ["reserve slow a", "unreserve slow a"]);
  await env.stop();
});

test("a failed bind unreserves, forgets the assumed pod and retries with backoff", async () => {
  const log: string[] = [];
  const reserve: ReservePlugin = { name: "R", reserve: () => (log.push("reserve"), SUCCESS), unreserve: () => void log.push("unreserve") };
  const env = setup([capacity({ a: 1 }), reserve], [node("a")]);
  let failures = 1;
  env.client.failBind = () => (failures-- > 0 ? new Error("etcd is sad") : undefined);
  env.podInf.set(pod("p"));
  await until(() => env.client.conditions.has("ns/p"), "failure reported");
  assert.equal(env.client.conditions.get("ns/p")!.reason, "SchedulerError");
  assert.match(env.client.conditions.get("ns/p")!.message, /etcd is sad/);
  // The assumed pod was forgotten: the node (capacity 1) takes the retry.
  await until(() => env.client.binds.length === 1, "bound on retry");
  assert.deepEqual(log, ["reserve", "unreserve", "reserve"]);
  await env.stop();
});

test("group cycle: all or nothing on one snapshot, nothing left reserved, bound together once room appears", async () => {
  const reserved = new Set<string>();
  const reserve: ReservePlugin = {
    name: "R", reserve: (_s, p) => (reserved.add(p.pod.metadata!.name!), SUCCESS), unreserve: (_s, p) => void reserved.delete(p.pod.metadata!.name!),
  };
  const results: PodGroupCycleResult[] = [];
  const groups: PodGroupPlugin = {
    name: "Gang",
    groupOf: (p) => (p.metadata?.labels?.["gang"] ? { key: `ns/${p.metadata.labels["gang"]}`, namespace: "ns", name: p.metadata.labels["gang"], minMember: 3 } : undefined),
    groupCycleDone: (r) => void results.push(r),
  };
  const cap = { a: 1, b: 1, c: 0 };
  const capPlugin: FilterPlugin & { eventsToRegister(): Array<{ event: { resource: string; action: "Update" } }> } = {
    name: "Capacity",
    filter: (_s, _p, ni) => (ni.pods.length < (cap[ni.node.metadata!.name! as "a"] ?? 0) ? SUCCESS : status("Unschedulable", "Too many pods")),
    eventsToRegister: () => [{ event: { resource: "Node", action: "Update" } }],
  };
  const env = setup([capPlugin, reserve, groups], [node("a"), node("b"), node("c")]);
  for (const n of ["g1", "g2", "g3"]) env.podInf.set(pod(n, { labels: { gang: "g" } }));
  await until(() => results.length >= 1 && env.client.conditions.size === 3, "group attempt reported");
  assert.equal(results[0]!.outcome, "Unschedulable");
  assert.equal(results[0]!.members.length, 3, "one cycle for the three members");
  assert.equal(env.client.binds.length, 0);
  assert.equal(reserved.size, 0, "every reservation was reverted");
  const messages = [...env.client.conditions.values()].map((c) => c.message).sort();
  assert.deepEqual(messages, [
    "0/3 nodes are available: 3 Too many pods.",
    POD_GROUP_UNSCHEDULABLE_MESSAGE,
    POD_GROUP_UNSCHEDULABLE_MESSAGE,
  ]);
  // Room for the third member: a node update moves the members back; the group binds at once.
  cap.c = 1;
  env.nodeInf.set({ ...node("c"), metadata: { ...node("c").metadata, labels: { more: "room" } } });
  await until(() => env.client.binds.length === 3, "group bound");
  assert.deepEqual(env.client.binds.map((b) => b.node).sort(), ["a", "b", "c"]);
  assert.equal(results.at(-1)!.outcome, "Scheduled");
  // A fourth member arrives once the group runs: scheduled alone (quorum already reached), if room exists.
  cap.a = 2;
  env.podInf.set(pod("g4", { labels: { gang: "g" } }));
  await until(() => env.client.binds.length === 4, "extra member bound");
  assert.equal(results.at(-1)!.scheduledBefore, 3);
  await env.stop();
});

test("a failed group does not block the queue behind it", async () => {
  const groups: PodGroupPlugin = {
    name: "Gang",
    groupOf: (p) => (p.metadata?.labels?.["gang"] ? { key: "ns/big", namespace: "ns", name: "big", minMember: 5 } : undefined),
  };
  const env = setup([capacity({ a: 10 }), groups], [node("a")]);
  for (const n of ["g1", "g2"]) env.podInf.set(pod(n, { labels: { gang: "big" }, priority: 10 }));
  env.podInf.set(pod("solo"));
  await until(() => env.client.binds.some((b) => b.pod === "ns/solo"), "solo pod bound");
  assert.ok(!env.client.binds.some((b) => b.pod.startsWith("ns/g")), "no member of the short gang bound");
  await env.stop();
});
