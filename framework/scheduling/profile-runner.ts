/**
 * Runs one profile's plugins at each extension point, with kube-scheduler v1.36's rules
 * (`pkg/scheduler/framework/runtime/framework.go` and `pkg/scheduler/schedule_one.go`):
 * - PreFilter in profile order: `UnschedulableAndUnresolvable` stops at once, `Unschedulable`
 *   is remembered and the others still run, `Error` fails the cycle, `Skip` skips that plugin's
 *   Filter; PreFilter results intersect, and an empty intersection rejects with
 *   `node(s) didn't satisfy plugin(s) [A B] simultaneously` (`... plugin A` for one);
 * - Filter per node in profile order, the first non-Success status per node is recorded (nodes a
 *   PreFilter result left out get `node(s) didn't satisfy plugin(s) [A]`);
 * - Score: PreScore (`Skip` skips that plugin's Score), Score per node, NormalizeScore, times
 *   the profile weight, summed; the highest total wins, ties broken at random with reservoir
 *   sampling as upstream's `selectHost` (pass `random` for a deterministic choice); a single
 *   feasible node is chosen without scoring;
 * - Reserve in order (a failure unreserves every Reserve plugin in reverse order), Permit
 *   (rejections stop; waits are collected with their timeouts).
 * Every extension point is timed into `scheduler_framework_extension_point_duration_seconds`.
 */
import type { DeepReadonly, Pod } from "../meta/index.ts";
import {
  CycleState, implementsPoint, MAX_NODE_SCORE, type BindPlugin, type EnqueueExtensions, type FilterPlugin, type NodeInfo, type NodeInfoLister, type NodeScore,
  type PermitPlugin, type PodInfo, type PostBindPlugin, type PostFilterPlugin, type PreBindPlugin, type PreEnqueuePlugin, type PreFilterPlugin,
  type PreScorePlugin, type QueueSortPlugin, type ReservePlugin, type ScorePlugin, type Status, type WaitingPods,
} from "./framework.ts";
import type { Diagnosis } from "./fit-error.ts";
import { statusMessage } from "./fit-error.ts";
import { isPodGroupPlugin, type PodGroupPlugin } from "./pod-group.ts";
import type { Profile } from "./profile.ts";

/** Records an extension point's duration (seconds) with its status code. */
export type ExtensionPointObserver = (point: string, code: string, seconds: number) => void;

/** The result of searching a node for one pod. */
export type FindResult =
  | { readonly kind: "scheduled"; readonly nodeName: string; readonly evaluatedNodes: number; readonly feasibleNodes: number }
  | { readonly kind: "unschedulable"; readonly diagnosis: Diagnosis; readonly numAllNodes: number }
  | { readonly kind: "error"; readonly message: string; readonly plugin?: string };

const SKIP_KEY = "kubeloop.dev/skip";

/** Default QueueSort (`PrioritySort`): higher `spec.priority` first, then the earlier queue timestamp. */
export const prioritySortLess = (a: { podInfo: PodInfo; timestampMs: number }, b: { podInfo: PodInfo; timestampMs: number }): boolean => {
  const pa = a.podInfo.pod.spec?.priority ?? 0;
  const pb = b.podInfo.pod.spec?.priority ?? 0;
  return pa > pb || (pa === pb && a.timestampMs < b.timestampMs);
};

/** See the module comment. Built once per profile. */
export class ProfileRunner {
  readonly profile: Profile;
  readonly name: string;
  readonly queueSort: QueueSortPlugin | undefined;
  readonly preEnqueue: readonly PreEnqueuePlugin[];
  readonly group: PodGroupPlugin | undefined;
  readonly #preFilter: PreFilterPlugin[];
  readonly #filter: FilterPlugin[];
  readonly #postFilter: PostFilterPlugin[];
  readonly #preScore: PreScorePlugin[];
  readonly #score: ScorePlugin[];
  readonly #reserve: ReservePlugin[];
  readonly #permit: PermitPlugin[];
  readonly #preBind: PreBindPlugin[];
  readonly #bind: BindPlugin[];
  readonly #postBind: PostBindPlugin[];
  readonly #observe: ExtensionPointObserver;
  readonly #random: () => number;

  /** @throws Error for duplicate plugin names or more than one QueueSort plugin. */
  constructor(profile: Profile, opts: { observe?: ExtensionPointObserver; random?: () => number } = {}) {
    this.profile = profile;
    this.name = profile.schedulerName;
    const names = new Set<string>();
    for (const p of profile.plugins) {
      if (names.has(p.name)) throw new Error(`profile ${profile.schedulerName}: plugin ${p.name} is listed twice`);
      names.add(p.name);
    }
    const ps = profile.plugins;
    const sorts = ps.filter(implementsPoint.queueSort);
    if (sorts.length > 1) throw new Error(`profile ${profile.schedulerName}: only one QueueSort plugin is allowed, got ${sorts.map((p) => p.name).join(", ")}`);
    this.queueSort = sorts[0];
    this.preEnqueue = ps.filter(implementsPoint.preEnqueue);
    this.group = ps.find(isPodGroupPlugin);
    this.#preFilter = ps.filter(implementsPoint.preFilter);
    this.#filter = ps.filter(implementsPoint.filter);
    this.#postFilter = ps.filter(implementsPoint.postFilter);
    this.#preScore = ps.filter(implementsPoint.preScore);
    this.#score = ps.filter(implementsPoint.score);
    this.#reserve = ps.filter(implementsPoint.reserve);
    this.#permit = ps.filter(implementsPoint.permit);
    this.#preBind = ps.filter(implementsPoint.preBind);
    this.#bind = ps.filter(implementsPoint.bind);
    this.#postBind = ps.filter(implementsPoint.postBind);
    this.#observe = opts.observe ?? (() => {});
    this.#random = opts.random ?? Math.random;
  }

  /** Runs PreEnqueue plugins; the first non-Success status, with its plugin, or Success. */
  runPreEnqueue(pod: DeepReadonly<Pod>): Status {
    for (const p of this.preEnqueue) {
      const s = safe(p.name, () => p.preEnqueue(pod));
      if (s.code !== "Success") return { ...s, plugin: s.plugin ?? p.name };
    }
    return SUCCESS_STATUS;
  }

  /** PreFilter, Filter, PostFilter, PreScore, Score and host selection for `pod` on `nodes`. */
  findNode(state: CycleState, pod: PodInfo, nodes: NodeInfoLister): FindResult {
    const all = nodes.list();
    if (all.length === 0) return { kind: "error", message: "no nodes available to schedule pods" };
    // PreFilter
    let t = performance.now();
    const skip = new Set<string>();
    state.write(SKIP_KEY, skip);
    let allowed: Set<string> | undefined;
    const pluginsWithNodes = new Set<string>();
    let unschedulable: Status | undefined;
    for (const p of this.#preFilter) {
      const r = safe(p.name, () => p.preFilter(state, pod, nodes));
      const s = r.status;
      if (s.code === "Skip") {
        skip.add(p.name);
        continue;
      }
      if (s.code !== "Success") {
        const st = { ...s, plugin: s.plugin ?? p.name };
        if (st.code === "UnschedulableAndUnresolvable") {
          this.#observe("PreFilter", st.code, since(t));
          return preFilterRejected(all.length, st);
        }
        if (st.code === "Unschedulable") {
          unschedulable = st;
          continue;
        }
        this.#observe("PreFilter", "Error", since(t));
        return { kind: "error", message: `running PreFilter plugin "${p.name}": ${statusMessage(st)}`, plugin: p.name };
      }
      if (r.result?.nodeNames) {
        pluginsWithNodes.add(p.name);
        allowed = allowed ? new Set([...allowed].filter((n) => r.result!.nodeNames!.has(n))) : new Set(r.result.nodeNames);
        if (allowed.size === 0) {
          const list = [...pluginsWithNodes].sort();
          const msg = list.length === 1 ? `node(s) didn't satisfy plugin ${list[0]}` : `node(s) didn't satisfy plugin(s) [${list.join(" ")}] simultaneously`;
          this.#observe("PreFilter", "UnschedulableAndUnresolvable", since(t));
          return preFilterRejected(all.length, { code: "UnschedulableAndUnresolvable", reasons: [msg] }, list);
        }
      }
    }
    this.#observe("PreFilter", unschedulable?.code ?? "Success", since(t));
    if (unschedulable) return preFilterRejected(all.length, unschedulable);

    // Filter
    t = performance.now();
    const candidates = allowed ? all.filter((n) => allowed!.has(n.node.metadata?.name ?? "")) : all;
    const nodeToStatus = new Map<string, Status>();
    const rejectors = new Set<string>(pluginsWithNodes);
    const feasible: NodeInfo[] = [];
    for (const ni of candidates) {
      let ok = true;
      for (const p of this.#filter) {
        if (skip.has(p.name)) continue;
        const s = safe(p.name, () => p.filter(state, pod, ni));
        if (s.code === "Success") continue;
        if (s.code === "Error") {
          this.#observe("Filter", "Error", since(t));
          return { kind: "error", message: `running "${p.name}" filter plugin: ${statusMessage(s)}`, plugin: p.name };
        }
        const st = { ...s, plugin: s.plugin ?? p.name };
        nodeToStatus.set(ni.node.metadata?.name ?? "", st);
        rejectors.add(st.plugin);
        ok = false;
        break;
      }
      if (ok) feasible.push(ni);
    }
    this.#observe("Filter", feasible.length > 0 ? "Success" : "Unschedulable", since(t));
    const absentNodesStatus: Status | undefined = allowed
      ? { code: "UnschedulableAndUnresolvable", reasons: [`node(s) didn't satisfy plugin(s) [${[...pluginsWithNodes].sort().join(" ")}]`] }
      : undefined;

    if (feasible.length === 0) {
      let postFilterMsg: string | undefined;
      t = performance.now();
      for (const p of this.#postFilter) {
        const r = safe(p.name, () => p.postFilter(state, pod, nodeToStatus));
        if (r.status.code === "Success") break;
        if (r.status.reasons.length > 0) postFilterMsg = statusMessage(r.status);
      }
      if (this.#postFilter.length > 0) this.#observe("PostFilter", "Unschedulable", since(t));
      return {
        kind: "unschedulable", numAllNodes: all.length,
        diagnosis: {
          nodeToStatus, unschedulablePlugins: rejectors,
          ...(absentNodesStatus ? { absentNodesStatus } : {}), ...(postFilterMsg ? { postFilterMsg } : {}),
        },
      };
    }
    const evaluatedNodes = candidates.length;
    if (feasible.length === 1) return { kind: "scheduled", nodeName: feasible[0]!.node.metadata?.name ?? "", evaluatedNodes, feasibleNodes: 1 };

    // PreScore + Score
    t = performance.now();
    const scoreSkip = new Set<string>();
    for (const p of this.#preScore) {
      const s = safe(p.name, () => p.preScore(state, pod, feasible));
      if (s.code === "Skip") scoreSkip.add(p.name);
      else if (s.code !== "Success") {
        this.#observe("PreScore", "Error", since(t));
        return { kind: "error", message: `running PreScore plugin "${p.name}": ${statusMessage(s)}`, plugin: p.name };
      }
    }
    this.#observe("PreScore", "Success", since(t));
    t = performance.now();
    const totals = new Array<number>(feasible.length).fill(0);
    for (const p of this.#score) {
      if (scoreSkip.has(p.name)) continue;
      const scores: NodeScore[] = [];
      for (const ni of feasible) {
        const r = safe(p.name, () => p.score(state, pod, ni));
        if (r.status && r.status.code !== "Success") {
          this.#observe("Score", "Error", since(t));
          return { kind: "error", message: `running Score plugin "${p.name}": ${statusMessage(r.status)}`, plugin: p.name };
        }
        scores.push({ name: ni.node.metadata?.name ?? "", score: r.score });
      }
      if (p.normalizeScore) {
        const s = safe(p.name, () => p.normalizeScore!(state, pod, scores));
        if (s.code !== "Success") {
          this.#observe("Score", "Error", since(t));
          return { kind: "error", message: `running Normalize on Score plugin "${p.name}": ${statusMessage(s)}`, plugin: p.name };
        }
      }
      const weight = this.profile.scoreWeights?.[p.name] ?? 1;
      for (let i = 0; i < scores.length; i++) {
        const sc = scores[i]!.score;
        if (sc > MAX_NODE_SCORE || sc < 0) {
          this.#observe("Score", "Error", since(t));
          return { kind: "error", message: `plugin "${p.name}" returns an invalid score ${sc}, it should in the range of [0, ${MAX_NODE_SCORE}] after normalizing`, plugin: p.name };
        }
        totals[i]! += sc * weight;
      }
    }
    this.#observe("Score", "Success", since(t));
    // selectHost: reservoir sampling among the highest totals.
    let best = 0;
    let ties = 1;
    for (let i = 1; i < totals.length; i++) {
      if (totals[i]! > totals[best]!) {
        best = i;
        ties = 1;
      } else if (totals[i] === totals[best]) {
        ties++;
        if (Math.floor(this.#random() * ties) === 0) best = i;
      }
    }
    return { kind: "scheduled", nodeName: feasible[best]!.node.metadata?.name ?? "", evaluatedNodes, feasibleNodes: feasible.length };
  }

  /** Reserve in order; on a failure, unreserves every Reserve plugin (reverse order) and returns the failure. */
  runReserve(state: CycleState, pod: PodInfo, nodeName: string): Status {
    const t = performance.now();
    for (const p of this.#reserve) {
      const s = safe(p.name, () => p.reserve(state, pod, nodeName));
      if (s.code !== "Success") {
        this.runUnreserve(state, pod, nodeName);
        this.#observe("Reserve", s.code, since(t));
        return { ...s, plugin: s.plugin ?? p.name };
      }
    }
    this.#observe("Reserve", "Success", since(t));
    return SUCCESS_STATUS;
  }

  /** Unreserve of every Reserve plugin, in reverse order; errors are swallowed (Unreserve must not fail). */
  runUnreserve(state: CycleState, pod: PodInfo, nodeName: string): void {
    const t = performance.now();
    for (let i = this.#reserve.length - 1; i >= 0; i--) {
      const p = this.#reserve[i]!;
      try {
        p.unreserve(state, pod, nodeName);
      } catch {
        // Unreserve is best-effort, as upstream (it returns nothing).
      }
    }
    this.#observe("Unreserve", "Success", since(t));
  }

  /**
   * Permit in order: a rejection (or error) stops and is returned with its plugin; `Wait`s are
   * collected as plugin -> timeout (ms). Success with an empty map means allowed.
   */
  runPermit(state: CycleState, pod: PodInfo, nodeName: string, waiting: WaitingPods): { status: Status; waits: Map<string, number> } {
    const t = performance.now();
    const waits = new Map<string, number>();
    for (const p of this.#permit) {
      const r = safe(p.name, () => p.permit(state, pod, nodeName, waiting));
      const s = r.status;
      if (s.code === "Success") continue;
      if (s.code === "Wait") {
        waits.set(p.name, r.timeoutMs ?? 0);
        continue;
      }
      this.#observe("Permit", s.code, since(t));
      return { status: { ...s, plugin: s.plugin ?? p.name }, waits };
    }
    this.#observe("Permit", waits.size > 0 ? "Wait" : "Success", since(t));
    return { status: waits.size > 0 ? { code: "Wait", reasons: [] } : SUCCESS_STATUS, waits };
  }

  /** PreBind in order; the first failure is returned. */
  async runPreBind(state: CycleState, pod: PodInfo, nodeName: string, signal: AbortSignal): Promise<Status> {
    const t = performance.now();
    for (const p of this.#preBind) {
      const s = await safeAsync(p.name, () => p.preBind(state, pod, nodeName, signal));
      if (s.code !== "Success" && s.code !== "Skip") {
        this.#observe("PreBind", s.code, since(t));
        return { ...s, plugin: s.plugin ?? p.name };
      }
    }
    this.#observe("PreBind", "Success", since(t));
    return SUCCESS_STATUS;
  }

  /** Bind plugins in order until one does not return Skip; `undefined` when all skipped (or none): the runtime's default binder binds. */
  async runBind(state: CycleState, pod: PodInfo, nodeName: string, signal: AbortSignal): Promise<Status | undefined> {
    for (const p of this.#bind) {
      const s = await safeAsync(p.name, () => p.bind(state, pod, nodeName, signal));
      if (s.code === "Skip") continue;
      return s.code === "Success" ? s : { ...s, plugin: s.plugin ?? p.name };
    }
    return undefined;
  }

  /** PostBind, informational; errors are swallowed. */
  runPostBind(state: CycleState, pod: PodInfo, nodeName: string): void {
    for (const p of this.#postBind) {
      try {
        p.postBind(state, pod, nodeName);
      } catch {
        // informational only
      }
    }
  }

  /** Plugin name -> registered cluster events, for the queue. */
  events(): Map<string, ReturnType<EnqueueExtensions["eventsToRegister"]>> {
    const out = new Map<string, ReturnType<EnqueueExtensions["eventsToRegister"]>>();
    for (const p of this.profile.plugins) if (implementsPoint.enqueueExtensions(p)) out.set(p.name, p.eventsToRegister());
    return out;
  }
}

const SUCCESS_STATUS: Status = Object.freeze({ code: "Success", reasons: Object.freeze([]) as readonly string[] }) as Status;

function preFilterRejected(numAllNodes: number, s: Status, plugins?: string[]): FindResult {
  return {
    kind: "unschedulable", numAllNodes,
    diagnosis: {
      nodeToStatus: new Map(), absentNodesStatus: s, preFilterMsg: statusMessage(s),
      unschedulablePlugins: new Set(plugins ?? (s.plugin ? [s.plugin] : [])),
    },
  };
}

function since(t: number): number {
  return (performance.now() - t) / 1000;
}

/**
 * A plugin that throws is an Error status naming it (the scheduler never crashes on a plugin).
 * The value returned for a throw fits every result shape used here: a Status, `{ status }` and
 * `{ score, status }`.
 */
function safe<T>(plugin: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const s: Status = { code: "Error", reasons: [`plugin ${plugin} threw: ${err instanceof Error ? err.message : String(err)}`], plugin };
    return { status: s, score: 0, code: s.code, reasons: s.reasons, plugin } as unknown as T;
  }
}

async function safeAsync(plugin: string, fn: () => Promise<Status>): Promise<Status> {
  try {
    return await fn();
  } catch (err) {
    return { code: "Error", reasons: [`plugin ${plugin} threw: ${err instanceof Error ? err.message : String(err)}`], plugin };
  }
}
