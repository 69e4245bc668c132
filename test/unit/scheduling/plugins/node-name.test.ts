import { test } from "node:test";
import assert from "node:assert/strict";
import { CycleState } from "../../../../framework/scheduling/framework.ts";
import { NodeName } from "../../../../framework/scheduling/plugins/index.ts";
import { info, makeNode, makePod, pi } from "./fixtures.ts";

const plugin = new NodeName();

test("NodeName: spec.nodeName must equal the node's name", () => {
  const pod = pi(makePod({ spec: { nodeName: "n1" } }));
  assert.equal(plugin.filter(new CycleState(), pod, info(makeNode("n1"))).code, "Success");
  assert.deepEqual(plugin.filter(new CycleState(), pod, info(makeNode("n2"))),
    { code: "UnschedulableAndUnresolvable", reasons: ["node(s) didn't match the requested node name"] });
  assert.equal(plugin.filter(new CycleState(), pi(makePod()), info(makeNode("n2"))).code, "Success");
});

test("NodeName: registers Node/Add without a hint", () => {
  assert.deepEqual(plugin.eventsToRegister(), [{ event: { resource: "Node", action: "Add" } }]);
});
