import { test } from "node:test";
import assert from "node:assert/strict";
import { CycleState } from "../../../../framework/scheduling/framework.ts";
import { DefaultBinder, type PodBinder } from "../../../../framework/scheduling/plugins/index.ts";
import { makePod, pi } from "./fixtures.ts";

test("DefaultBinder posts the binding with the pod's namespace, name and UID", async () => {
  const calls: unknown[] = [];
  const client: PodBinder = { bind: async (key, nodeName, opts) => void calls.push({ key, nodeName, uid: opts?.uid, hasSignal: !!opts?.signal }) };
  const s = await new DefaultBinder(client).bind(new CycleState(), pi(makePod({ name: "p", uid: "u-1" })), "n1", new AbortController().signal);
  assert.deepEqual(s, { code: "Success", reasons: [] });
  assert.deepEqual(calls, [{ key: { namespace: "ns", name: "p" }, nodeName: "n1", uid: "u-1", hasSignal: true }]);
});

test("DefaultBinder turns an API error into an Error status with its message", async () => {
  const client: PodBinder = { bind: async () => { throw new Error('pods "p" not found'); } };
  const s = await new DefaultBinder(client).bind(new CycleState(), pi(makePod({ name: "p" })), "n1", new AbortController().signal);
  assert.deepEqual(s, { code: "Error", reasons: ['pods "p" not found'] });
});
