import { test } from "node:test";
import assert from "node:assert/strict";
import { SchedulingGates } from "../../../../framework/scheduling/plugins/index.ts";
import { makePod } from "./fixtures.ts";

test("SchedulingGates: a gated pod waits, with upstream's message", () => {
  const plugin = new SchedulingGates();
  assert.deepEqual(plugin.preEnqueue(makePod({ spec: { schedulingGates: [{ name: "a" }, { name: "example.com/b" }] } })),
    { code: "UnschedulableAndUnresolvable", reasons: ["waiting for scheduling gates: [a example.com/b]"] });
  assert.equal(plugin.preEnqueue(makePod()).code, "Success");
  const [e] = plugin.eventsToRegister();
  const gated = makePod({ name: "g", spec: { schedulingGates: [{ name: "a" }] } });
  assert.equal(e!.hint!(gated, gated, makePod({ name: "g" })), "Queue");
  assert.equal(e!.hint!(gated, gated, gated), "QueueSkip");
  assert.equal(e!.hint!(gated, makePod({ name: "x" }), makePod({ name: "x" })), "QueueSkip");
});
