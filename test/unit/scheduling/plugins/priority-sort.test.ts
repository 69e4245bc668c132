import { test } from "node:test";
import assert from "node:assert/strict";
import type { QueuedPodInfo } from "../../../../framework/scheduling/framework.ts";
import { PrioritySort } from "../../../../framework/scheduling/plugins/index.ts";
import { makePod, pi } from "./fixtures.ts";

const q = (priority: number | undefined, timestampMs: number, initialAttemptTimestampMs = 0): QueuedPodInfo => ({
  podInfo: pi(makePod({ spec: priority === undefined ? {} : { priority } })), timestampMs, initialAttemptTimestampMs, attempts: 0,
});

test("PrioritySort: higher priority first, then the earlier queue timestamp", () => {
  const plugin = new PrioritySort();
  assert.equal(plugin.less(q(10, 5), q(1, 1)), true);
  assert.equal(plugin.less(q(1, 1), q(10, 5)), false);
  assert.equal(plugin.less(q(5, 1), q(5, 2)), true);
  assert.equal(plugin.less(q(5, 2), q(5, 1)), false);
  assert.equal(plugin.less(q(5, 1), q(5, 1)), false);
  assert.equal(plugin.less(q(undefined, 1), q(-1, 0)), true); // unset priority is 0
  // the queue timestamp, not the initial attempt, breaks ties (GetTimestamp)
  assert.equal(plugin.less(q(0, 2, 0), q(0, 1, 5)), false);
});
