/**
 * TaintToleration: filters out nodes with a NoSchedule/NoExecute taint the pod does not tolerate,
 * and prefers nodes with fewer untolerated PreferNoSchedule taints.
 *
 * Mirrors `pkg/scheduler/framework/plugins/tainttoleration/taint_toleration.go` in Kubernetes
 * v1.36: Filter reason `node(s) had untolerated taint(s)` (no taint key), code
 * UnschedulableAndUnresolvable; PreScore keeps the pod's tolerations with an empty or
 * PreferNoSchedule effect; Score counts the node's PreferNoSchedule taints none of them tolerates;
 * NormalizeScore is `DefaultNormalizeScore(100, reverse)` (fewest taints -> 100). Default weight 3.
 * Events: Node/Add and Node/Update (queued when an untolerated taint went away), Pod/Update (the
 * pod's own tolerations changed).
 */
import type {
  ClusterEvent, CycleState, EnqueueExtensions, FilterPlugin, NodeInfo, NodeScore, PodInfo, PreScorePlugin, QueueingHintFn,
  ScorePlugin, Status,
} from "../framework.ts";
import { MAX_NODE_SCORE, status, SUCCESS } from "../framework.ts";
import {
  asNode, asPod, defaultNormalizeScore, findUntoleratedTaint, isDoNotScheduleTaint, jsonEqual, samePod, tolerationsTolerateTaint,
  type Toleration,
} from "./helpers.ts";

/** The plugin's registry name. */
export const TAINT_TOLERATION = "TaintToleration";
/** The Filter reason kube-scheduler v1.36 prints. */
export const ERR_REASON_UNTOLERATED_TAINT = "node(s) had untolerated taint(s)";

const PRE_SCORE_KEY = "TaintToleration/preScore";

/** The TaintToleration plugin (Filter, PreScore, Score + normalize, EnqueueExtensions). */
export class TaintToleration implements FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions {
  readonly name = TAINT_TOLERATION;

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): Status {
    const taint = findUntoleratedTaint(node.node.spec?.taints, pod.pod.spec?.tolerations, isDoNotScheduleTaint);
    return taint ? status("UnschedulableAndUnresolvable", ERR_REASON_UNTOLERATED_TAINT) : SUCCESS;
  }

  preScore(state: CycleState, pod: PodInfo): Status {
    state.write(PRE_SCORE_KEY, preferNoScheduleTolerations(pod));
    return SUCCESS;
  }

  score(state: CycleState, pod: PodInfo, node: NodeInfo): { score: number } {
    const tolerations = state.read<readonly Toleration[]>(PRE_SCORE_KEY) ?? preferNoScheduleTolerations(pod);
    let count = 0;
    for (const taint of node.node.spec?.taints ?? []) {
      if (taint.effect === "PreferNoSchedule" && !tolerationsTolerateTaint(tolerations, taint)) count++;
    }
    return { score: count };
  }

  normalizeScore(_state: CycleState, _pod: PodInfo, scores: NodeScore[]): Status {
    defaultNormalizeScore(MAX_NODE_SCORE, true, scores);
    return SUCCESS;
  }

  eventsToRegister(): ReadonlyArray<{ event: ClusterEvent; hint?: QueueingHintFn }> {
    return [
      { event: { resource: "Node", action: "Add" }, hint: afterNodeChange },
      { event: { resource: "Node", action: "Update" }, hint: afterNodeChange },
      { event: { resource: "Pod", action: "Update" }, hint: afterPodTolerationChange },
    ];
  }
}

/** `getAllTolerationPreferNoSchedule`: tolerations with an empty or PreferNoSchedule effect. */
function preferNoScheduleTolerations(pod: PodInfo): readonly Toleration[] {
  return (pod.pod.spec?.tolerations ?? []).filter((t) => !t.effect || t.effect === "PreferNoSchedule");
}

/** `isSchedulableAfterNodeChange`: queued when the node had an untolerated NoSchedule/NoExecute taint (or is new) and now has none. */
const afterNodeChange: QueueingHintFn = (pod, oldObj, newObj) => {
  const before = asNode(oldObj);
  const after = asNode(newObj);
  if (!after) return "Queue";
  const tolerations = pod.spec?.tolerations;
  const wasUntolerated = before ? findUntoleratedTaint(before.spec?.taints, tolerations, isDoNotScheduleTaint) !== undefined : true;
  const isUntolerated = findUntoleratedTaint(after.spec?.taints, tolerations, isDoNotScheduleTaint) !== undefined;
  return wasUntolerated && !isUntolerated ? "Queue" : "QueueSkip";
};

/** `isSchedulableAfterPodTolerationChange`: the pod's own tolerations changed (tolerations can only be added). */
const afterPodTolerationChange: QueueingHintFn = (pod, oldObj, newObj) => {
  const before = asPod(oldObj);
  const after = asPod(newObj);
  if (!after) return "Queue";
  if (!samePod(pod, after)) return "QueueSkip";
  return before && jsonEqual(before.spec?.tolerations, after.spec?.tolerations) ? "QueueSkip" : "Queue";
};
