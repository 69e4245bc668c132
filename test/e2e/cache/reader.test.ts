/**
 * The cache-backed Reader over real informers answers what a LIST from the API server answers,
 * for the same namespace, label selector (string and metav1.LabelSelector forms) and field
 * selector (a registered index, metadata.name, metadata.namespace), before and after changes;
 * and hands out frozen objects. Needs a cluster: `KUBELOOP_CLUSTER_DIR` or `KUBECONFIG`.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { pino } from "pino";
import { createClient, KubeConfig, type KubeClient } from "../../../framework/client/index.ts";
import { InformerCache, type ListFilter } from "../../../framework/cache/index.ts";
import { labelSelectorAsSelector, Namespaces, Pods, type LabelSelector, type Pod } from "../../../framework/meta/index.ts";
import { testControlPlane, waitFor } from "../../../framework/testing/index.ts";

const suffix = randomBytes(3).toString("hex");
const nsA = `kubeloop-reader-a-${suffix}`;
const nsB = `kubeloop-reader-b-${suffix}`;
const ours = new Set([nsA, nsB]);
const silent = pino({ level: "silent" });
let client: KubeClient;
const stop = new AbortController();

/** A pod nobody schedules (its scheduler does not exist), so it stays as created. */
function pod(namespace: string, name: string, labels: Record<string, string>, schedulerName: string): Pod {
  return {
    apiVersion: "v1", kind: "Pod", metadata: { name, namespace, labels },
    spec: { schedulerName, containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }] },
  };
}

before(async () => {
  const plane = await testControlPlane();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(plane.kubeconfigPath);
  client = createClient({ kubeConfig });
  for (const name of ours) await client.create(Namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
  const apps = ["web", "db"];
  const tiers = ["front", "back", undefined];
  let i = 0;
  for (const ns of [nsA, nsB]) {
    for (const app of apps) {
      for (const tier of tiers) {
        i++;
        await client.create(Pods, pod(ns, `p-${i}`, { app, ...(tier ? { tier } : {}) }, i % 2 ? `none-1-${suffix}` : `none-2-${suffix}`));
      }
    }
  }
});

after(async () => {
  stop.abort();
  if (!client) return;
  for (const name of ours) await client.delete(Namespaces, { name }).catch(() => undefined);
  client.close();
});

interface Case {
  namespace?: string;
  labelSelector?: string | LabelSelector;
  fieldSelector?: string;
}

const cases: Case[] = [
  {},
  { namespace: nsA },
  { namespace: nsA, labelSelector: "app=web" },
  { labelSelector: "app in (web,db),tier notin (front)" },
  { labelSelector: "!tier" },
  { labelSelector: "tier,app!=db" },
  { labelSelector: { matchLabels: { app: "db" }, matchExpressions: [{ key: "tier", operator: "In", values: ["front", "back"] }] } },
  { labelSelector: { matchExpressions: [{ key: "tier", operator: "DoesNotExist" }] } },
  { fieldSelector: `spec.schedulerName=none-1-${suffix}` },
  { namespace: nsB, fieldSelector: `spec.schedulerName=none-2-${suffix}`, labelSelector: "app=db" },
  { fieldSelector: "metadata.name=p-3" },
  { fieldSelector: `metadata.namespace=${nsB}`, labelSelector: "tier=back" },
  { namespace: nsA, fieldSelector: `metadata.name=p-2,spec.schedulerName=none-2-${suffix}` },
];

function names(objs: ReadonlyArray<{ readonly metadata?: { readonly namespace?: string; readonly name?: string } }>): string[] {
  return objs.filter((o) => ours.has(o.metadata?.namespace ?? "")).map((o) => `${o.metadata?.namespace}/${o.metadata?.name}`).sort();
}

/** The API server's answer to the same question (the selector object sent in its string form). */
async function fromServer(c: Case): Promise<string[]> {
  const labelSelector = typeof c.labelSelector === "object" ? labelSelectorAsSelector(c.labelSelector).toString() : c.labelSelector;
  const list = await client.list(Pods, {
    ...(c.namespace ? { namespace: c.namespace } : {}), ...(labelSelector ? { labelSelector } : {}), ...(c.fieldSelector ? { fieldSelector: c.fieldSelector } : {}),
  });
  return names(list.items);
}

async function fromCache(cache: InformerCache, c: Case): Promise<string[]> {
  const filter: ListFilter = { ...(c.namespace ? { namespace: c.namespace } : {}), ...(c.labelSelector !== undefined ? { labelSelector: c.labelSelector } : {}), ...(c.fieldSelector ? { fieldSelector: c.fieldSelector } : {}) };
  return names(await cache.list(Pods, filter));
}

async function mismatches(cache: InformerCache): Promise<string[]> {
  const out: string[] = [];
  for (const c of cases) {
    const [server, cached] = await Promise.all([fromServer(c), fromCache(cache, c)]);
    if (JSON.stringify(server) !== JSON.stringify(cached)) out.push(`${JSON.stringify(c)}: API ${JSON.stringify(server)} vs cache ${JSON.stringify(cached)}`);
  }
  return out;
}

test("the reader answers what a LIST answers for the same selectors, before and after changes", { timeout: 120_000 }, async () => {
  const cache = new InformerCache(client, { logger: silent });
  cache.indexField(Pods, "spec.schedulerName", (p) => (p.spec?.schedulerName ? [p.spec.schedulerName] : []));
  cache.start(stop.signal);

  // The first read starts the Pod informer and waits for its sync.
  const p1 = await cache.get(Pods, { namespace: nsA, name: "p-1" });
  assert.equal(p1?.metadata?.labels?.["app"], "web");
  assert.equal(await cache.get(Pods, { namespace: nsA, name: "absent" }), undefined);
  assert.ok(Object.isFrozen(p1) && Object.isFrozen(p1?.spec?.containers?.[0]), "cached objects are frozen");
  assert.ok((await fromServer({})).length === 12);
  // Every case selects something and not everything (the comparison is not vacuous).
  for (const c of cases.slice(1)) {
    const n = (await fromServer(c)).length;
    assert.ok(n > 0 && n < 12, `${JSON.stringify(c)} selects ${n} of 12`);
  }
  assert.deepEqual(await mismatches(cache), []);

  // Changes: relabel, a new pod, a delete; the reader follows the watch.
  const p2 = await client.get(Pods, { namespace: nsA, name: "p-2" });
  await client.update(Pods, { ...p2, metadata: { ...p2.metadata, labels: { app: "db", tier: "front" } } });
  await client.create(Pods, pod(nsB, "p-new", { app: "web" }, `none-1-${suffix}`));
  await client.delete(Pods, { namespace: nsB, name: "p-9" }, { gracePeriodSeconds: 0 });
  const last = await waitFor(async () => {
    const m = await mismatches(cache);
    return m.length === 0 ? m : undefined;
  }, { timeoutMs: 30_000, description: "the reader to equal the API server after changes" }).catch(async () => mismatches(cache));
  assert.deepEqual(last, []);
  await assert.rejects(cache.list(Pods, { fieldSelector: "spec.nodeName=x" }), /cache\.indexField\(PodType, "spec\.nodeName"/);
});
