/**
 * kubeloop's scheduler on the real control plane, next to kube-scheduler: pods with
 * `schedulerName: kubeloop-scheduler` get bound (by the leader only, through `pods/binding`) with
 * a `Scheduled` Event; and, differentially, the same unschedulable pod spec given once to
 * kube-scheduler (default-scheduler) and once to ours ends with the same
 * `0/N nodes are available: ...` text, up to where kube-scheduler appends its DRA/preemption
 * suffix. Needs a cluster (`KUBELOOP_CLUSTER_DIR` or `KUBECONFIG`) with kwok.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import type { KubeClient, KubeConfig } from "../../../framework/client/index.ts";
import { Manager } from "../../../framework/manager/index.ts";
import { Events, Leases, Pods, type Pod } from "../../../framework/meta/index.ts";
import { addScheduler, DEFAULT_SCHEDULER_NAME } from "../../../framework/scheduling/index.ts";
import { defaultProfile } from "../../../framework/scheduling/plugins/index.ts";
import { createFakeNodes, createTestNamespace, deleteFakeNodes, deleteTestNamespace, testEnvironment, waitFor, type ControlPlane } from "../../../framework/testing/index.ts";

const log = pino({ level: "silent" });
let client: KubeClient;
let kubeConfig: KubeConfig;
let plane: ControlPlane;
let namespace: string;
let nodes: string[] = [];
const stop = new AbortController();
let running: Promise<void> | undefined;
let mgr: Manager;
let standby: Manager;
let standbyRunning: Promise<void> | undefined;

before(async () => {
  ({ client, kubeConfig, plane } = await testEnvironment());
  namespace = await createTestNamespace(client, "kubeloop-sched-e2e");
  nodes = await createFakeNodes(plane.kubeconfigPath, [
    { name: "sched-e2e-gpu-0", cpu: "8", gpus: 4, gpuProduct: "NVIDIA-A100-SXM4-80GB", labels: { "gpu-type": "nvidia-a100" } },
    { name: "sched-e2e-gpu-1", cpu: "8", gpus: 4, gpuProduct: "NVIDIA-H100-80GB-HBM3", taints: [{ key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" }] },
    { name: "sched-e2e-tainted", cpu: "8", taints: [{ key: "dedicated", value: "infra", effect: "NoSchedule" }] },
  ]);
  mgr = new Manager({
    kubeConfig, log, name: "kubeloop-scheduler", metricsBindAddress: "127.0.0.1:0", healthProbeBindAddress: "0",
    leaderElection: { id: "kubeloop-scheduler", namespace, leaseDurationSeconds: 6, renewDeadlineSeconds: 4, retryPeriodSeconds: 0.5 },
  });
  addScheduler(mgr, { profiles: [defaultProfile()], initialBackoffMs: 1000, maxBackoffMs: 10_000 });
  running = mgr.start(stop.signal);
  await waitFor(async () => mgr.isLeader(), { timeoutMs: 30_000, description: "the scheduler's manager leads" });
  // A second replica on the same Lease: it must not schedule while the first leads.
  standby = new Manager({
    kubeConfig, log, name: "kubeloop-scheduler-standby", metricsBindAddress: "127.0.0.1:0", healthProbeBindAddress: "0",
    leaderElection: { id: "kubeloop-scheduler", namespace, identity: "standby", leaseDurationSeconds: 6, renewDeadlineSeconds: 4, retryPeriodSeconds: 0.5 },
  });
  addScheduler(standby, { profiles: [defaultProfile()] });
  standbyRunning = standby.start(stop.signal);
  await waitFor(async () => standby.metricsAddress(), { timeoutMs: 10_000, description: "the standby serves metrics" });
});

after(async () => {
  stop.abort();
  await running?.catch(() => {});
  await standbyRunning?.catch(() => {});
  if (!client) return;
  if (namespace) await deleteTestNamespace(client, namespace);
  if (nodes.length > 0) await deleteFakeNodes(plane.kubeconfigPath, nodes).catch(() => {});
  client.close();
});

function podSpec(name: string, schedulerName: string, extra: Partial<NonNullable<Pod["spec"]>> = {}, requests: Record<string, string> = {}): Pod {
  const resources = Object.keys(requests).length > 0 ? { requests, limits: { ...requests } } : {};
  return {
    apiVersion: "v1", kind: "Pod",
    metadata: { name, namespace },
    spec: { schedulerName, terminationGracePeriodSeconds: 0, containers: [{ name: "c", image: "registry.k8s.io/pause:3.10", resources }], ...extra },
  };
}

async function unschedulableMessage(name: string): Promise<string> {
  return waitFor(async () => {
    const p = await client.get(Pods, { namespace, name });
    const c = p.status?.conditions?.find((x) => x.type === "PodScheduled" && x.status === "False" && x.reason === "Unschedulable");
    return c?.message;
  }, { timeoutMs: 30_000, description: `PodScheduled=False/Unschedulable on ${namespace}/${name}` });
}

test("pods for kubeloop-scheduler are bound by the leader, with a Scheduled event; the Lease names it", async () => {
  const names = ["bound-0", "bound-1", "bound-2"];
  for (const n of names) await client.create(Pods, podSpec(n, DEFAULT_SCHEDULER_NAME, {}, { cpu: "100m" }));
  // A GPU pod with the seed's node affinity lands on the A100 node.
  await client.create(Pods, podSpec("a100", DEFAULT_SCHEDULER_NAME, {
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "gpu-type", operator: "In", values: ["nvidia-a100"] }] }] } } },
  }, { "nvidia.com/gpu": "1" }));
  for (const n of [...names, "a100"]) {
    const nodeName = await waitFor(async () => (await client.get(Pods, { namespace, name: n })).spec?.nodeName || undefined, { timeoutMs: 30_000, description: `${n} bound` });
    if (n === "a100") assert.equal(nodeName, "sched-e2e-gpu-0");
    else assert.notEqual(nodeName, "sched-e2e-tainted", "the taint is respected");
  }
  const ev = await waitFor(async () => (await client.list(Events, { namespace })).items.find((e) => e.reason === "Scheduled" && e.regarding?.name === "a100"), {
    timeoutMs: 15_000, description: "Scheduled event of a100",
  });
  assert.equal(ev.note, `Successfully assigned ${namespace}/a100 to sched-e2e-gpu-0`);
  assert.equal(ev.action, "Binding");
  assert.equal(ev.type, "Normal");
  assert.equal(ev.reportingController, DEFAULT_SCHEDULER_NAME);
  const lease = await client.get(Leases, { namespace, name: "kubeloop-scheduler" });
  assert.equal(lease.spec?.holderIdentity, mgr.leaderIdentity);
  const metrics = await (await fetch(`http://${mgr.metricsAddress()}/metrics`)).text();
  assert.match(metrics, /scheduler_schedule_attempts_total\{result="scheduled",profile="kubeloop-scheduler"\} [4-9]/);
  assert.match(metrics, /scheduler_pending_pods\{queue="active"\} 0/);
  assert.ok(!standby.isLeader());
  const standbyMetrics = await (await fetch(`http://${standby.metricsAddress()}/metrics`)).text();
  assert.doesNotMatch(standbyMetrics, /scheduler_schedule_attempts_total\{/, "the standby attempted nothing");
});

test("differential: the same unschedulable pods get kube-scheduler's 0/N nodes are available message", async () => {
  const cases: Array<{ name: string; expect: RegExp; extra?: Partial<NonNullable<Pod["spec"]>>; requests?: Record<string, string> }> = [
    { name: "gpus", expect: /\d+ Insufficient nvidia\.com\/gpu/, requests: { "nvidia.com/gpu": "64" } },
    { name: "cpu", expect: /\d+ Insufficient cpu/, requests: { cpu: "500" } },
    { name: "selector", expect: /\d+ node\(s\) didn't match Pod's node affinity\/selector/, extra: { nodeSelector: { "no-such-label": "x" } } },
    // TaintToleration runs before NodeAffinity: the tainted node reports its taint, the others the selector.
    { name: "taint", expect: /2 node\(s\) had untolerated taint\(s\), \d+ node\(s\) didn't match/, extra: { nodeSelector: { "kubernetes.io/hostname": "sched-e2e-tainted" } } },
    // Several reasons per node: Insufficient cpu and memory are both counted.
    { name: "both", expect: /Insufficient cpu, \d+ Insufficient memory/, requests: { cpu: "500", memory: "100Ti" } },
    { name: "gpu-tolerated", expect: /1 node\(s\) had untolerated taint\(s\), \d+ Insufficient nvidia\.com\/gpu/, requests: { "nvidia.com/gpu": "8" }, extra: { tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }] } },
  ];
  for (const c of cases) {
    await client.create(Pods, podSpec(`theirs-${c.name}`, "default-scheduler", c.extra, c.requests));
    await client.create(Pods, podSpec(`ours-${c.name}`, DEFAULT_SCHEDULER_NAME, c.extra, c.requests));
  }
  for (const c of cases) {
    const [theirs, ours] = await Promise.all([unschedulableMessage(`theirs-${c.name}`), unschedulableMessage(`ours-${c.name}`)]);
    assert.match(ours, /^0\/\d+ nodes are available: .+\.$/, c.name);
    assert.match(ours, c.expect, `${c.name}: ${ours}`);
    assert.equal(theirs.slice(0, ours.length), ours, `${c.name}: kube-scheduler said ${JSON.stringify(theirs)}`);
    const rest = theirs.slice(ours.length);
    assert.ok(rest === "" || /^ (no new claims to deallocate|preemption:|still not schedulable)/.test(rest), `${c.name}: unexpected suffix ${JSON.stringify(rest)}`);
  }
  // And a FailedScheduling event with the same note.
  const ev = await waitFor(async () => (await client.list(Events, { namespace })).items.find((e) => e.reason === "FailedScheduling" && e.regarding?.name === "ours-gpus"), {
    timeoutMs: 15_000, description: "FailedScheduling event of ours-gpus",
  });
  assert.equal(ev.type, "Warning");
  assert.equal(ev.action, "Scheduling");
  assert.equal(ev.note, await unschedulableMessage("ours-gpus"));
});

test("an unschedulable pod is scheduled once a node that fits appears (Node/Add moves it)", async () => {
  await client.create(Pods, podSpec("waits-for-node", DEFAULT_SCHEDULER_NAME, { nodeSelector: { "sched-e2e": "late" } }));
  await unschedulableMessage("waits-for-node");
  const late = await createFakeNodes(plane.kubeconfigPath, [{ name: "sched-e2e-late", cpu: "4", labels: { "sched-e2e": "late" } }]);
  nodes.push(...late);
  const nodeName = await waitFor(async () => (await client.get(Pods, { namespace, name: "waits-for-node" })).spec?.nodeName || undefined, {
    timeoutMs: 30_000, description: "waits-for-node bound",
  });
  assert.equal(nodeName, "sched-e2e-late");
});
