/**
 * NodeAffinity: `spec.nodeSelector` and required node affinity filter nodes; preferred node
 * affinity terms score them.
 *
 * Mirrors `pkg/scheduler/framework/plugins/nodeaffinity/node_affinity.go` in Kubernetes v1.36:
 * - PreFilter: Skip when the pod has neither a nodeSelector nor required terms (nor an added
 *   affinity); when every required term pins `metadata.name` with `In`, the union of those names
 *   is the PreFilterResult (an empty union: `pod affinity terms conflict`, UnschedulableAndUnresolvable).
 * - Filter: `node(s) didn't match Pod's node affinity/selector` (or, for the profile's added
 *   affinity, `node(s) didn't match scheduler-enforced node affinity`), UnschedulableAndUnresolvable.
 *   Operators In, NotIn, Exists, DoesNotExist, Gt, Lt on labels; In/NotIn on `metadata.name`.
 * - PreScore/Score: sum of the weights of the matching preferred terms; NormalizeScore scales to
 *   0-100 by the highest score (`DefaultNormalizeScore`, not reversed). Default weight 2.
 * - Events: Node/Add and Node/Update, queued only when the node matches now and did not before.
 */
import type {
  ClusterEvent, CycleState, EnqueueExtensions, FilterPlugin, NodeInfo, NodeInfoLister, NodeScore, PodInfo, PreFilterPlugin,
  PreFilterResult, PreScorePlugin, QueueingHintFn, ScorePlugin, Status,
} from "../framework.ts";
import { MAX_NODE_SCORE, status, SUCCESS } from "../framework.ts";
import type { DeepReadonly } from "../../meta/index.ts";
import {
  asNode, defaultNormalizeScore, NodeSelectorMatcher, PreferredSchedulingTerms, RequiredNodeAffinity, type NodeSelector,
  type PreferredSchedulingTerm,
} from "./helpers.ts";

/** The plugin's registry name. */
export const NODE_AFFINITY = "NodeAffinity";
/** `ErrReasonPod`. */
export const ERR_REASON_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector";
/** `errReasonEnforced`: the profile's added affinity did not match. */
export const ERR_REASON_ENFORCED = "node(s) didn't match scheduler-enforced node affinity";
/** `errReasonConflict`: the `metadata.name` pins of the required terms leave no node. */
export const ERR_REASON_CONFLICT = "pod affinity terms conflict";

const PRE_FILTER_KEY = "NodeAffinity/preFilter";
const PRE_SCORE_KEY = "NodeAffinity/preScore";

/** `NodeAffinityArgs`: an affinity every pod of the profile gets in addition to its own. */
export interface NodeAffinityOptions {
  readonly addedAffinity?: {
    readonly requiredDuringSchedulingIgnoredDuringExecution?: DeepReadonly<NodeSelector>;
    readonly preferredDuringSchedulingIgnoredDuringExecution?: readonly DeepReadonly<PreferredSchedulingTerm>[];
  };
}

/** The NodeAffinity plugin (PreFilter, Filter, PreScore, Score + normalize, EnqueueExtensions). */
export class NodeAffinity implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions {
  readonly name = NODE_AFFINITY;
  readonly #addedSelector: NodeSelectorMatcher | undefined;
  readonly #addedPreferred: PreferredSchedulingTerms | undefined;

  /** @throws Error when the added preferred terms are invalid. */
  constructor(opts: NodeAffinityOptions = {}) {
    const req = opts.addedAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    this.#addedSelector = req ? new NodeSelectorMatcher(req) : undefined;
    const pref = opts.addedAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
    this.#addedPreferred = pref && pref.length > 0 ? new PreferredSchedulingTerms(pref) : undefined;
  }

  preFilter(state: CycleState, pod: PodInfo, _nodes: NodeInfoLister): { status: Status; result?: PreFilterResult } {
    const required = pod.pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    if (!required && !this.#addedSelector && !pod.pod.spec?.nodeSelector) return { status: status("Skip") };
    state.write(PRE_FILTER_KEY, new RequiredNodeAffinity(pod.pod));
    const terms = required?.nodeSelectorTerms ?? [];
    if (terms.length === 0) return { status: SUCCESS };
    let names: Set<string> | undefined;
    for (const t of terms) {
      let termNames: Set<string> | undefined;
      for (const r of t.matchFields ?? []) {
        if (r.key !== "metadata.name" || r.operator !== "In") continue;
        const s = new Set(r.values ?? []);
        termNames = termNames === undefined ? s : new Set([...termNames].filter((n) => s.has(n)));
      }
      if (termNames === undefined) return { status: SUCCESS }; // a term not pinned by name: every node is a candidate
      names = new Set([...(names ?? []), ...termNames]);
    }
    if (names !== undefined && names.size === 0) return { status: status("UnschedulableAndUnresolvable", ERR_REASON_CONFLICT) };
    return names !== undefined ? { status: SUCCESS, result: { nodeNames: names } } : { status: SUCCESS };
  }

  filter(state: CycleState, pod: PodInfo, node: NodeInfo): Status {
    if (this.#addedSelector && !this.#addedSelector.matches(node.node)) return status("UnschedulableAndUnresolvable", ERR_REASON_ENFORCED);
    const required = state.read<RequiredNodeAffinity>(PRE_FILTER_KEY) ?? new RequiredNodeAffinity(pod.pod);
    return required.matches(node.node) ? SUCCESS : status("UnschedulableAndUnresolvable", ERR_REASON_NODE_AFFINITY);
  }

  preScore(state: CycleState, pod: PodInfo): Status {
    let preferred: PreferredSchedulingTerms | undefined;
    try {
      preferred = podPreferred(pod);
    } catch (err) {
      return status("Error", (err as Error).message);
    }
    if (!preferred && !this.#addedPreferred) return status("Skip");
    state.write(PRE_SCORE_KEY, { preferred });
    return SUCCESS;
  }

  score(state: CycleState, pod: PodInfo, node: NodeInfo): { score: number; status?: Status } {
    let count = this.#addedPreferred ? this.#addedPreferred.score(node.node) : 0;
    const stored = state.read<{ preferred: PreferredSchedulingTerms | undefined }>(PRE_SCORE_KEY);
    let preferred = stored?.preferred;
    if (!stored) {
      try {
        preferred = podPreferred(pod);
      } catch (err) {
        return { score: 0, status: status("Error", (err as Error).message) };
      }
    }
    if (preferred) count += preferred.score(node.node);
    return { score: count };
  }

  normalizeScore(_state: CycleState, _pod: PodInfo, scores: NodeScore[]): Status {
    defaultNormalizeScore(MAX_NODE_SCORE, false, scores);
    return SUCCESS;
  }

  eventsToRegister(): ReadonlyArray<{ event: ClusterEvent; hint?: QueueingHintFn }> {
    const hint: QueueingHintFn = (pod, oldObj, newObj) => {
      const before = asNode(oldObj);
      const after = asNode(newObj);
      if (!after) return "Queue";
      if (this.#addedSelector && !this.#addedSelector.matches(after)) return "QueueSkip";
      const required = new RequiredNodeAffinity(pod);
      if (!required.matches(after)) return "QueueSkip";
      if (!before) return "Queue";
      return required.matches(before) ? "QueueSkip" : "Queue";
    };
    return [
      { event: { resource: "Node", action: "Add" }, hint },
      { event: { resource: "Node", action: "Update" }, hint },
    ];
  }
}

function podPreferred(pod: PodInfo): PreferredSchedulingTerms | undefined {
  const terms = pod.pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
  return terms ? new PreferredSchedulingTerms(terms) : undefined;
}
