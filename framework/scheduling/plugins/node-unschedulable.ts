/**
 * NodeUnschedulable: filters out nodes with `spec.unschedulable: true` unless the pod tolerates
 * the `node.kubernetes.io/unschedulable:NoSchedule` taint.
 *
 * Mirrors `pkg/scheduler/framework/plugins/nodeunschedulable/node_unschedulable.go` in Kubernetes
 * v1.36: reason `node(s) were unschedulable`, code UnschedulableAndUnresolvable; events Node/Add,
 * Node/Update (queued when the node became schedulable) and Pod/Update (queued when the pod now
 * tolerates the taint).
 */
import type { ClusterEvent, CycleState, EnqueueExtensions, FilterPlugin, NodeInfo, PodInfo, QueueingHintFn, Status } from "../framework.ts";
import { status, SUCCESS } from "../framework.ts";
import { asNode, asPod, jsonEqual, samePod, tolerationsTolerateTaint, UNSCHEDULABLE_TAINT } from "./helpers.ts";

/** The plugin's registry name. */
export const NODE_UNSCHEDULABLE = "NodeUnschedulable";
/** `ErrReasonUnschedulable`. */
export const ERR_REASON_UNSCHEDULABLE = "node(s) were unschedulable";

/** The NodeUnschedulable plugin (Filter, EnqueueExtensions). */
export class NodeUnschedulable implements FilterPlugin, EnqueueExtensions {
  readonly name = NODE_UNSCHEDULABLE;

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): Status {
    if (!node.node.spec?.unschedulable) return SUCCESS;
    if (tolerationsTolerateTaint(pod.pod.spec?.tolerations, UNSCHEDULABLE_TAINT)) return SUCCESS;
    return status("UnschedulableAndUnresolvable", ERR_REASON_UNSCHEDULABLE);
  }

  eventsToRegister(): ReadonlyArray<{ event: ClusterEvent; hint?: QueueingHintFn }> {
    return [
      { event: { resource: "Node", action: "Add" }, hint: afterNodeChange },
      { event: { resource: "Node", action: "Update" }, hint: afterNodeChange },
      { event: { resource: "Pod", action: "Update" }, hint: afterPodTolerationChange },
    ];
  }
}

/** `isSchedulableAfterNodeChange`: a node added schedulable, or updated from unschedulable to schedulable. */
const afterNodeChange: QueueingHintFn = (_pod, oldObj, newObj) => {
  const before = asNode(oldObj);
  const after = asNode(newObj);
  if (!after) return "Queue";
  if ((before && before.spec?.unschedulable && !after.spec?.unschedulable) || (!before && !after.spec?.unschedulable)) return "Queue";
  return "QueueSkip";
};

/** `isSchedulableAfterPodTolerationChange`: the pod's own tolerations changed and now tolerate the unschedulable taint. */
const afterPodTolerationChange: QueueingHintFn = (pod, oldObj, newObj) => {
  const original = asPod(oldObj);
  const modified = asPod(newObj);
  if (!modified) return "Queue";
  if (original && jsonEqual(original.spec?.tolerations, modified.spec?.tolerations)) return "QueueSkip"; // not an UpdatePodToleration
  if (samePod(pod, modified) && tolerationsTolerateTaint(modified.spec?.tolerations, UNSCHEDULABLE_TAINT)) return "Queue";
  return "QueueSkip";
};
