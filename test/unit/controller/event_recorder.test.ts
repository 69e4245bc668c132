import { test } from "node:test";
import assert from "node:assert/strict";
import { rootLogger } from "../../../framework/log/index.ts";
import type { KubeObject } from "../../../framework/meta/index.ts";
import { newEventRecorder } from "../../../framework/controller/index.ts";
import { FakeClient, apiError } from "./fake_client.ts";

const log = rootLogger.child({}, { level: "silent" });
const rs: KubeObject = { apiVersion: "apps.kubeloop.dev/v1alpha1", kind: "ReplicaSet", metadata: { name: "web", namespace: "prod", uid: "u1", resourceVersion: "7" } };

test("writes an events.k8s.io/v1 Event about the object", async () => {
  const fake = new FakeClient();
  const rec = newEventRecorder(fake.asClient(), { reportingController: "kubeloop.dev/replicaset", reportingInstance: "replicaset-0", log, now: () => Date.UTC(2026, 0, 2, 3, 4, 5, 678) });
  await rec.normal(rs, "SuccessfulCreate", "Created pod: web-abc", "Create");
  assert.equal(fake.created.length, 1);
  const ev = fake.created[0]!.obj as Record<string, unknown> & { metadata: { name: string; namespace: string } };
  assert.equal(fake.created[0]!.type.group, "events.k8s.io");
  assert.equal(ev.metadata.namespace, "prod");
  assert.match(ev.metadata.name, /^web\.[0-9a-f]+$/);
  assert.equal(ev.eventTime, "2026-01-02T03:04:05.678000Z");
  assert.deepEqual(ev.regarding, { apiVersion: "apps.kubeloop.dev/v1alpha1", kind: "ReplicaSet", namespace: "prod", name: "web", uid: "u1", resourceVersion: "7" });
  assert.equal(ev.reportingController, "kubeloop.dev/replicaset");
  assert.equal(ev.reportingInstance, "replicaset-0");
  assert.equal(ev.type, "Normal");
  assert.equal(ev.reason, "SuccessfulCreate");
  assert.equal(ev.action, "Create");
  assert.equal(ev.note, "Created pod: web-abc");
});

test("a repeat within 10 minutes patches series.count; after the window or with another note, a new Event", async () => {
  const fake = new FakeClient();
  let t = 1_000_000;
  const rec = newEventRecorder(fake.asClient(), { reportingController: "c", log, now: () => t });
  await rec.warning(rs, "FailedCreate", "quota exceeded");
  t += 60_000;
  await rec.warning(rs, "FailedCreate", "quota exceeded");
  t += 60_000;
  await rec.warning(rs, "FailedCreate", "quota exceeded");
  assert.equal(fake.created.length, 1);
  assert.equal(fake.patched.length, 2);
  const last = fake.patched[1]!;
  assert.deepEqual(last.key, { namespace: "prod", name: (fake.created[0]!.obj.metadata!.name) });
  assert.equal(last.patch.type, "merge");
  assert.deepEqual((last.patch as { body: { series: { count: number } } }).body.series.count, 3);
  await rec.warning(rs, "FailedCreate", "another note");
  assert.equal(fake.created.length, 2);
  t += 11 * 60_000;
  await rec.warning(rs, "FailedCreate", "quota exceeded");
  assert.equal(fake.created.length, 3, "outside the window: a fresh Event");
});

test("concurrent repeats are ordered: one create, then patches", async () => {
  const fake = new FakeClient();
  const rec = newEventRecorder(fake.asClient(), { reportingController: "c", log });
  await Promise.all([rec.normal(rs, "Scaled", "to 3"), rec.normal(rs, "Scaled", "to 3"), rec.normal(rs, "Scaled", "to 3")]);
  assert.equal(fake.created.length, 1);
  assert.equal(fake.patched.length, 2);
});

test("failures are logged, never thrown; a series whose Event vanished starts a new Event", async () => {
  const fake = new FakeClient();
  const rec = newEventRecorder(fake.asClient(), { reportingController: "c", log });
  fake.failCreate = () => apiError(403, "forbidden");
  await rec.normal(rs, "X", "y"); // resolves despite the failure
  assert.equal(fake.created.length, 0);
  fake.failCreate = undefined;
  await rec.normal(rs, "X", "y");
  assert.equal(fake.created.length, 1);
  fake.failPatch = () => apiError(404);
  await rec.normal(rs, "X", "y");
  assert.equal(fake.created.length, 2, "recreated after 404 on the series patch");
  fake.failPatch = () => apiError(500);
  await rec.normal(rs, "X", "y");
  assert.equal(fake.created.length, 2);
  assert.equal(fake.patched.length, 0);
  // Long notes are cut to 1 kB.
  await rec.normal(rs, "Long", "n".repeat(5000));
  assert.ok(((fake.created.at(-1)!.obj as { note: string }).note).length <= 1024);
});

test("an object without apiVersion/kind gets them from regardingKind", async () => {
  const fake = new FakeClient();
  const rec = newEventRecorder(fake.asClient(), { reportingController: "c", log });
  await rec.event({ metadata: { name: "n1" } }, { type: "Normal", reason: "R", note: "n", regardingKind: { group: "", version: "v1", kind: "Node" } });
  const ev = fake.created[0]!.obj as { regarding: object; metadata: { namespace: string } };
  assert.deepEqual(ev.regarding, { apiVersion: "v1", kind: "Node", name: "n1" });
  assert.equal(ev.metadata.namespace, "default", "cluster-scoped objects: events in default");
});

test("nonsense input from untyped callers never throws", async () => {
  const fake = new FakeClient();
  const rec = newEventRecorder(fake.asClient(), { reportingController: "c", log });
  await rec.event(null as unknown as KubeObject, { type: "Normal", reason: "R", note: "n" });
  await rec.event(rs, { type: "Normal", reason: undefined as unknown as string, note: "n" });
  assert.equal(fake.created.length, 0);
});
