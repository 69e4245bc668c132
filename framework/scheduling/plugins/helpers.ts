/**
 * Helpers the built-in plugins share: taint/toleration matching, node selector terms, score
 * normalization and the casts queueing hints need.
 *
 * Mirrors, in Kubernetes v1.36: `k8s.io/api/core/v1/toleration.go` (`ToleratesTaint`),
 * `k8s.io/component-helpers/scheduling/corev1` (`TolerationsTolerateTaint`,
 * `FindMatchingUntoleratedTaint`, `nodeaffinity.LazyErrorNodeSelector`,
 * `PreferredSchedulingTerms`, `GetRequiredNodeAffinity`) and
 * `pkg/scheduler/framework/plugins/helper` (`DefaultNormalizeScore`, `DoNotScheduleTaintsFilterFunc`).
 */
import type { Node, Pod } from "../../meta/index.ts";
import type { DeepReadonly } from "../../meta/index.ts";
import { newRequirement, type Requirement, type SelectionOperator } from "../../meta/index.ts";
import type { NodeScore } from "../framework.ts";

type ReadonlyPod = DeepReadonly<Pod>;
type ReadonlyNode = DeepReadonly<Node>;
type PodSpec = NonNullable<ReadonlyPod["spec"]>;
type NodeSpec = NonNullable<ReadonlyNode["spec"]>;

/** A toleration as the pod spec carries it. */
export type Toleration = NonNullable<PodSpec["tolerations"]>[number];
/** A taint as the node spec carries it. */
export type Taint = NonNullable<NodeSpec["taints"]>[number];
/** A node selector (`requiredDuringSchedulingIgnoredDuringExecution`). */
export type NodeSelector = NonNullable<NonNullable<NonNullable<PodSpec["affinity"]>["nodeAffinity"]>["requiredDuringSchedulingIgnoredDuringExecution"]>;
/** One node selector term. */
export type NodeSelectorTerm = NodeSelector["nodeSelectorTerms"][number];
/** One weighted preferred term. */
export type PreferredSchedulingTerm = NonNullable<NonNullable<NonNullable<PodSpec["affinity"]>["nodeAffinity"]>["preferredDuringSchedulingIgnoredDuringExecution"]>[number];

/** The taint kube-scheduler treats `spec.unschedulable` as (`node.kubernetes.io/unschedulable:NoSchedule`). */
export const UNSCHEDULABLE_TAINT: Taint = Object.freeze({ key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" });

/**
 * `Toleration.ToleratesTaint`: the effect matches (empty tolerates all effects), the key matches
 * (empty key with `Exists` tolerates every key), and `Equal` (or empty) compares values while
 * `Exists` does not. `Lt`/`Gt` tolerate nothing (gate `TaintTolerationComparisonOperators`, alpha, off in v1.36).
 */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? "") {
    case "":
    case "Equal":
      return (t.value ?? "") === (taint.value ?? "");
    case "Exists":
      return true;
    default:
      return false;
  }
}

/** `TolerationsTolerateTaint`: some toleration tolerates the taint. */
export function tolerationsTolerateTaint(tolerations: readonly Toleration[] | undefined, taint: Taint): boolean {
  if (!tolerations) return false;
  for (const t of tolerations) if (toleratesTaint(t, taint)) return true;
  return false;
}

/** `DoNotScheduleTaintsFilterFunc`: the taints Filter cares about (NoSchedule, NoExecute). */
export function isDoNotScheduleTaint(taint: Taint): boolean {
  return taint.effect === "NoSchedule" || taint.effect === "NoExecute";
}

/** `FindMatchingUntoleratedTaint`: the first taint that passes `filter` and is not tolerated, or undefined. */
export function findUntoleratedTaint(
  taints: readonly Taint[] | undefined, tolerations: readonly Toleration[] | undefined, filter: (t: Taint) => boolean,
): Taint | undefined {
  for (const taint of taints ?? []) {
    if (filter(taint) && !tolerationsTolerateTaint(tolerations, taint)) return taint;
  }
  return undefined;
}

/**
 * `helper.DefaultNormalizeScore`: scales scores from [0, max] to [0, maxPriority] with integer
 * division, reversed (`maxPriority - score`) when `reverse`. All zero: 0, or maxPriority when reversed.
 */
export function defaultNormalizeScore(maxPriority: number, reverse: boolean, scores: NodeScore[]): void {
  let max = 0;
  for (const s of scores) if (s.score > max) max = s.score;
  if (max === 0) {
    if (reverse) for (const s of scores) s.score = maxPriority;
    return;
  }
  for (const s of scores) {
    let score = Math.trunc((maxPriority * s.score) / max);
    if (reverse) score = maxPriority - score;
    s.score = score;
  }
}

const NODE_SELECTOR_OPERATORS: Readonly<Record<string, SelectionOperator>> = {
  In: "in", NotIn: "notin", Exists: "exists", DoesNotExist: "!", Gt: "gt", Lt: "lt",
};

/** One parsed node selector term; `undefined` parts do not constrain; `error` makes the term match nothing. */
interface ParsedTerm {
  readonly labels?: readonly Requirement[];
  readonly fields?: ReadonlyArray<{ key: string; value: string; equal: boolean }>;
  readonly error?: string;
}

function parseTerm(term: DeepReadonly<NodeSelectorTerm>): ParsedTerm {
  const errors: string[] = [];
  let labels: Requirement[] | undefined;
  let fields: Array<{ key: string; value: string; equal: boolean }> | undefined;
  if (term.matchExpressions && term.matchExpressions.length > 0) {
    labels = [];
    for (const e of term.matchExpressions) {
      const op = NODE_SELECTOR_OPERATORS[e.operator];
      if (!op) {
        errors.push(`operator: Unsupported value: ${JSON.stringify(e.operator)}`);
        continue;
      }
      try {
        labels.push(newRequirement(e.key, op, e.values ?? []));
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
  }
  if (term.matchFields && term.matchFields.length > 0) {
    fields = [];
    for (const f of term.matchFields) {
      if (f.operator !== "In" && f.operator !== "NotIn") {
        errors.push(`operator: Unsupported value: ${JSON.stringify(f.operator)}`);
      } else if ((f.values ?? []).length !== 1) {
        errors.push("values: must have one element");
      } else {
        fields.push({ key: f.key, value: f.values![0]!, equal: f.operator === "In" });
      }
    }
  }
  if (errors.length > 0) return { error: errors.join("; ") };
  return { ...(labels ? { labels } : {}), ...(fields ? { fields } : {}) };
}

function isEmptyTerm(term: DeepReadonly<NodeSelectorTerm>): boolean {
  return (term.matchExpressions?.length ?? 0) === 0 && (term.matchFields?.length ?? 0) === 0;
}

/** A term matches when its label requirements all hold and (for a named node) its field requirements on `metadata.name` hold. */
function termMatches(term: ParsedTerm, node: ReadonlyNode): boolean {
  if (term.error !== undefined) return false;
  const labels = node.metadata?.labels;
  if (term.labels) for (const r of term.labels) if (!r.matches(labels)) return false;
  const name = node.metadata?.name ?? "";
  if (term.fields && name !== "") {
    for (const f of term.fields) {
      const have = f.key === "metadata.name" ? name : "";
      if ((have === f.value) !== f.equal) return false;
    }
  }
  return true;
}

/**
 * A node selector (`nodeaffinity.LazyErrorNodeSelector`): terms are ORed, empty terms are
 * dropped, and a selector with no terms left matches no node. A term with an invalid requirement
 * matches nothing (the API server rejects those; kube-scheduler tolerates them lazily).
 */
export class NodeSelectorMatcher {
  readonly #terms: readonly ParsedTerm[];
  constructor(selector: DeepReadonly<NodeSelector>) {
    this.#terms = (selector.nodeSelectorTerms ?? []).filter((t) => !isEmptyTerm(t)).map(parseTerm);
  }
  /** True when some term matches the node. */
  matches(node: ReadonlyNode): boolean {
    for (const t of this.#terms) if (termMatches(t, node)) return true;
    return false;
  }
}

/**
 * The pod's required node affinity (`GetRequiredNodeAffinity`): `spec.nodeSelector` (every pair
 * must equal the node's label) AND `requiredDuringSchedulingIgnoredDuringExecution` when set.
 */
export class RequiredNodeAffinity {
  readonly #nodeSelector: ReadonlyArray<readonly [string, string]> | undefined;
  readonly #affinity: NodeSelectorMatcher | undefined;
  constructor(pod: ReadonlyPod) {
    const ns = pod.spec?.nodeSelector;
    this.#nodeSelector = ns && Object.keys(ns).length > 0 ? Object.entries(ns) : undefined;
    const req = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    this.#affinity = req ? new NodeSelectorMatcher(req) : undefined;
  }
  /** True when the node satisfies both the nodeSelector and the required terms. */
  matches(node: ReadonlyNode): boolean {
    if (this.#nodeSelector) {
      const labels = node.metadata?.labels;
      for (const [k, v] of this.#nodeSelector) {
        if (!labels || !Object.hasOwn(labels, k) || labels[k] !== v) return false;
      }
    }
    return this.#affinity ? this.#affinity.matches(node) : true;
  }
}

/**
 * Weighted preferred terms (`nodeaffinity.PreferredSchedulingTerms`): terms with weight 0 or no
 * requirements are dropped; `score(node)` is the sum of the weights of the matching terms.
 * @throws Error when a term has an invalid requirement (kube-scheduler fails PreScore then).
 */
export class PreferredSchedulingTerms {
  readonly #terms: ReadonlyArray<{ term: ParsedTerm; weight: number }>;
  constructor(terms: readonly DeepReadonly<PreferredSchedulingTerm>[]) {
    const parsed: Array<{ term: ParsedTerm; weight: number }> = [];
    const errors: string[] = [];
    terms.forEach((t, i) => {
      if (!t.weight || isEmptyTerm(t.preference)) return;
      const term = parseTerm(t.preference);
      if (term.error !== undefined) errors.push(`[${i}]: ${term.error}`);
      else parsed.push({ term, weight: t.weight });
    });
    if (errors.length > 0) throw new Error(`invalid preferredDuringSchedulingIgnoredDuringExecution: ${errors.join("; ")}`);
    this.#terms = parsed;
  }
  /** Sum of the weights of the terms the node matches. */
  score(node: ReadonlyNode): number {
    let score = 0;
    for (const { term, weight } of this.#terms) if (termMatches(term, node)) score += weight;
    return score;
  }
}

/** A queueing hint's object as a Pod (hints receive `unknown`); undefined when absent. */
export function asPod(obj: unknown): ReadonlyPod | undefined {
  return obj && typeof obj === "object" ? (obj as ReadonlyPod) : undefined;
}

/** A queueing hint's object as a Node; undefined when absent. */
export function asNode(obj: unknown): ReadonlyNode | undefined {
  return obj && typeof obj === "object" ? (obj as ReadonlyNode) : undefined;
}

/** True when both pods are the same object by UID (or by namespace/name when UIDs are missing). */
export function samePod(a: ReadonlyPod | undefined, b: ReadonlyPod | undefined): boolean {
  if (!a || !b) return false;
  const ua = a.metadata?.uid;
  const ub = b.metadata?.uid;
  if (ua && ub) return ua === ub;
  return a.metadata?.namespace === b.metadata?.namespace && a.metadata?.name === b.metadata?.name;
}

/** Structural equality of small JSON values, key order included (used to see whether a field changed). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}
