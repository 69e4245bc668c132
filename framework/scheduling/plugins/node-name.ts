/**
 * NodeName: a pod that names a node in `spec.nodeName` fits only that node.
 *
 * Mirrors `pkg/scheduler/framework/plugins/nodename/node_name.go` in Kubernetes v1.36: reason
 * `node(s) didn't match the requested node name`, code UnschedulableAndUnresolvable; event
 * Node/Add (no hint: always Queue).
 */
import type { ClusterEvent, CycleState, EnqueueExtensions, FilterPlugin, NodeInfo, PodInfo, QueueingHintFn, Status } from "../framework.ts";
import { status, SUCCESS } from "../framework.ts";

/** The plugin's registry name. */
export const NODE_NAME = "NodeName";
/** `ErrReason`. */
export const ERR_REASON_NODE_NAME = "node(s) didn't match the requested node name";

/** The NodeName plugin (Filter, EnqueueExtensions). */
export class NodeName implements FilterPlugin, EnqueueExtensions {
  readonly name = NODE_NAME;

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): Status {
    const want = pod.pod.spec?.nodeName;
    if (!want || want === node.node.metadata?.name) return SUCCESS;
    return status("UnschedulableAndUnresolvable", ERR_REASON_NODE_NAME);
  }

  eventsToRegister(): ReadonlyArray<{ event: ClusterEvent; hint?: QueueingHintFn }> {
    return [{ event: { resource: "Node", action: "Add" } }];
  }
}
