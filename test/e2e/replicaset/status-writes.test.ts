/**
 * Status writes per created pod on a 0 -> N scale-up (default N = 500, `KUBELOOP_STATUS_WRITES_N`),
 * counted by the API server itself (`apiserver_request_total` by group, resource, subresource,
 * verb and code): an apps/v1 ReplicaSet run by kube-controller-manager, then an
 * apps.kubeloop.dev ReplicaSet run by this operator, in the same cluster, one after the other.
 * Pods are scheduled by kube-scheduler (onto kwok nodes, two extra created here with room for
 * N + 50 pods each, as both sides' pods stay until the end) and
 * kwok turns them Running and Ready, so the status
 * moves through readyReplicas and availableReplicas as well.
 *
 * Asserts that no status PUT of ours repeats the previous content (a watch on our ReplicaSet sees a
 * status change for every successful PUT) and that a lagging cache costs no 409 Conflict; prints
 * the figures of both sides (`status-writes:` lines). kube-controller-manager writes few
 * statuses here because at its default client limit (qps 20) its one sync spends about 25 s
 * creating the pods, and writes when most are already Ready; ours writes progress at most once
 * per second and the goal at once (`statusWriteIntervalMs`; see the operator's README).
 * Needs a cluster with kube-controller-manager, kube-scheduler and kwok.
 */
import { test } from "node:test";
import { readFile } from "node:fs/promises";
import { request } from "node:https";
import { parse } from "yaml";
import { AppsReplicaSets, Nodes, Pods, type KubeObject, type ResourceType } from "../../../framework/meta/index.ts";
import { fakeNodeObject, waitFor } from "../../../framework/testing/index.ts";
import { isConflict } from "../../../framework/client/index.ts";
import { ReplicaSets } from "../../../operators/replicaset/api.ts";
import { assert, useOperatorSuite } from "./harness.ts";

const N = Number(process.env["KUBELOOP_STATUS_WRITES_N"] ?? 500);
const nodeNames = ["rs-status-writes-0", "rs-status-writes-1"];
const suite = useOperatorSuite({
  setup: async ({ client }) => {
    for (const name of nodeNames) {
      await client.create(Nodes, fakeNodeObject({ name, pods: N + 50 }) as never).catch((e: unknown) => {
        if (!(e instanceof Error && /already exists/.test(e.message))) throw e;
      });
    }
  },
  cleanup: async ({ client }) => {
    for (const name of nodeNames) await client.delete(Nodes, { name }).catch(() => {});
  },
});

/** `apiserver_request_total` samples of the API server, as `labels -> count`. */
async function apiServerRequests(): Promise<Map<string, number>> {
  const config = parse(await readFile(suite.kubeconfigPath, "utf8")) as {
    clusters: Array<{ cluster: { server: string; "certificate-authority-data": string } }>;
    users: Array<{ user: { token?: string } }>;
  };
  const url = new URL("/metrics", config.clusters[0]!.cluster.server);
  const ca = Buffer.from(config.clusters[0]!.cluster["certificate-authority-data"], "base64");
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(url, { ca, headers: { authorization: `Bearer ${config.users[0]!.user.token}` } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET /metrics: ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end();
  });
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    out.set(line.slice(0, line.lastIndexOf(" ")), Number(line.slice(line.lastIndexOf(" ") + 1)));
  }
  return out;
}

/** Requests to `group`'s replicasets with `verb` (and `subresource`), by code, between two samples. */
function delta(a: Map<string, number>, b: Map<string, number>, group: string, verb: string, subresource: string): { total: number; byCode: Record<string, number> } {
  const byCode: Record<string, number> = {};
  let total = 0;
  for (const [key, value] of b) {
    if (!key.includes(`group="${group}"`) || !key.includes(`resource="replicasets"`) || !key.includes(`verb="${verb}"`) || !key.includes(`subresource="${subresource}"`)) continue;
    const n = value - (a.get(key) ?? 0);
    if (n === 0) continue;
    const code = /code="(\d+)"/.exec(key)?.[1] ?? "?";
    byCode[code] = (byCode[code] ?? 0) + n;
    total += n;
  }
  return { total, byCode };
}

interface Measure {
  statusPuts: { total: number; byCode: Record<string, number> };
  gets: { total: number; byCode: Record<string, number> };
  /** Generation and status seen by a watch on the ReplicaSet, one entry per write. */
  statusesSeen: string[];
  seconds: number;
}

async function scaleUp(flavor: "apps/v1" | "kubeloop"): Promise<Measure> {
  const ns = await suite.namespace(`rs-writes-${flavor === "apps/v1" ? "builtin" : "ours"}`);
  if (flavor === "kubeloop") await suite.operator(ns);
  const type = (flavor === "apps/v1" ? AppsReplicaSets : ReplicaSets) as unknown as ResourceType<KubeObject>;
  const group = flavor === "apps/v1" ? "apps" : "apps.kubeloop.dev";
  const labels = { app: "writes" };
  await suite.client.create(type, {
    apiVersion: flavor === "apps/v1" ? "apps/v1" : ReplicaSets.apiVersion,
    kind: "ReplicaSet",
    metadata: { name: "writes", namespace: ns },
    spec: {
      replicas: 0,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [{ name: "c", image: "fake" }],
          tolerations: [{ operator: "Exists" }],
        },
      },
    },
  } as KubeObject);
  await waitFor(async () => {
    const rs = (await suite.client.get(type, { namespace: ns, name: "writes" })) as { metadata: { generation: number }; status?: { observedGeneration?: number } };
    return (rs.status?.observedGeneration ?? 0) >= rs.metadata.generation || undefined;
  }, { timeoutMs: 60_000, intervalMs: 200, description: `${flavor}: ReplicaSet observed` });

  // Watch the ReplicaSet: every successful write is one event; record the statuses in order.
  const statusesSeen: string[] = [];
  const watchAbort = new AbortController();
  const watching = (async () => {
    for await (const ev of suite.client.watch(type, { namespace: ns, fieldSelector: "metadata.name=writes", signal: watchAbort.signal })) {
      if (ev.type !== "MODIFIED" && ev.type !== "ADDED") continue;
      const obj = ev.object as { metadata?: { generation?: number }; status?: unknown };
      statusesSeen.push(`generation ${obj.metadata?.generation}: ${JSON.stringify(obj.status ?? {})}`);
    }
  })().catch(() => {});

  const before = await apiServerRequests();
  const started = performance.now();
  for (let attempt = 0; ; attempt++) {
    const rs = await suite.client.get(type, { namespace: ns, name: "writes" });
    (rs as { spec: { replicas: number } }).spec.replicas = N;
    try {
      await suite.client.update(type, rs);
      break;
    } catch (err) {
      if (!isConflict(err) || attempt > 10) throw err;
    }
  }
  await waitFor(async () => {
    const rs = (await suite.client.get(type, { namespace: ns, name: "writes" })) as { metadata: { generation: number }; status?: { readyReplicas?: number; availableReplicas?: number; replicas?: number; observedGeneration?: number } };
    const s = rs.status ?? {};
    return (s.replicas === N && s.readyReplicas === N && s.availableReplicas === N && (s.observedGeneration ?? 0) >= rs.metadata.generation) || undefined;
  }, { timeoutMs: 600_000, intervalMs: 500, description: `${flavor}: ${N} pods Ready in the status` });
  const seconds = (performance.now() - started) / 1000;
  // Let late writes land before the second sample.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const afterSample = await apiServerRequests();
  watchAbort.abort();
  await watching;
  const pods = (await suite.client.list(Pods, { namespace: ns })).items.length;
  assert.equal(pods, N, `${flavor}: ${pods} pods, want ${N}`);
  return {
    statusPuts: delta(before, afterSample, group, "PUT", "status"),
    gets: delta(before, afterSample, group, "GET", ""),
    statusesSeen,
    seconds,
  };
}

test(`status PUTs per created pod on a 0 -> ${N} scale-up, kubeloop beside kube-controller-manager`, { timeout: 1_500_000 }, async () => {
  const line = (name: string, m: Measure) =>
    `status-writes: ${name}: ${m.statusPuts.total} status PUTs (${JSON.stringify(m.statusPuts.byCode)}) = ${(m.statusPuts.total / N).toFixed(3)} per pod; ` +
    `${m.gets.total} GETs of the ReplicaSet, the test's polling included (${JSON.stringify(m.gets.byCode)}); ${m.statusesSeen.length} changes seen by a watch; all Ready in ${m.seconds.toFixed(1)} s`;
  const builtIn = await scaleUp("apps/v1");
  console.log(line("kube-controller-manager (apps/v1)", builtIn));
  const ours = await scaleUp("kubeloop");
  console.log(line("kubeloop (apps.kubeloop.dev)", ours));
  // Every write changed something: no status PUT of ours repeated the status it replaced.
  for (let i = 1; i < ours.statusesSeen.length; i++) {
    assert.notEqual(ours.statusesSeen[i], ours.statusesSeen[i - 1], `status write ${i} repeated the previous status: ${ours.statusesSeen[i]}`);
  }
  const oursOk = ours.statusPuts.byCode["200"] ?? 0;
  assert.ok(oursOk > 0, "the status was written");
  // Our PUTs go against the newest resourceVersion we know (our own last write while the cache
  // lags), so a stale cache costs no 409 + GET; the one spec update of the test may race once.
  const conflicts = ours.statusPuts.byCode["409"] ?? 0;
  assert.ok(conflicts <= 2, `${conflicts} status PUTs of ours were refused with 409 Conflict`);
});
