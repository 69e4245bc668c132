import { test } from "node:test";
import assert from "node:assert/strict";
import { countMembers, nextPhaseStatus, phaseStatusChanged, scheduleTimeoutDue, SCHEDULE_TIMEOUT_WARNING_MS } from "../../../../operators/gang-scheduling/phase.ts";
import { pod } from "./fixtures.ts";

const NOW = "2026-06-01T00:00:00Z";
const counts = (total: number, running = 0, succeeded = 0, failed = 0) => ({ total, running, succeeded, failed });

test("countMembers counts phases; pods being deleted are not existing members but their phase counts", () => {
  const c = countMembers([pod("a", { phase: "Running" }), pod("b", { phase: "Succeeded" }), pod("c", { phase: "Failed" }), pod("d"), pod("e", { phase: "Running", deleting: true })]);
  assert.deepEqual(c, { total: 4, running: 2, succeeded: 1, failed: 1 });
});

test("a new group with too few pods is Pending, without scheduleStartTime", () => {
  const s = nextPhaseStatus({}, 3, counts(2), NOW);
  assert.deepEqual(s, { phase: "Pending", running: 0, succeeded: 0, failed: 0 });
});

test("a new group whose minMember pods exist goes to Scheduling in one reconcile (upstream: two) and records scheduleStartTime", () => {
  const s = nextPhaseStatus({}, 3, counts(3), NOW);
  assert.equal(s.phase, "Scheduling");
  assert.equal(s.scheduleStartTime, NOW);
});

test("Pending -> Scheduling -> Running as pods run; scheduleStartTime is kept", () => {
  const scheduling = nextPhaseStatus({ phase: "Pending" }, 2, counts(2), NOW);
  assert.equal(scheduling.phase, "Scheduling");
  const stillScheduling = nextPhaseStatus(scheduling, 2, counts(2, 1), "2026-06-01T00:01:00Z");
  assert.equal(stillScheduling.phase, "Scheduling");
  assert.equal(stillScheduling.scheduleStartTime, NOW);
  const running = nextPhaseStatus(stillScheduling, 2, counts(2, 1, 1), "2026-06-01T00:02:00Z");
  assert.deepEqual(running, { phase: "Running", running: 1, succeeded: 1, failed: 0, scheduleStartTime: NOW });
});

test("a Pending group whose pods already run jumps straight to Running", () => {
  assert.equal(nextPhaseStatus({ phase: "Pending" }, 2, counts(2, 2), NOW).phase, "Running");
});

test("Running -> Pending when members disappear below minMember", () => {
  assert.equal(nextPhaseStatus({ phase: "Running", running: 2 }, 2, counts(1, 1), NOW).phase, "Pending");
});

test("Failed once a pod failed and failed + running + succeeded >= minMember; Finished once minMember succeeded; both final", () => {
  const failed = nextPhaseStatus({ phase: "Running" }, 3, counts(3, 2, 0, 1), NOW);
  assert.equal(failed.phase, "Failed");
  assert.deepEqual(nextPhaseStatus(failed, 3, counts(3, 3), NOW), failed, "Failed is final");
  const notYet = nextPhaseStatus({ phase: "Running" }, 3, counts(3, 1, 0, 1), NOW);
  assert.equal(notYet.phase, "Scheduling", "1 failed + 1 running < 3: not Failed yet");
  const finished = nextPhaseStatus({ phase: "Running" }, 2, counts(3, 0, 2, 1), NOW);
  assert.equal(finished.phase, "Finished", "Finished wins over Failed (upstream checks it last)");
  assert.deepEqual(nextPhaseStatus(finished, 2, counts(0), NOW), finished, "Finished is final");
});

test("phaseStatusChanged compares the controller's fields only, absent counters as 0", () => {
  assert.equal(phaseStatusChanged({ phase: "Pending" }, { phase: "Pending", running: 0, succeeded: 0, failed: 0 }), false);
  assert.equal(phaseStatusChanged({ phase: "Pending" }, { phase: "Scheduling" }), true);
  assert.equal(phaseStatusChanged({ phase: "Running", running: 1 }, { phase: "Running", running: 2 }), true);
});

test("the Timeout warning is due after 48 h Pending/Scheduling with nothing running", () => {
  const start = Date.parse(NOW);
  assert.equal(scheduleTimeoutDue({ phase: "Scheduling", scheduleStartTime: NOW }, undefined, start + SCHEDULE_TIMEOUT_WARNING_MS + 1), true);
  assert.equal(scheduleTimeoutDue({ phase: "Scheduling", scheduleStartTime: NOW }, undefined, start + SCHEDULE_TIMEOUT_WARNING_MS), false);
  assert.equal(scheduleTimeoutDue({ phase: "Pending" }, NOW, start + SCHEDULE_TIMEOUT_WARNING_MS + 1), true, "Pending: counted from creation");
  assert.equal(scheduleTimeoutDue({ phase: "Scheduling", running: 1, scheduleStartTime: NOW }, undefined, start + 3 * SCHEDULE_TIMEOUT_WARNING_MS), false);
  assert.equal(scheduleTimeoutDue({ phase: "Running", scheduleStartTime: NOW }, undefined, start + 3 * SCHEDULE_TIMEOUT_WARNING_MS), false);
});
