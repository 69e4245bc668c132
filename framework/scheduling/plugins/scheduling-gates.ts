/**
 * SchedulingGates: a pod with `spec.schedulingGates` stays out of the active queue until every
 * gate is removed.
 *
 * Mirrors `pkg/scheduler/framework/plugins/schedulinggates/scheduling_gates.go` in Kubernetes
 * v1.36: PreEnqueue returns UnschedulableAndUnresolvable `waiting for scheduling gates: [a b]`
 * (Go's `%v` of the gate names); nothing is reported on the pod. Event Pod/Update of the pod
 * itself once its gates are gone.
 */
import type { ClusterEvent, EnqueueExtensions, PreEnqueuePlugin, QueueingHintFn, Status } from "../framework.ts";
import { status, SUCCESS } from "../framework.ts";
import type { Pod } from "../../meta/index.ts";
import type { DeepReadonly } from "../../meta/index.ts";
import { asPod, samePod } from "./helpers.ts";

/** The plugin's registry name. */
export const SCHEDULING_GATES = "SchedulingGates";

/** The SchedulingGates plugin (PreEnqueue, EnqueueExtensions). */
export class SchedulingGates implements PreEnqueuePlugin, EnqueueExtensions {
  readonly name = SCHEDULING_GATES;

  preEnqueue(pod: DeepReadonly<Pod>): Status {
    const gates = pod.spec?.schedulingGates ?? [];
    if (gates.length === 0) return SUCCESS;
    return status("UnschedulableAndUnresolvable", `waiting for scheduling gates: [${gates.map((g) => g.name).join(" ")}]`);
  }

  eventsToRegister(): ReadonlyArray<{ event: ClusterEvent; hint?: QueueingHintFn }> {
    const hint: QueueingHintFn = (pod, _oldObj, newObj) => {
      const after = asPod(newObj);
      if (!after) return "Queue";
      return samePod(pod, after) && (after.spec?.schedulingGates ?? []).length === 0 ? "Queue" : "QueueSkip";
    };
    return [{ event: { resource: "Pod", action: "Update" }, hint }];
  }
}
