/**
 * The PodGroup API and its status controller on a real API server: `minMember: 0` refused at
 * admission with the API server's message; the phase machine driven by real pods (scheduled by
 * kube-scheduler, run by kwok); namespace-scoped counting; Events on the PodGroup.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ApiError, type KubeClient } from "../../../../framework/client/index.ts";
import { Pods } from "../../../../framework/meta/index.ts";
import { createTestNamespace, deleteTestNamespace, waitFor } from "../../../../framework/testing/index.ts";
import { PodGroups } from "../../../../operators/gang-scheduling/api.ts";
import { setupPodGroupController } from "../../../../operators/gang-scheduling/controller.ts";
import { connect, eventsAbout, gangPod, podGroup, startManager, TIMEOUT_MS } from "./harness.ts";

let client: KubeClient;
let operatorClient: KubeClient;
let ns: string;
let other: string;

before(async () => {
  ({ client, operatorClient } = await connect());
  ns = await createTestNamespace(client, "gang-ctrl");
  other = await createTestNamespace(client, "gang-ctrl-other");
});

after(async () => {
  if (!client) return;
  for (const n of [ns, other]) if (n) await deleteTestNamespace(client, n);
  client.close();
  operatorClient.close();
});

test("minMember 0 is refused by the API server with its message (upstream kubebuilder Minimum=1)", async () => {
  const bad = podGroup(ns, "zero", 1);
  bad.spec.minMember = 0;
  const err = await client.create(PodGroups, bad).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof ApiError, `want an ApiError, got ${String(err)}`);
  assert.equal(err.statusCode, 422);
  assert.match(err.message, /spec\.minMember: Invalid value: 0: spec\.minMember in body should be greater than or equal to 1/);
});

test("the controller drives Pending -> Scheduling -> Running from real pods, counts only its namespace, and records Events", { timeout: 120_000 }, async () => {
  const op = await startManager(operatorClient, undefined, (mgr) => { setupPodGroupController(mgr, { name: `podgroup-${ns}` }); });
  try {
    await client.create(PodGroups, podGroup(ns, "train", 2));
    await client.create(PodGroups, podGroup(other, "train", 2));
    // Pods scheduled by kube-scheduler (default-scheduler) and run by kwok: the controller only counts.
    await client.create(Pods, gangPod(ns, "p0", { group: "train", schedulerName: "default-scheduler" }));
    await client.create(Pods, gangPod(other, "x0", { group: "train", schedulerName: "default-scheduler" }));
    await client.create(Pods, gangPod(other, "x1", { group: "train", schedulerName: "default-scheduler" }));
    const pending = await waitFor(async () => {
      const pg = await client.get(PodGroups, { namespace: ns, name: "train" });
      return pg.status?.phase === "Pending" ? pg : undefined;
    }, { timeoutMs: TIMEOUT_MS, description: `${ns}/train Pending` });
    assert.equal(pending.status?.scheduleStartTime, undefined);
    await waitFor(async () => (await client.get(PodGroups, { namespace: other, name: "train" })).status?.phase === "Running",
      { timeoutMs: TIMEOUT_MS, description: `${other}/train Running (its 2 pods run)` });
    const stillPending = await client.get(PodGroups, { namespace: ns, name: "train" });
    assert.equal(stillPending.status?.phase, "Pending", "the other namespace's pods of a same-named group do not count (upstream's cross-namespace count)");

    await client.create(Pods, gangPod(ns, "p1", { group: "train", schedulerName: "default-scheduler" }));
    const running = await waitFor(async () => {
      const pg = await client.get(PodGroups, { namespace: ns, name: "train" });
      return pg.status?.phase === "Running" ? pg : undefined;
    }, { timeoutMs: TIMEOUT_MS, description: `${ns}/train Running` });
    assert.equal(running.status?.running, 2);
    assert.equal(running.status?.succeeded, 0);
    assert.equal(running.status?.failed, 0);
    assert.ok(running.status?.scheduleStartTime, "scheduleStartTime set when scheduling began");

    const events = await waitFor(async () => {
      await op.mgr.eventRecorder(`kubeloop.dev/podgroup-${ns}-controller`).flush();
      const evs = await eventsAbout(client, ns, "PodGroup", "train");
      return evs.some((e) => e.reason === "Running") ? evs : undefined;
    }, { timeoutMs: TIMEOUT_MS, description: "a Running Event on the PodGroup" });
    const reasons = events.map((e) => e.reason);
    assert.ok(reasons.includes("Pending"), `reasons: ${reasons.join(", ")}`);
    assert.match(events.find((e) => e.reason === "Running")!.note ?? "", new RegExp(`^PodGroup ${ns}/train is Running: 2/2 pods running or succeeded$`));
  } finally {
    await op.stop();
  }
});
