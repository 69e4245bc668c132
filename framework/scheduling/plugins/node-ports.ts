/**
 * NodePorts: a pod's host ports must be free on the node.
 *
 * Mirrors `pkg/scheduler/framework/plugins/nodeports/node_ports.go` in Kubernetes v1.36:
 * PreFilter collects the pod's host ports (`GetHostPorts`: regular and sidecar containers) and
 * returns Skip when there are none; Filter rejects with `node(s) didn't have free ports for the
 * requested pod ports`, code Unschedulable (preemption could free the port). A port conflicts with
 * one in use with the same protocol and port on the same IP, or when either IP is `0.0.0.0`.
 * Events: Pod/Delete (queued when the deleted pod was bound or nominated and used a port this pod
 * wants) and Node/Add.
 */
import type {
  ClusterEvent, CycleState, EnqueueExtensions, FilterPlugin, HostPort, NodeInfo, NodeInfoLister, PodInfo, PreFilterPlugin,
  PreFilterResult, QueueingHintFn, Status,
} from "../framework.ts";
import { status, SUCCESS } from "../framework.ts";
import { hostPortConflicts, hostPortsOf } from "../resources.ts";
import { asPod } from "./helpers.ts";

/** The plugin's registry name. */
export const NODE_PORTS = "NodePorts";
/** `ErrReason`. */
export const ERR_REASON_NODE_PORTS = "node(s) didn't have free ports for the requested pod ports";

const PRE_FILTER_KEY = "NodePorts/preFilter";

/** The NodePorts plugin (PreFilter, Filter, EnqueueExtensions). */
export class NodePorts implements PreFilterPlugin, FilterPlugin, EnqueueExtensions {
  readonly name = NODE_PORTS;

  preFilter(state: CycleState, pod: PodInfo, _nodes: NodeInfoLister): { status: Status; result?: PreFilterResult } {
    const ports = hostPortsOf(pod.pod);
    if (ports.length === 0) return { status: status("Skip") };
    state.write(PRE_FILTER_KEY, ports);
    return { status: SUCCESS };
  }

  filter(state: CycleState, pod: PodInfo, node: NodeInfo): Status {
    const want = state.read<readonly HostPort[]>(PRE_FILTER_KEY) ?? hostPortsOf(pod.pod);
    return fitsPorts(want, node.usedPorts) ? SUCCESS : status("Unschedulable", ERR_REASON_NODE_PORTS);
  }

  eventsToRegister(): ReadonlyArray<{ event: ClusterEvent; hint?: QueueingHintFn }> {
    return [
      { event: { resource: "Pod", action: "Delete" }, hint: afterPodDeleted },
      { event: { resource: "Node", action: "Add" } },
    ];
  }
}

function fitsPorts(want: readonly HostPort[], used: readonly HostPort[]): boolean {
  for (const p of want) if (hostPortConflicts(used, p)) return false;
  return true;
}

/** `isSchedulableAfterPodDeleted`: the deleted pod was bound (or nominated) and held a port this pod wants. */
const afterPodDeleted: QueueingHintFn = (pod, oldObj) => {
  const deleted = asPod(oldObj);
  if (!deleted) return "Queue";
  if (!deleted.spec?.nodeName && !deleted.status?.nominatedNodeName) return "QueueSkip";
  const freed = hostPortsOf(deleted);
  if (freed.length === 0) return "QueueSkip";
  return fitsPorts(hostPortsOf(pod), freed) ? "QueueSkip" : "Queue";
};
