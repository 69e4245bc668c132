/**
 * Unit tests of the framework pieces added for this operator: `LABEL_INDEX` /
 * `listByLabelSet` (framework/cache/label-index.ts) and `enqueueSelecting`
 * (framework/controller/selector-handler.ts), including upstream
 * `determineNeededServiceUpdates` (symmetric difference on label-only changes) and the
 * pod-update filter `podEndpointsChanged` (`controller_utils_test.go`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { LABEL_INDEX, labelIndexFunc, listByLabelSet, Store } from "../../../../framework/cache/index.ts";
import { enqueueSelecting } from "../../../../framework/controller/selector-handler.ts";
import type { Pod } from "../../../../framework/meta/index.ts";
import { podEndpointsChanged } from "../../../../operators/endpoints/index.ts";

const pod = (name: string, labels: Record<string, string>, rv = "1", ns = "a"): Pod => ({
  apiVersion: "v1", kind: "Pod", metadata: { name, namespace: ns, labels, resourceVersion: rv },
  status: { conditions: [{ type: "Ready", status: "True" }], podIPs: [{ ip: "10.0.0.1" }] },
});

test("listByLabelSet: equality selectors from the label index, {} selects the namespace", () => {
  const store = new Store<Pod>({ [LABEL_INDEX]: labelIndexFunc });
  store.upsert(pod("p1", { app: "web", tier: "fe" }));
  store.upsert(pod("p2", { app: "web", tier: "be" }));
  store.upsert(pod("p3", { app: "db" }));
  store.upsert(pod("p4", { app: "web", tier: "fe" }, "1", "b"));
  const names = (xs: Pod[]) => xs.map((p) => p.metadata!.name).sort();
  assert.deepEqual(names(listByLabelSet(store, "a", { app: "web" })), ["p1", "p2"]);
  assert.deepEqual(names(listByLabelSet(store, "a", { app: "web", tier: "fe" })), ["p1"]);
  assert.deepEqual(names(listByLabelSet(store, "a", { app: "none" })), []);
  assert.deepEqual(names(listByLabelSet(store, "a", {})), ["p1", "p2", "p3"]);
  // Without the index: the same answers from a scan.
  const plain = new Store<Pod>();
  plain.upsert(pod("p1", { app: "web" }));
  assert.deepEqual(names(listByLabelSet(plain, "a", { app: "web" })), ["p1"]);
});

test("enqueueSelecting: resyncs and irrelevant updates enqueue nothing; label-only changes the symmetric difference; content changes the union", () => {
  const selectors: Record<string, Record<string, string>> = { s1: { app: "web" }, s2: { tier: "fe" }, s3: { app: "db" } };
  const mapper = enqueueSelecting<Pod>({
    selectorsOf: (p) => Object.entries(selectors)
      .filter(([, sel]) => Object.entries(sel).every(([k, v]) => p.metadata?.labels?.[k] === v))
      .map(([name]) => ({ namespace: "a", name })),
    membershipChanged: (o, n) => podEndpointsChanged(o, n).membershipChanged,
    contentChanged: (o, n) => podEndpointsChanged(o, n).podChanged,
  });
  const names = (rs: Array<{ name: string }>) => rs.map((r) => r.name).sort();
  const old = pod("p", { app: "web", tier: "fe" }, "1");
  assert.deepEqual(names(mapper.create(old)), ["s1", "s2"]);
  assert.deepEqual(mapper.update(old, old), [], "resync");
  assert.deepEqual(mapper.update(old, { ...old, metadata: { ...old.metadata, resourceVersion: "2", annotations: { x: "y" } } }), [], "annotation only");
  // Labels only: app web -> db; s2 is unaffected.
  const moved = pod("p", { app: "db", tier: "fe" }, "2");
  assert.deepEqual(names(mapper.update(old, moved)), ["s1", "s3"]);
  // Labels and readiness: every Service of either side.
  const movedNotReady = { ...moved, status: { ...moved.status, conditions: [{ type: "Ready", status: "False" }] } };
  assert.deepEqual(names(mapper.update(old, movedNotReady)), ["s1", "s2", "s3"]);
  // Readiness only: the current Services.
  const notReady = { ...old, metadata: { ...old.metadata, resourceVersion: "3" }, status: { ...old.status, conditions: [{ type: "Ready", status: "False" }] } };
  assert.deepEqual(names(mapper.update(old, notReady)), ["s1", "s2"]);
  assert.deepEqual(names(mapper.delete(old)), ["s1", "s2"]);
});

test("podEndpointsChanged: IPs, readiness, deletion; hostname and subdomain count as membership", () => {
  const a = pod("p", { app: "x" });
  assert.deepEqual(podEndpointsChanged(a, { ...a, status: { ...a.status, podIPs: [{ ip: "10.0.0.2" }] } }), { podChanged: true, membershipChanged: false });
  assert.deepEqual(podEndpointsChanged(a, { ...a, spec: { containers: [], hostname: "h" } }), { podChanged: false, membershipChanged: true });
  assert.deepEqual(podEndpointsChanged(a, { ...a, metadata: { ...a.metadata, deletionTimestamp: "2026-01-01T00:00:00Z" } }), { podChanged: true, membershipChanged: false });
  assert.deepEqual(podEndpointsChanged(a, { ...a, status: { ...a.status, phase: "Failed" } }), { podChanged: false, membershipChanged: false });
});
