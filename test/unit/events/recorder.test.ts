import { test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import type { Client } from "../../../framework/client/types.ts";
import { rootLogger } from "../../../framework/log/index.ts";
import type { KubeObject } from "../../../framework/meta/index.ts";
import { FakeClock } from "../queue/fake-clock.ts";
import { newEventRecorder } from "../../../framework/events/index.ts";
import { Events } from "../../../framework/meta/index.ts";
import { FakeClient, apiError, type Action } from "../../../framework/testing/index.ts";

const log = rootLogger.child({}, { level: "silent" });
const rs: KubeObject = { apiVersion: "apps.kubeloop.dev/v1alpha1", kind: "ReplicaSet", metadata: { name: "web", namespace: "prod", uid: "u1", resourceVersion: "7" } };

/** Lets the recorder's writer run (the fake client answers in microtasks). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}

type EventBody = { metadata: { name: string; namespace: string }; note: string; reason: string; related?: object; series?: { count: number; lastObservedTime: string } };
const seriesCount = (p: Action) => (p.patch as { body: { series: { count: number } } }).body.series.count;
/** The Events the recorder created (the bodies it sent), and its series PATCHes, that succeeded. */
const created = (fake: FakeClient) => fake.succeeded("create", "Event").map((a) => ({ type: a.type, obj: a.object! }));
const patched = (fake: FakeClient) => fake.succeeded("patch", "Event");

test("writes an events.k8s.io/v1 Event about the object", async () => {
  const fake = new FakeClient();
  const rec = newEventRecorder(fake, { reportingController: "kubeloop.dev/replicaset", reportingInstance: "replicaset-0", log, now: () => Date.UTC(2026, 0, 2, 3, 4, 5, 678) });
  const pod: KubeObject = { apiVersion: "v1", kind: "Pod", metadata: { name: "web-abc", namespace: "prod", uid: "p1" } };
  await rec.event(rs, { type: "Normal", reason: "SuccessfulCreate", note: "Created pod: web-abc", action: "Create", related: pod });
  assert.equal(created(fake).length, 1);
  const ev = created(fake)[0]!.obj as Record<string, unknown> & { metadata: { name: string; namespace: string } };
  assert.equal(created(fake)[0]!.type.group, "events.k8s.io");
  assert.equal(ev.metadata.namespace, "prod");
  assert.match(ev.metadata.name, /^web\.[0-9a-f]+$/);
  assert.equal(ev.eventTime, "2026-01-02T03:04:05.678000Z");
  assert.deepEqual(ev.regarding, { apiVersion: "apps.kubeloop.dev/v1alpha1", kind: "ReplicaSet", namespace: "prod", name: "web", uid: "u1", resourceVersion: "7" });
  assert.deepEqual(ev.related, { apiVersion: "v1", kind: "Pod", namespace: "prod", name: "web-abc", uid: "p1" });
  assert.equal(ev.reportingController, "kubeloop.dev/replicaset");
  assert.equal(ev.reportingInstance, "replicaset-0");
  assert.equal(ev.type, "Normal");
  assert.equal(ev.reason, "SuccessfulCreate");
  assert.equal(ev.action, "Create");
  assert.equal(ev.note, "Created pod: web-abc");
  assert.equal(ev.series, undefined);
});

test("identical repeats become one Event with a series: the 2nd is written at once, later ones at most once per flush interval", async () => {
  const fake = new FakeClient();
  const clock = new FakeClock(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
  const rec = newEventRecorder(fake, { reportingController: "c", log, clock });
  await rec.warning(rs, "FailedCreate", "quota exceeded");
  assert.equal(created(fake).length, 1);
  const name = (created(fake)[0]!.obj as EventBody).metadata.name;
  clock.advance(1000);
  await rec.warning(rs, "FailedCreate", "quota exceeded");
  assert.equal(patched(fake).length, 1, "the occurrence that starts the series is written at once");
  assert.deepEqual([patched(fake)[0]!.namespace, patched(fake)[0]!.name], ["prod", name]);
  assert.equal(patched(fake)[0]!.patch?.type, "merge");
  assert.equal(seriesCount(patched(fake)[0]!), 2);

  let resolved = 0;
  for (let i = 0; i < 3; i++) {
    clock.advance(1000);
    void rec.warning(rs, "FailedCreate", "quota exceeded").then(() => resolved++);
  }
  await settle();
  assert.equal(patched(fake).length, 1, "later repeats are buffered");
  assert.equal(resolved, 3, "buffered occurrences resolve at once: a caller never waits for the flush interval");
  clock.advance(30_000);
  await settle();
  assert.equal(patched(fake).length, 2, "one PATCH for three occurrences");
  assert.equal(seriesCount(patched(fake)[1]!), 5);

  clock.advance(1000);
  const sixth = rec.warning(rs, "FailedCreate", "quota exceeded");
  await settle();
  assert.equal(patched(fake).length, 2, "throttled: the last series write was 1 s ago");
  await sixth;
  assert.equal(patched(fake).length, 2, "the buffered sixth resolved without a write");
  await rec.flush();
  assert.equal(patched(fake).length, 3, "flush() writes buffered counts at once");
  assert.equal(seriesCount(patched(fake)[2]!), 6);
  await rec.flush();
  assert.equal(patched(fake).length, 3, "nothing buffered, nothing written");

  await rec.warning(rs, "FailedCreate", "another note");
  assert.equal(created(fake).length, 2, "another note: another Event");
  clock.advance(11 * 60_000);
  await rec.warning(rs, "FailedCreate", "quota exceeded");
  assert.equal(created(fake).length, 3, "outside the series window: a fresh Event");
});

test("repeats that arrive before the Event is written are folded into its create", async () => {
  const fake = new FakeClient();
  const rec = newEventRecorder(fake, { reportingController: "c", log, clock: new FakeClock(Date.UTC(2026, 0, 2, 3, 4, 5, 678)) });
  await Promise.all([rec.normal(rs, "Scaled", "to 3"), rec.normal(rs, "Scaled", "to 3"), rec.normal(rs, "Scaled", "to 3")]);
  assert.equal(created(fake).length, 1);
  assert.equal((created(fake)[0]!.obj as EventBody).series?.count, 3);
  assert.equal(patched(fake).length, 0);
});

function createPods(rec: ReturnType<typeof newEventRecorder>, n: number): Promise<void>[] {
  const out: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const pod: KubeObject = { apiVersion: "v1", kind: "Pod", metadata: { name: `web-${i}`, namespace: "prod", uid: `p${i}` } };
    out.push(rec.event(rs, { type: "Normal", reason: "SuccessfulCreate", note: `Created pod: web-${i}`, action: "Create", related: pod }));
  }
  return out;
}

test("1000 creations of distinct pods about one ReplicaSet: 10 Events at most, the rest dropped by the spam filter", async () => {
  const fake = new FakeClient();
  const registry = new Registry();
  const rec = newEventRecorder(fake, { reportingController: "c", log, clock: new FakeClock(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), registry });
  await Promise.all(createPods(rec, 1000));
  await rec.flush();
  const writes = created(fake).length + patched(fake).length;
  assert.ok(writes <= 12, `at most 10 distinct + 1 combined + series writes (got ${writes})`);
  assert.equal(created(fake).length, 10, "9 individual Events, then the combined one");
  const combined = created(fake).at(-1)!.obj as EventBody;
  assert.equal(combined.note, "(combined from similar events): Created pod: web-9");
  assert.equal(combined.related, undefined, "related is immutable in events.k8s.io/v1: the combined Event has none");
  const total = patched(fake).length > 0 ? seriesCount(patched(fake).at(-1)!) : combined.series?.count;
  assert.equal(total, 25 - 9, "the spam filter let 25 events of the object through");
  const metrics = await registry.metrics();
  assert.match(metrics, /kubeloop_events_dropped_total\{reason="spam"\} 975/);
});

test("without the spam filter, similar events are combined into one Event whose series grows", async () => {
  const fake = new FakeClient();
  const clock = new FakeClock(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
  const rec = newEventRecorder(fake, { reportingController: "c", log, clock, spamBurst: 1_000_000 });
  // Spread over time, as a reconciler creating pods one by one would.
  const pending: Promise<void>[] = [];
  for (let i = 0; i < 1000; i++) {
    const pod: KubeObject = { apiVersion: "v1", kind: "Pod", metadata: { name: `web-${i}`, namespace: "prod" } };
    pending.push(rec.normal({ ...rs }, "SuccessfulCreate", `Created pod: ${pod.metadata!.name}`, "Create"));
    clock.advance(100); // 1000 events over 100 s
    await settle();
  }
  await rec.flush();
  await Promise.all(pending);
  assert.equal(created(fake).length, 10);
  assert.match((created(fake).at(-1)!.obj as EventBody).note, /^\(combined from similar events\): /);
  assert.ok(patched(fake).length <= 5, `series PATCHes at most once per 30 s over 100 s, plus the first and the flush (got ${patched(fake).length})`);
  assert.equal(seriesCount(patched(fake).at(-1)!), 1000 - 9);
});

test("the spam filter refills one event per 300 s per object, up to the burst of 25", async () => {
  const fake = new FakeClient();
  const clock = new FakeClock(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
  const rec = newEventRecorder(fake, { reportingController: "c", log, clock });
  const burst = async (n: number, from: number) => {
    await Promise.all(Array.from({ length: n }, (_, i) => rec.normal(rs, `Reason${from + i}`, "n")));
  };
  await burst(30, 0);
  assert.equal(created(fake).length, 25);
  await burst(5, 100);
  assert.equal(created(fake).length, 25, "no token left");
  clock.advance(300_000);
  await burst(5, 200);
  assert.equal(created(fake).length, 26, "one token after 300 s");
  clock.advance(100 * 300_000);
  await burst(30, 300);
  assert.equal(created(fake).length, 51, "refilled to the burst, not beyond");
  const other: KubeObject = { ...rs, metadata: { ...rs.metadata, name: "other", uid: "u2" } };
  await rec.normal(other, "Reason0", "n");
  assert.equal(created(fake).length, 52, "another object has its own budget");
});

test("a full queue drops events without throwing or blocking the caller", async () => {
  const fake = new FakeClient();
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  fake.prependReactor({ verb: "create" }, async () => { await gate; });
  const client: Client = fake;
  const registry = new Registry();
  const rec = newEventRecorder(client, { reportingController: "c", log, clock: new FakeClock(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), queueSize: 2, registry });
  let resolved = 0;
  const first = rec.normal(rs, "Reason0", "n").then(() => resolved++);
  await settle(); // the writer took it and waits on the API server
  const all = [first, ...Array.from({ length: 5 }, (_, i) => rec.normal(rs, `Reason${i + 1}`, "n").then(() => resolved++))];
  await settle();
  assert.equal(resolved, 3, "one being written, two queued, three dropped at once");
  release();
  await Promise.all(all);
  assert.equal(created(fake).length, 3);
  assert.match(await registry.metrics(), /kubeloop_events_dropped_total\{reason="queue_full"\} 3/);
});

test("failures are logged, never thrown; a series whose Event vanished starts a new Event", async () => {
  const fake = new FakeClient();
  const clock = new FakeClock(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
  const rec = newEventRecorder(fake, { reportingController: "c", log, clock });
  const forbid = fake.prependReactor({ verb: "create" }, () => apiError(403, "Forbidden", "forbidden"));
  await rec.normal(rs, "X", "y"); // resolves despite the failure
  assert.equal(created(fake).length, 0);
  forbid();
  await rec.normal(rs, "X", "y");
  assert.equal(created(fake).length, 1, "a failed create is forgotten: the next occurrence creates");
  const first = created(fake)[0]!.obj as EventBody;
  assert.equal(fake.api.objects(Events).remove(`${first.metadata.namespace}/${first.metadata.name}`), true, "the Event vanishes (expired, deleted)");
  await rec.normal(rs, "X", "y");
  assert.equal(fake.actionsOf("patch").length, 1);
  assert.equal((fake.actionsOf("patch")[0]!.error as { statusCode?: number }).statusCode, 404, "the series patch found no Event");
  assert.equal(created(fake).length, 2, "recreated after 404 on the series patch");
  assert.equal((created(fake)[1]!.obj as EventBody).series?.count, 2);
  const broken = fake.prependReactor({ verb: "patch" }, () => apiError(500, "InternalError"));
  clock.advance(60_000);
  await rec.normal(rs, "X", "y");
  assert.equal(created(fake).length, 2);
  assert.equal(patched(fake).length, 0);
  broken();
  clock.advance(60_000);
  await rec.normal(rs, "X", "y");
  assert.equal(seriesCount(patched(fake)[0]!), 4, "counts are cumulative: the next write carries the failed one");
  // Long notes are cut to 1 kB.
  await rec.normal(rs, "Long", "n".repeat(5000));
  assert.ok(((created(fake).at(-1)!.obj as { note: string }).note).length <= 1024);
});

test("an object without apiVersion/kind gets them from regardingKind", async () => {
  const fake = new FakeClient();
  const rec = newEventRecorder(fake, { reportingController: "c", log });
  await rec.event({ metadata: { name: "n1" } }, { type: "Normal", reason: "R", note: "n", regardingKind: { group: "", version: "v1", kind: "Node" } });
  const ev = created(fake)[0]!.obj as { regarding: object; metadata: { namespace: string } };
  assert.deepEqual(ev.regarding, { apiVersion: "v1", kind: "Node", name: "n1" });
  assert.equal(ev.metadata.namespace, "default", "cluster-scoped objects: events in default");
});

test("nonsense input from untyped callers and a throwing client never throw nor reject", async () => {
  const fake = new FakeClient();
  const rec = newEventRecorder(fake, { reportingController: "c", log });
  await rec.event(null as unknown as KubeObject, { type: "Normal", reason: "R", note: "n" });
  await rec.event(rs, { type: "Normal", reason: undefined as unknown as string, note: "n" });
  assert.equal(created(fake).length, 0);
  const throwing = new FakeClient();
  throwing.create = (() => { throw new Error("sync boom"); }) as Client["create"];
  const rec2 = newEventRecorder(throwing, { reportingController: "c", log });
  await rec2.normal(rs, "R", "n");
  await rec2.flush();
});
