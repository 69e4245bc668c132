/**
 * The `GangScheduling` plugin of the kubeloop scheduler: tells the runtime which group a pod
 * belongs to (so it schedules the whole group in one cycle on one snapshot, see
 * `framework/scheduling/pod-group.ts`), gates members until their group can be tried
 * (`gating.ts`), and writes each group cycle's outcome on the PodGroup (`status-writer.ts`).
 *
 * Mirrors kube-scheduler v1.36 `pkg/scheduler/framework/plugins/gangscheduling` for native
 * `scheduling.k8s.io/v1alpha2` groups (PreEnqueue, EventsToRegister; the quorum that upstream's
 * Permit checks is the runtime's group cycle here, so there is no Permit), and scheduler-plugins'
 * coscheduling (PreFilter messages) for `scheduling.kubeloop.dev/v1alpha1` groups.
 */
import type { CacheReader } from "../../framework/cache/index.ts";
import type { DeepReadonly, Pod } from "../../framework/meta/index.ts";
import {
  SUCCESS,
  type CycleState,
  type EnqueueExtensions,
  type NodeInfoLister,
  type PodInfo,
  type PreEnqueuePlugin,
  type PreFilterPlugin,
  type PreFilterResult,
  type QueueingHintFn,
  type ClusterEvent,
  type ResourceAmounts,
  type Status,
  status,
} from "../../framework/scheduling/framework.ts";
import { toAmounts } from "../../framework/scheduling/resources.ts";
import type { PodGroupCycleResult, PodGroupPlugin, PodGroupRef } from "../../framework/scheduling/pod-group.ts";
import { PodGroupDefinition, type PodGroup } from "./api.ts";
import { preEnqueueDecision, preFilterDecision, type GroupView } from "./gating.ts";
import { groupDisplayName, groupKey, groupOf, POD_GROUP_INDEX, type GroupApi, type GroupRef } from "./membership.ts";
import { resourceGap, resourceGapMessage } from "./min-resources.ts";
import { nativeMinMember, type NativePodGroup } from "./native-api.ts";
import type { GroupStatusWriter } from "./status-writer.ts";
import { UNSCHEDULED_POD } from "./member-events.ts";

/** The plugin's name (kube-scheduler's `GangScheduling`). */
export const GANG_SCHEDULING = "GangScheduling";

/** The cluster-event resource names of the two PodGroup kinds (`<plural>.<group>`). */
export const PodGroupEventResources = {
  kubeloop: PodGroupDefinition.name,
  native: "podgroups.scheduling.k8s.io",
} as const;

/** What the plugin reads: the pod informer (with `POD_GROUP_INDEX`) and the PodGroup informers. */
export interface GangSchedulingOptions {
  /** Pods, indexed by `POD_GROUP_INDEX` (`ensurePodGroupIndex`). */
  pods: CacheReader<Pod>;
  /** `scheduling.kubeloop.dev/v1alpha1` PodGroups. */
  podGroups: CacheReader<PodGroup>;
  /** `scheduling.k8s.io/v1alpha2` PodGroups; absent when the server does not serve them (then `spec.schedulingGroup` is ignored). */
  nativePodGroups?: CacheReader<NativePodGroup>;
  /** Writes each group cycle's outcome on the PodGroup; absent: nothing is written. */
  statusWriter?: GroupStatusWriter;
}

/** The group reference inside a runtime `PodGroupRef` key: `<api>:<namespace>/<name>`. @throws Error for a key this plugin did not make. */
export function parseGroupKey(key: string): GroupRef {
  const m = /^(kubeloop|native):([^/]*)\/(.+)$/.exec(key);
  if (!m) throw new Error(`pod group key ${JSON.stringify(key)} is not <kubeloop|native>:<namespace>/<name>`);
  return { api: m[1] as GroupApi, namespace: m[2]!, name: m[3]! };
}

/** The gang plugin; see the module doc. */
export class GangScheduling implements PreEnqueuePlugin, PreFilterPlugin, EnqueueExtensions, PodGroupPlugin {
  readonly name = GANG_SCHEDULING;
  readonly #pods: CacheReader<Pod>;
  readonly #podGroups: CacheReader<PodGroup>;
  readonly #native: CacheReader<NativePodGroup> | undefined;
  readonly #writer: GroupStatusWriter | undefined;

  constructor(opts: GangSchedulingOptions) {
    this.#pods = opts.pods;
    this.#podGroups = opts.podGroups;
    this.#native = opts.nativePodGroups;
    this.#writer = opts.statusWriter;
  }

  /** The group `pod` names (label or `spec.schedulingGroup`), whether or not it exists. */
  refOf(pod: DeepReadonly<Pod>): GroupRef | undefined {
    return groupOf(pod, this.#native !== undefined);
  }

  /** What the informers hold about the group `ref`: existence, minMember, policy and members. */
  view(ref: GroupRef): GroupView {
    const key = groupKey(ref);
    const nativeServed = this.#native !== undefined;
    const members = this.#pods.byIndex(POD_GROUP_INDEX, key).filter((p) => {
      const r = groupOf(p, nativeServed);
      return r !== undefined && groupKey(r) === key;
    });
    const objKey = `${ref.namespace}/${ref.name}`;
    if (ref.api === "native") {
      const pg = this.#native?.get(objKey);
      if (!pg) return { ref, exists: false, minMember: 1, gang: false, members };
      return { ref, exists: true, minMember: nativeMinMember(pg), gang: pg.spec.schedulingPolicy.gang !== undefined, members };
    }
    const pg = this.#podGroups.get(objKey);
    if (!pg) return { ref, exists: false, minMember: 1, gang: true, members };
    return { ref, exists: true, minMember: pg.spec.minMember, gang: true, members };
  }

  /** The runtime's group of `pod`: defined only once its PodGroup exists (a member of a missing group is rejected by PreEnqueue or PreFilter). */
  groupOf(pod: DeepReadonly<Pod>): PodGroupRef | undefined {
    const ref = this.refOf(pod);
    if (!ref) return undefined;
    const objKey = `${ref.namespace}/${ref.name}`;
    let minMember: number;
    if (ref.api === "native") {
      const pg = this.#native?.get(objKey);
      if (!pg) return undefined;
      minMember = nativeMinMember(pg);
    } else {
      const pg = this.#podGroups.get(objKey);
      if (!pg) return undefined;
      minMember = pg.spec.minMember;
    }
    return { key: groupKey(ref), namespace: ref.namespace, name: ref.name, minMember };
  }

  /** Holds native gang members silently until their group and `minCount` pods exist. */
  preEnqueue(pod: DeepReadonly<Pod>): Status {
    const ref = this.refOf(pod);
    return ref ? preEnqueueDecision(this.view(ref)) : SUCCESS;
  }

  /**
   * Rejects kubeloop members of a missing or short group, members of a group that disagree on
   * schedulerName, and members of a kubeloop group whose `minResources` the cluster's free
   * allocatable cannot cover (`min-resources.ts`); all `UnschedulableAndUnresolvable`.
   */
  preFilter(_state: CycleState, pod: PodInfo, nodes: NodeInfoLister): { status: Status; result?: PreFilterResult } {
    const ref = this.refOf(pod.pod);
    if (!ref) return { status: SUCCESS };
    const decision = preFilterDecision(this.view(ref));
    if (decision.code !== "Success") return { status: decision };
    const min = this.#minResources(ref);
    if (min) {
      const key = groupKey(ref);
      const gap = resourceGap(min, nodes.list(), (p) => {
        const r = this.refOf(p);
        return r !== undefined && groupKey(r) === key;
      });
      if (gap) return { status: status("UnschedulableAndUnresolvable", resourceGapMessage(groupDisplayName(ref), gap)) };
    }
    return { status: SUCCESS };
  }

  /** `spec.minResources` of a kubeloop group in `ResourceAmounts` units, or undefined when it has none (or is native/missing). */
  #minResources(ref: GroupRef): ResourceAmounts | undefined {
    if (ref.api !== "kubeloop") return undefined;
    const list = this.#podGroups.get(`${ref.namespace}/${ref.name}`)?.spec.minResources;
    if (!list || Object.keys(list).length === 0) return undefined;
    return toAmounts(list);
  }

  /**
   * A pod added to (or, for the label, moved into) the same group, bound or not (`UnscheduledPod`
   * events come from `member-events.ts`), a member deleted (a schedulerName conflict may end), and
   * the group's PodGroup being added (or, for ours, changed) can make a member schedulable
   * (upstream: Pod/Add, which kube-scheduler also sends for unscheduled pods with the gate on, and
   * PodGroup/Add); so can room (nodes added or changed, pods deleted) for a group with
   * `minResources`.
   */
  eventsToRegister(): ReadonlyArray<{ event: ClusterEvent; hint?: QueueingHintFn }> {
    const sameGroup: QueueingHintFn = (pod, oldObj, newObj) => {
      const target = this.refOf(pod);
      if (!target) return "QueueSkip";
      const key = groupKey(target);
      for (const obj of [newObj, oldObj]) {
        const other = obj as DeepReadonly<Pod> | undefined;
        const r = other ? this.refOf(other) : undefined;
        if (r && groupKey(r) === key) return "Queue";
      }
      return "QueueSkip";
    };
    const groupAdded = (api: GroupApi): QueueingHintFn => (pod, _oldObj, newObj) => {
      const target = this.refOf(pod);
      const pg = newObj as { metadata?: { namespace?: string; name?: string } } | undefined;
      return target?.api === api && pg?.metadata?.namespace === target.namespace && pg.metadata?.name === target.name ? "Queue" : "QueueSkip";
    };
    // An update matters only when it moves a pod into or out of the group (the label changed).
    const movedInOrOut: QueueingHintFn = (pod, oldObj, newObj) => {
      const before = oldObj ? this.refOf(oldObj as DeepReadonly<Pod>) : undefined;
      const after = newObj ? this.refOf(newObj as DeepReadonly<Pod>) : undefined;
      if ((before && groupKey(before)) === (after && groupKey(after))) return "QueueSkip";
      return sameGroup(pod, oldObj, newObj);
    };
    // Room freed or added may close a minResources gap.
    const hasMinResources: QueueingHintFn = (pod) => {
      const target = this.refOf(pod);
      return target && this.#minResources(target) ? "Queue" : "QueueSkip";
    };
    const deleted: QueueingHintFn = (pod, oldObj, newObj) => (sameGroup(pod, oldObj, newObj) === "Queue" ? "Queue" : hasMinResources(pod, oldObj, newObj));
    const events: Array<{ event: ClusterEvent; hint?: QueueingHintFn }> = [
      { event: { resource: "Node", action: "Add" }, hint: hasMinResources },
      { event: { resource: "Node", action: "Update" }, hint: hasMinResources },
      { event: { resource: UNSCHEDULED_POD, action: "Add" }, hint: sameGroup },
      { event: { resource: UNSCHEDULED_POD, action: "Update" }, hint: movedInOrOut },
      { event: { resource: "Pod", action: "Add" }, hint: sameGroup },
      { event: { resource: "Pod", action: "Update" }, hint: movedInOrOut },
      { event: { resource: "Pod", action: "Delete" }, hint: deleted },
      { event: { resource: PodGroupEventResources.kubeloop, action: "Add" }, hint: groupAdded("kubeloop") },
      // Our PodGroups are mutable (minMember, minResources), unlike the native ones.
      { event: { resource: PodGroupEventResources.kubeloop, action: "Update" }, hint: groupAdded("kubeloop") },
    ];
    if (this.#native) events.push({ event: { resource: PodGroupEventResources.native, action: "Add" }, hint: groupAdded("native") });
    return events;
  }

  /** Writes the outcome on the PodGroup (condition `PodGroupScheduled`, an Event); never throws. */
  groupCycleDone(result: PodGroupCycleResult): void {
    if (!this.#writer) return;
    try {
      void this.#writer.record(parseGroupKey(result.group.key), result);
    } catch {
      // A key from another PodGroupPlugin: not ours to write.
    }
  }
}
