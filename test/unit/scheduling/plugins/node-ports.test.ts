import { test } from "node:test";
import assert from "node:assert/strict";
import { CycleState } from "../../../../framework/scheduling/framework.ts";
import { NodePorts } from "../../../../framework/scheduling/plugins/index.ts";
import { info, lister, makeNode, makePod, pi, type Json } from "./fixtures.ts";

const plugin = new NodePorts();
const withPorts = (name: string, ports: Json[], extra: Json = {}) =>
  makePod({ name, spec: { containers: [{ name: "c", image: "x", ports }], ...extra } });

function run(pod: ReturnType<typeof makePod>, existing: ReturnType<typeof makePod>[]) {
  const state = new CycleState();
  const node = info(makeNode("n1"), existing);
  const pre = plugin.preFilter(state, pi(pod), lister([node]));
  if (pre.status.code === "Skip") return pre.status;
  return plugin.filter(state, pi(pod), node);
}

test("NodePorts: PreFilter skips pods without host ports", () => {
  assert.equal(run(withPorts("a", [{ containerPort: 80 }]), []).code, "Skip");
});

test("NodePorts: a host port in use on the node is Unschedulable with upstream's reason", () => {
  const used = withPorts("old", [{ containerPort: 80, hostPort: 8080 }]);
  assert.deepEqual(run(withPorts("new", [{ containerPort: 80, hostPort: 8080 }]), [used]),
    { code: "Unschedulable", reasons: ["node(s) didn't have free ports for the requested pod ports"] });
  assert.equal(run(withPorts("new", [{ containerPort: 80, hostPort: 8081 }]), [used]).code, "Success");
  assert.equal(run(withPorts("new", [{ containerPort: 80, hostPort: 8080, protocol: "UDP" }]), [used]).code, "Success");
});

test("NodePorts: IPs conflict when equal or either is 0.0.0.0", () => {
  const onIp = withPorts("old", [{ containerPort: 1, hostPort: 9000, hostIP: "10.0.0.1" }]);
  assert.equal(run(withPorts("a", [{ containerPort: 1, hostPort: 9000, hostIP: "10.0.0.2" }]), [onIp]).code, "Success");
  assert.equal(run(withPorts("b", [{ containerPort: 1, hostPort: 9000, hostIP: "10.0.0.1" }]), [onIp]).code, "Unschedulable");
  assert.equal(run(withPorts("c", [{ containerPort: 1, hostPort: 9000 }]), [onIp]).code, "Unschedulable");
  const anyIp = withPorts("old2", [{ containerPort: 1, hostPort: 9001 }]);
  assert.equal(run(withPorts("d", [{ containerPort: 1, hostPort: 9001, hostIP: "10.0.0.9" }]), [anyIp]).code, "Unschedulable");
});

test("NodePorts: sidecar ports count, plain init container ports do not", () => {
  const sidecar = makePod({ name: "s", spec: { initContainers: [{ name: "i", image: "x", restartPolicy: "Always", ports: [{ containerPort: 1, hostPort: 7000 }] }] } });
  const init = makePod({ name: "i", spec: { initContainers: [{ name: "i", image: "x", ports: [{ containerPort: 1, hostPort: 7001 }] }] } });
  assert.equal(run(withPorts("a", [{ containerPort: 1, hostPort: 7000 }]), [sidecar]).code, "Unschedulable");
  assert.equal(run(withPorts("b", [{ containerPort: 1, hostPort: 7001 }]), [init]).code, "Success");
});

test("NodePorts hints: Pod/Delete of a bound pod holding a wanted port requeues; Node/Add always", () => {
  const [del, add] = plugin.eventsToRegister();
  assert.deepEqual(add, { event: { resource: "Node", action: "Add" } });
  assert.deepEqual(del!.event, { resource: "Pod", action: "Delete" });
  const pod = withPorts("p", [{ containerPort: 1, hostPort: 8080 }]);
  const bound = withPorts("old", [{ containerPort: 1, hostPort: 8080 }], { nodeName: "n1" });
  assert.equal(del!.hint!(pod, bound, undefined), "Queue");
  assert.equal(del!.hint!(pod, withPorts("old", [{ containerPort: 1, hostPort: 8080 }]), undefined), "QueueSkip"); // never bound
  assert.equal(del!.hint!(pod, withPorts("old", [{ containerPort: 1, hostPort: 9090 }], { nodeName: "n1" }), undefined), "QueueSkip");
});
