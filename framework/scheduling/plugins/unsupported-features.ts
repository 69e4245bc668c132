/**
 * UnsupportedFeatures: kubeloop's guard against placing a pod as if a constraint it asks for were
 * absent. kube-scheduler's default profile has plugins kubeloop-scheduler does not implement
 * (InterPodAffinity, PodTopologySpread, VolumeBinding/VolumeZone/VolumeRestrictions/
 * NodeVolumeLimits for claims, DynamicResources); a pod that uses what those plugins serve is
 * rejected in PreFilter, UnschedulableAndUnresolvable, so it is reported (`PodScheduled=False`,
 * `FailedScheduling`) instead of placed wrongly. Run it first in the profile.
 *
 * Message grammar: one reason per offending field, in this order,
 *
 *     <schedulerName> does not support <field path>
 *
 * where `<field path>` is the pod field in API notation, one of
 * - `spec.affinity.podAffinity` (required or preferred terms present),
 * - `spec.affinity.podAntiAffinity` (required or preferred terms present),
 * - `spec.topologySpreadConstraints` (non-empty),
 * - `spec.volumes[<i>].persistentVolumeClaim` (a volume backed by a PersistentVolumeClaim),
 * - `spec.volumes[<i>].ephemeral` (a generic ephemeral volume: a claim created for the pod),
 * - `spec.resourceClaims` (non-empty: DRA claims),
 * e.g. `kubeloop-scheduler does not support spec.affinity.podAffinity`. In the FailedScheduling
 * message they appear as kube-scheduler prints a PreFilter rejection:
 * `0/3 nodes are available: kubeloop-scheduler does not support spec.affinity.podAffinity.`
 * (several reasons joined with ", ").
 *
 * Empty `podAffinity: {}` or `topologySpreadConstraints: []` ask for nothing and pass. Events:
 * Pod/Update of the pod itself when the unsupported fields are gone.
 */
import type { ClusterEvent, CycleState, EnqueueExtensions, NodeInfoLister, PodInfo, PreFilterPlugin, PreFilterResult, QueueingHintFn, Status } from "../framework.ts";
import { status, SUCCESS } from "../framework.ts";
import type { Pod } from "../../meta/index.ts";
import type { DeepReadonly } from "../../meta/index.ts";
import { DEFAULT_SCHEDULER_NAME } from "../profile.ts";
import { asPod, samePod } from "./helpers.ts";

/** The plugin's name (kubeloop's own; kube-scheduler has no such plugin). */
export const UNSUPPORTED_FEATURES = "UnsupportedFeatures";

/** Options: the scheduler name the messages start with (default `kubeloop-scheduler`). */
export interface UnsupportedFeaturesOptions {
  readonly schedulerName?: string;
}

/** The pod fields, in API notation, that ask for something kubeloop-scheduler does not implement; empty when none. */
export function unsupportedFields(pod: DeepReadonly<Pod>): string[] {
  const spec = pod.spec;
  const out: string[] = [];
  const hasTerms = (a: { requiredDuringSchedulingIgnoredDuringExecution?: readonly unknown[]; preferredDuringSchedulingIgnoredDuringExecution?: readonly unknown[] } | undefined) =>
    !!a && ((a.requiredDuringSchedulingIgnoredDuringExecution?.length ?? 0) > 0 || (a.preferredDuringSchedulingIgnoredDuringExecution?.length ?? 0) > 0);
  if (hasTerms(spec?.affinity?.podAffinity)) out.push("spec.affinity.podAffinity");
  if (hasTerms(spec?.affinity?.podAntiAffinity)) out.push("spec.affinity.podAntiAffinity");
  if ((spec?.topologySpreadConstraints?.length ?? 0) > 0) out.push("spec.topologySpreadConstraints");
  (spec?.volumes ?? []).forEach((v, i) => {
    if (v.persistentVolumeClaim) out.push(`spec.volumes[${i}].persistentVolumeClaim`);
    if (v.ephemeral) out.push(`spec.volumes[${i}].ephemeral`);
  });
  if ((spec?.resourceClaims?.length ?? 0) > 0) out.push("spec.resourceClaims");
  return out;
}

/** The UnsupportedFeatures guard (PreFilter, EnqueueExtensions). */
export class UnsupportedFeatures implements PreFilterPlugin, EnqueueExtensions {
  readonly name = UNSUPPORTED_FEATURES;
  readonly #schedulerName: string;

  constructor(opts: UnsupportedFeaturesOptions = {}) {
    this.#schedulerName = opts.schedulerName ?? DEFAULT_SCHEDULER_NAME;
  }

  preFilter(_state: CycleState, pod: PodInfo, _nodes: NodeInfoLister): { status: Status; result?: PreFilterResult } {
    const fields = unsupportedFields(pod.pod);
    if (fields.length === 0) return { status: SUCCESS };
    return { status: status("UnschedulableAndUnresolvable", ...fields.map((f) => `${this.#schedulerName} does not support ${f}`)) };
  }

  eventsToRegister(): ReadonlyArray<{ event: ClusterEvent; hint?: QueueingHintFn }> {
    const hint: QueueingHintFn = (pod, _oldObj, newObj) => {
      const after = asPod(newObj);
      if (!after) return "Queue";
      return samePod(pod, after) && unsupportedFields(after).length === 0 ? "Queue" : "QueueSkip";
    };
    return [{ event: { resource: "Pod", action: "Update" }, hint }];
  }
}
