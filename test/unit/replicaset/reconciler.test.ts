import { test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { ApiError } from "../../../framework/client/index.ts";
import { isTerminalError, type ReconcileContext } from "../../../framework/controller/index.ts";
import { Pods, resourceType, type KubeObject } from "../../../framework/meta/index.ts";
import type { Client } from "../../../framework/client/index.ts";
import { FakeClient, type Verb } from "../../../framework/testing/index.ts";
import { ControllerExpectations } from "../../../operators/replicaset/expectations.ts";
import { ReplicaSetReconciler, type ReplicaSetReconcilerOptions } from "../../../operators/replicaset/reconciler.ts";
import { makePod, makeReplicaSet } from "./fixtures.ts";

type RS = ReturnType<typeof makeReplicaSet>;
const ReplicaSets = resourceType<RS>({ group: "apps.kubeloop.dev", version: "v1alpha1", kind: "ReplicaSet", plural: "replicasets", namespaced: true });
const req = { namespace: "ns", name: "rs" };

/**
 * The public fake: the in-memory API's stores double as the reconciler's caches, so the cache is
 * always current (the reconciler sees its own writes at once, without informer events).
 */
function fakeApi() {
  const client = new FakeClient();
  client.prependReactor({ verb: "list" }, () => new Error("the reconciler must not list from the API server"));
  let creates = 0;
  return {
    client,
    pods: client.api.objects(Pods),
    replicaSets: client.api.objects(ReplicaSets),
    count: (verb: Verb, kind = "Pod") => client.actionsOf(verb, kind).length,
    /** Fails the n-th pod create (1-based) with the error `fail(n)` returns. */
    failCreate(fail: ((n: number) => Error | undefined) | undefined): void {
      creates = 0;
      this.offCreate?.();
      this.offCreate = fail && client.prependReactor({ verb: "create", kind: "Pod" }, () => fail(++creates));
    },
    failDelete(fail: () => Error): void {
      client.prependReactor({ verb: "delete", kind: "Pod" }, fail);
    },
    offCreate: undefined as (() => void) | undefined,
  };
}

function setup(rs: RS = makeReplicaSet(), extra: Partial<ReplicaSetReconcilerOptions<RS>> = {}) {
  const api = fakeApi();
  api.replicaSets.add(rs);
  const events: Array<{ type: string; reason: string; note: string }> = [];
  const expectations = new ControllerExpectations();
  const reconciler = new ReplicaSetReconciler<RS>({
    replicaSetType: ReplicaSets,
    client: api.client,
    events: { event: async (_o: KubeObject, info) => { events.push({ type: info.type, reason: info.reason, note: info.note }); } },
    expectations,
    ...extra,
  });
  const ctx = {
    signal: new AbortController().signal, log: pino({ level: "silent" }), getCached: () => api.replicaSets.get("ns/rs") as RS,
    reader: api.client.api.reader(),
  } as ReconcileContext<RS>;
  const rsNow = () => api.replicaSets.get("ns/rs") as RS;
  return { api, events, expectations, reconciler, ctx, rsNow, run: () => reconciler.reconcile(req, ctx) };
}

test("scale up: creates the missing pods from the template, records events, writes status", async () => {
  const t = setup(makeReplicaSet({ replicas: 3 }));
  await t.run();
  assert.equal(t.api.pods.size(), 3);
  const pod = t.api.pods.list()[0]!;
  assert.equal(pod.metadata?.generateName, "rs-");
  assert.equal(pod.metadata?.ownerReferences?.[0]?.controller, true);
  assert.equal(t.events.filter((e) => e.reason === "SuccessfulCreate").length, 3);
  // The creates were expected; the fake cache got them without informer events, so the
  // expectations stay pending and the next reconcile does not create again.
  assert.deepEqual(t.expectations.pending("ns/rs"), { add: 3, del: 0 });
  assert.equal(t.rsNow().status.replicas, 0, "status counted the pods seen at the start of the reconcile");
  await t.run();
  assert.equal(t.api.pods.size(), 3);
  assert.equal(t.rsNow().status.replicas, 3, "status is written while waiting on expectations");
});

test("steady state: no write at all", async () => {
  const t = setup(makeReplicaSet({ replicas: 2 }));
  await t.run();
  for (let i = 0; i < 2; i++) t.expectations.creationObserved("ns/rs");
  await t.run();
  const before = t.api.client.actions.length;
  await t.run();
  assert.equal(t.api.client.actions.length, before);
});

test("slow start: the first failing batch stops creation, the rest is skipped and un-expected, FailedCreate is reported", async () => {
  const t = setup(makeReplicaSet({ replicas: 10 }));
  t.api.failCreate((n) => (n >= 4 ? new ApiError(403, { reason: "Forbidden", message: "exceeded quota" }, { verb: "create" }) : undefined));
  await assert.rejects(t.run(), /exceeded quota/);
  // Batches 1 and 2 succeed (3 pods), batch 3 (4 creates) fails: 7 attempts, 3 pods.
  assert.equal(t.api.count("create"), 7);
  assert.equal(t.api.pods.size(), 3);
  assert.deepEqual(t.expectations.pending("ns/rs"), { add: 3, del: 0 });
  assert.equal(t.events.filter((e) => e.reason === "FailedCreate").length, 4);
  const cond = t.rsNow().status.conditions as Array<{ type: string; reason: string; message: string }>;
  assert.equal(cond[0]?.type, "ReplicaFailure");
  assert.equal(cond[0]?.reason, "FailedCreate");
  // Once creation works again the condition goes away.
  t.api.failCreate(undefined);
  for (let i = 0; i < 3; i++) t.expectations.creationObserved("ns/rs");
  await t.run();
  assert.equal(t.api.pods.size(), 10);
  assert.equal(t.rsNow().status.conditions, undefined);
});

test("namespace terminating: the create counts as done, no error", async () => {
  const t = setup(makeReplicaSet({ replicas: 2 }));
  t.api.failCreate(() => new ApiError(403, { reason: "Forbidden", details: { causes: [{ reason: "NamespaceTerminating" }] } }, { verb: "create" }));
  await t.run();
  assert.equal(t.events.length, 0);
});

test("burst: at most burstReplicas per reconcile", async () => {
  const t = setup(makeReplicaSet({ replicas: 700 }));
  await t.run();
  assert.equal(t.api.pods.size(), 500);
});

test("scale down: deletes the best candidates, expects exactly them", async () => {
  const t = setup(makeReplicaSet({ replicas: 1 }));
  t.api.pods.add(makePod({ name: "running", node: "n1", ready: true, readySince: "2026-01-01T00:00:00Z", controllerUid: "rs-uid" }));
  t.api.pods.add(makePod({ name: "pending", phase: "Pending", controllerUid: "rs-uid" }));
  t.api.pods.add(makePod({ name: "notready", node: "n1", ready: false, controllerUid: "rs-uid" }));
  await t.run();
  assert.deepEqual(t.api.pods.list().map((p) => p.metadata?.name), ["running"]);
  assert.deepEqual(t.expectations.pending("ns/rs"), { add: 0, del: 2 });
  t.expectations.deletionObserved("ns/rs", "ns/pending");
  t.expectations.deletionObserved("ns/rs", "ns/notready");
  assert.equal(t.expectations.satisfied("ns/rs"), true);
  assert.equal(t.events.filter((e) => e.reason === "SuccessfulDelete").length, 2);
});

test("failed deletion: FailedDelete event and condition, expectation lowered, error returned", async () => {
  const t = setup(makeReplicaSet({ replicas: 0 }));
  t.api.pods.add(makePod({ name: "a", controllerUid: "rs-uid" }));
  t.api.failDelete(() => new ApiError(500, { reason: "InternalError", message: "etcd down" }, { verb: "delete" }));
  await assert.rejects(t.run(), /etcd down/);
  assert.equal(t.expectations.satisfied("ns/rs"), true);
  assert.equal(t.events[0]?.reason, "FailedDelete");
  assert.equal((t.rsNow().status.conditions as Array<{ reason: string }>)[0]?.reason, "FailedDelete");
});

test("adopts matching orphans before counting, releases non-matching owned pods, ignores others' pods", async () => {
  const t = setup(makeReplicaSet({ replicas: 2 }));
  t.api.pods.add(makePod({ name: "orphan" }));
  t.api.pods.add(makePod({ name: "stray", controllerUid: "rs-uid", labels: { app: "other" } }));
  t.api.pods.add(makePod({ name: "theirs", controllerUid: "someone-else" }));
  await t.run();
  const byName = new Map(t.api.pods.list().map((p) => [p.metadata?.name, p]));
  assert.equal(byName.get("orphan")?.metadata?.ownerReferences?.[0]?.uid, "rs-uid");
  assert.deepEqual(byName.get("stray")?.metadata?.ownerReferences, []);
  assert.equal(byName.get("theirs")?.metadata?.ownerReferences?.[0]?.uid, "someone-else");
  assert.equal(t.api.count("create"), 1, "one pod adopted, one created");
  assert.equal(t.api.count("get", "ReplicaSet"), 1, "one uncached GET before adopting");
});

test("a ReplicaSet being deleted neither adopts nor creates, but writes status", async () => {
  // A finalizer keeps it: the API server removes an object with a deletionTimestamp and no finalizers on its next write.
  const deleting = makeReplicaSet({ replicas: 3, deleting: true });
  const t = setup({ ...deleting, metadata: { ...deleting.metadata, finalizers: ["foregroundDeletion"] } } as RS);
  t.api.pods.add(makePod({ name: "orphan" }));
  t.api.pods.add(makePod({ name: "mine", controllerUid: "rs-uid" }));
  await t.run();
  assert.equal(t.api.count("create"), 0);
  assert.equal(t.api.count("patch"), 0);
  assert.equal(t.rsNow().status.replicas, 1);
});

test("inactive pods are not counted: failed and deleting pods are replaced, terminating ones reported", async () => {
  const t = setup(makeReplicaSet({ replicas: 2 }));
  t.api.pods.add(makePod({ name: "failed", phase: "Failed", controllerUid: "rs-uid" }));
  t.api.pods.add(makePod({ name: "deleting", deleting: true, controllerUid: "rs-uid" }));
  await t.run();
  assert.equal(t.api.count("create"), 2);
  assert.equal(t.api.count("delete"), 0, "inactive pods are left alone");
  assert.equal(t.rsNow().status.terminatingReplicas, 1);
});

test("invalid spec: ReplicaFailure InvalidSpec, one Warning event, terminal error, no pod touched", async () => {
  const rs = makeReplicaSet({ replicas: 2, templateLabels: { app: "other" } });
  const t = setup(rs);
  t.api.pods.add(makePod({ name: "orphan" }));
  await assert.rejects(t.run(), (err: unknown) => isTerminalError(err));
  assert.equal(t.api.count("create") + t.api.count("patch") + t.api.count("delete"), 0);
  const cond = (t.rsNow().status.conditions as Array<{ type: string; reason: string }>)[0];
  assert.equal(cond?.reason, "InvalidSpec");
  assert.equal(t.events.filter((e) => e.type === "Warning" && e.reason === "InvalidSpec").length, 1);
  await assert.rejects(t.run(), (err: unknown) => isTerminalError(err));
  assert.equal(t.events.length, 1, "no second event for the same problem");
  const empty = setup({ ...makeReplicaSet(), spec: { ...makeReplicaSet().spec, selector: {} } } as RS);
  await assert.rejects(empty.run(), (err: unknown) => isTerminalError(err));
  assert.equal(empty.api.count("create"), 0, "an empty selector never creates or adopts");
});

test("minReadySeconds: requeue when a Ready pod becomes available", async () => {
  const t = setup(makeReplicaSet({ replicas: 1, minReadySeconds: 30 }));
  t.api.pods.add(makePod({ name: "a", controllerUid: "rs-uid", ready: true, readySince: new Date(Date.now() - 10_000).toISOString() }));
  const result = await t.run();
  assert.ok(result && "requeueAfterMs" in result);
  assert.ok(result.requeueAfterMs > 19_000 && result.requeueAfterMs <= 21_500, `got ${result.requeueAfterMs}`);
});

test("a deleted ReplicaSet forgets its expectations", async () => {
  const t = setup();
  t.expectations.expectCreations("ns/rs", 5);
  t.api.replicaSets.remove("ns/rs");
  await t.run();
  assert.equal(t.expectations.pending("ns/rs"), undefined);
});

test("status write of a ReplicaSet deleted meanwhile is not an error", async () => {
  const t = setup(makeReplicaSet({ replicas: 1 }));
  t.api.client.prependReactor({ verb: "update", subresource: "status" }, () => new ApiError(404, { reason: "NotFound" }, { verb: "update" }));
  const r = new ReplicaSetReconciler<RS>({
    replicaSetType: ReplicaSets, client: t.api.client,
    events: { event: async () => {} }, expectations: new ControllerExpectations(),
  });
  t.api.pods.add(makePod({ name: "a", controllerUid: "rs-uid" }));
  assert.equal(await r.reconcile(req, t.ctx), undefined);
  assert.equal(t.api.count("create") + t.api.count("delete"), 0);
});

/** A ReplicaSet controlled by `ownerUid` (like a Deployment's), with its own selector `rs=<name>`. */
function sibling(name: string, ownerUid: string | undefined, replicas: number): RS {
  const rs = makeReplicaSet({ replicas });
  rs.metadata.name = name;
  rs.metadata.uid = `${name}-uid`;
  (rs.spec as { selector: unknown }).selector = { matchLabels: { rs: name } };
  (rs.spec.template as { metadata: { labels: Record<string, string> } }).metadata = { labels: { rs: name } };
  if (ownerUid) (rs.metadata as { ownerReferences?: unknown }).ownerReferences = [{ apiVersion: "apps/v1", kind: "Deployment", name: "d", uid: ownerUid, controller: true }];
  return rs;
}

/** A copy of a stored (frozen) object with another creationTimestamp, to store again. */
function createdAt<T extends KubeObject>(obj: T, creationTimestamp: string): T {
  const copy = structuredClone(obj) as T;
  copy.metadata = { ...copy.metadata, creationTimestamp };
  return copy;
}

/** `client` with some methods replaced (FakeClient's methods live on its prototype, so no spread). */
function overriding(client: Client, methods: Record<string, unknown>): Client {
  return new Proxy(client, {
    get: (target, key) => {
      if (typeof key === "string" && key in methods) return methods[key];
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function podOf(name: string, rsName: string, node: string, extra: { ready?: boolean } = {}) {
  const pod = makePod({ name, node, labels: { rs: rsName }, ready: extra.ready ?? true, readySince: "2026-01-01T00:00:00Z" });
  pod.metadata!.ownerReferences = [{ apiVersion: "apps.kubeloop.dev/v1alpha1", kind: "ReplicaSet", name: rsName, uid: `${rsName}-uid`, controller: true }];
  return pod;
}

test("scale-down ranking: related pods come from the ReplicaSets with the same controller, found by their selectors", async () => {
  // "new" keeps 1 of its 2 pods: n1 and n2 each hold one of its pods; the old ReplicaSet of the
  // same Deployment has 2 pods on n2 (and one orphan there matching its selector), so the pod on
  // n2 is the more doubled-up one and goes first, although it is the older.
  const t = setup(sibling("new", "deploy-uid", 1));
  t.api.replicaSets.add(sibling("old", "deploy-uid", 2));
  t.api.pods.add(podOf("new-a", "new", "n1"));
  t.api.pods.add(podOf("new-b", "new", "n2"));
  t.api.pods.add(podOf("old-a", "old", "n2"));
  t.api.pods.add(podOf("old-b", "old", "n1"));
  const orphan = makePod({ name: "orphan", node: "n2", labels: { rs: "old" } });
  t.api.pods.add(orphan);
  // Ties otherwise broken by creation time: make new-b the older, so only the rank can pick it.
  t.api.pods.add(createdAt(t.api.pods.get("ns/new-b")!, "2025-01-01T00:00:00Z"));
  await t.reconciler.reconcile({ namespace: "ns", name: "new" }, t.ctx);
  assert.deepEqual(t.api.client.actionsOf("delete", "Pod").map((c) => c.name), ["new-b"]);
});

test("scale-down ranking: a ReplicaSet without a controller has no related pods (all ranks 0)", async () => {
  // Same pods, no owner: the rank no longer counts, so the newer pod (new-a) goes.
  const t = setup(sibling("new", undefined, 1));
  t.api.replicaSets.add(sibling("old", undefined, 2));
  t.api.pods.add(podOf("new-a", "new", "n1"));
  t.api.pods.add(podOf("new-b", "new", "n2"));
  t.api.pods.add(podOf("old-a", "old", "n2"));
  t.api.pods.add(podOf("new-c", "new", "n2"));
  t.api.pods.add(createdAt(t.api.pods.get("ns/new-b")!, "2025-01-01T00:00:00Z"));
  t.api.pods.add(createdAt(t.api.pods.get("ns/new-c")!, "2025-01-01T00:00:00Z"));
  const scaled = structuredClone(t.api.replicaSets.get("ns/new")) as RS;
  scaled.spec.replicas = 2;
  t.api.replicaSets.add(scaled);
  await t.reconciler.reconcile({ namespace: "ns", name: "new" }, t.ctx);
  assert.deepEqual(t.api.client.actionsOf("delete", "Pod").map((c) => c.name), ["new-a"]);
});

test("status write: any error is retried once on a fresh GET; a failed GET is returned", async () => {
  for (const first of [new ApiError(500, { reason: "InternalError", message: "boom" }, { verb: "update" }), new ApiError(409, { reason: "Conflict" }, { verb: "update" }), new Error("socket hang up")]) {
    const t = setup(makeReplicaSet({ replicas: 1 }));
    t.api.pods.add(makePod({ name: "a", controllerUid: "rs-uid" }));
    let puts = 0;
    const flaky = overriding(t.api.client, { updateStatus: async (type: never, obj: never) => (++puts === 1 ? Promise.reject(first) : t.api.client.updateStatus(type, obj)) });
    const r = new ReplicaSetReconciler<RS>({
      replicaSetType: ReplicaSets, client: flaky,
      events: { event: async () => {} }, expectations: new ControllerExpectations(),
    });
    await r.reconcile(req, t.ctx);
    assert.equal(puts, 2, String(first));
    assert.equal(t.api.count("get", "ReplicaSet"), 1);
    assert.equal(t.rsNow().status.replicas, 1);
  }
  const t = setup(makeReplicaSet({ replicas: 1 }));
  t.api.pods.add(makePod({ name: "a", controllerUid: "rs-uid" }));
  const failing = overriding(t.api.client, {
    updateStatus: async () => { throw new ApiError(500, { reason: "InternalError", message: "boom" }, { verb: "update" }); },
    get: async () => { throw new ApiError(503, { reason: "ServiceUnavailable", message: "get failed" }, { verb: "get" }); },
  });
  const r = new ReplicaSetReconciler<RS>({
    replicaSetType: ReplicaSets, client: failing,
    events: { event: async () => {} }, expectations: new ControllerExpectations(),
  });
  await assert.rejects(r.reconcile(req, t.ctx), /get failed/);
});

test("status write: deferred while the cache lags behind our own write, then the newest status is written once", async () => {
  const t = setup(makeReplicaSet({ replicas: 2 }));
  // A cache whose ReplicaSet the test edits in place (the in-memory API assigns resourceVersions itself).
  const rs = structuredClone(t.api.replicaSets.get("ns/rs")) as RS;
  (rs.metadata as { resourceVersion?: string }).resourceVersion = "100";
  const cache = t.api.client.api.reader();
  const ctx: ReconcileContext<RS> = {
    ...t.ctx,
    reader: { get: async (type, key) => (type.kind === "ReplicaSet" ? rs : cache.get(type, key)) as never, list: (type, filter) => cache.list(type, filter) },
  };
  t.api.pods.add(makePod({ name: "a", controllerUid: "rs-uid" }));
  // The API server answers with a newer resourceVersion; the cache does not see the write.
  const puts: Array<{ rv: string | undefined; replicas: number }> = [];
  let rv = 100;
  const lagging = overriding(t.api.client, {
    updateStatus: async (_type: never, obj: RS & { metadata: { resourceVersion?: string } }) => {
      puts.push({ rv: obj.metadata.resourceVersion, replicas: (obj.status as { replicas: number }).replicas });
      rv = Math.max(rv, Number(obj.metadata.resourceVersion)) + 1;
      return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
    },
  });
  const expectations = new ControllerExpectations();
  const r = new ReplicaSetReconciler<RS>({
    replicaSetType: ReplicaSets, client: lagging,
    events: { event: async () => {} }, expectations,
  });
  expectations.expectCreations("ns/rs", 1); // hold creation back: only the status is the subject
  assert.equal(await r.reconcile(req, ctx), undefined);
  assert.deepEqual(puts, [{ rv: "100", replicas: 1 }]);
  // The cache still shows resourceVersion 100: the same status is not written again, nor a changed one.
  assert.deepEqual(await r.reconcile(req, ctx), { requeueAfterMs: 1000 });
  t.api.pods.add(makePod({ name: "b", controllerUid: "rs-uid" }));
  assert.deepEqual(await r.reconcile(req, ctx), { requeueAfterMs: 1000 });
  assert.equal(puts.length, 1, "nothing written while the cache lags our write");
  // Our write reaches the cache: the newest status is written, against the current resourceVersion.
  (rs.metadata as { resourceVersion?: string }).resourceVersion = "101";
  (rs as { status: unknown }).status = { replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 0, availableReplicas: 0, terminatingReplicas: 0, observedGeneration: 1, selector: "app=web" };
  assert.equal(await r.reconcile(req, ctx), undefined);
  assert.deepEqual(puts[1], { rv: "101", replicas: 2 });
  // Someone else wrote after us (the cache is newer than our write): the cache decides again.
  (rs.metadata as { resourceVersion?: string }).resourceVersion = "200";
  (rs as { status: unknown }).status = { replicas: 7 };
  await r.reconcile(req, ctx);
  assert.deepEqual(puts[2], { rv: "200", replicas: 2 });
  // A new generation is not covered by a write made for the old one.
  (rs.metadata as { generation: number }).generation = 2;
  await r.reconcile(req, ctx);
  assert.equal(puts.length, 4);
});

/**
 * A ReplicaSet of `replicas` with as many owned pods, none Ready yet, reconciled once (its first
 * status written); the status write interval runs on the injected monotonic clock `clock.nowMs`.
 */
async function withUnreadyPods(replicas: number, statusWriteIntervalMs?: number) {
  const clock = { nowMs: 0 };
  const t = setup(makeReplicaSet({ replicas }), {
    monotonicNowMs: () => clock.nowMs,
    ...(statusWriteIntervalMs !== undefined ? { statusWriteIntervalMs } : {}),
  });
  for (let i = 0; i < replicas; i++) t.api.pods.add(makePod({ name: `p${i}`, controllerUid: "rs-uid", ready: false }));
  await t.run();
  return { t, clock, ready: (i: number) => t.api.pods.add(makePod({ name: `p${i}`, controllerUid: "rs-uid", ready: true, readySince: "2026-01-01T00:00:00Z" })) };
}

/** 0 -> 100 pods turning Ready one by one, a reconcile after each (as pod events trigger them), 10 ms apart. */
async function readyOneByOne(statusWriteIntervalMs: number | undefined) {
  const { t, clock, ready } = await withUnreadyPods(100, statusWriteIntervalMs);
  const results = [];
  for (let i = 0; i < 100; i++) {
    clock.nowMs += 10;
    ready(i);
    results.push(await t.run());
  }
  return { t, puts: t.api.client.actionsOf("update", "ReplicaSet").filter((a) => a.subresource === "status").length, results };
}

test("status writes: progress while pods turn Ready is written at most once per interval; the goal at once", async () => {
  const upstream = await readyOneByOne(0);
  assert.equal(upstream.puts, 101, "interval 0: every change is written, as upstream (first sync + one per pod)");
  const ours = await readyOneByOne(undefined);
  // First sync (replicas reach 100: the goal), then 1 s of progress at 10 ms a pod: one write
  // when the interval has passed, and the last pod (ready reaches 100: the goal) at once.
  console.log(`status PUTs for 100 pods turning Ready: upstream-like ${upstream.puts}, ours ${ours.puts}`);
  assert.ok(ours.puts <= 4, `${ours.puts} status PUTs for 100 pods turning Ready within 1 s`);
  assert.equal(ours.t.rsNow().status.readyReplicas, 100, "the final status is written without waiting");
  assert.equal(ours.results.at(-1), undefined, "nothing held back at the end: no requeue");
  // A held-back status asks to be reconciled when the interval is over.
  const held = ours.results.find((r) => r !== undefined);
  assert.ok(held && "requeueAfterMs" in held && held.requeueAfterMs > 0 && held.requeueAfterMs <= 1000, `held back: ${JSON.stringify(held)}`);
});

test("status writes: a held-back status is written by the requeue once the interval has passed", async () => {
  const { t, clock, ready } = await withUnreadyPods(3);
  clock.nowMs = 100;
  ready(0);
  assert.deepEqual(await t.run(), { requeueAfterMs: 900 });
  assert.equal(t.rsNow().status.readyReplicas, 0, "progress (0 -> 1 of 3 Ready) held back");
  clock.nowMs = 1000;
  assert.equal(await t.run(), undefined);
  assert.equal(t.rsNow().status.readyReplicas, 1, "written when the interval is over");
});

test("status writes: news is never held back (new generation, a failure condition)", async () => {
  const { t, clock } = await withUnreadyPods(3);
  clock.nowMs = 10;
  const next = structuredClone(t.rsNow());
  next.metadata.generation = 2;
  next.spec.replicas = 4;
  t.api.replicaSets.add(next);
  t.api.failCreate(() => new ApiError(403, { reason: "Forbidden", message: "exceeded quota" }, { verb: "create" }));
  await assert.rejects(t.run(), /exceeded quota/);
  const status = t.rsNow().status as { observedGeneration?: number; conditions?: Array<{ reason: string }> };
  assert.equal(status.observedGeneration, 2, "a new generation is written at once");
  assert.equal(status.conditions?.[0]?.reason, "FailedCreate", "a failure condition is written at once");
});
