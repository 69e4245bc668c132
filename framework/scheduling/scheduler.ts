/**
 * The scheduler: pops pods from the scheduling queue and runs kube-scheduler v1.36's scheduling
 * cycle on a snapshot of the cache, then the binding cycle asynchronously
 * (`pkg/scheduler/schedule_one.go`, `schedule_one_podgroup.go`):
 *
 * scheduling cycle (one at a time): PreFilter -> Filter (every node) -> PostFilter when none fits
 * -> PreScore/Score -> select host -> assume in the cache -> Reserve -> Permit;
 * binding cycle (concurrent, per pod): wait on Permit -> PreBind -> Bind (`pods/binding` unless a
 * Bind plugin binds) -> PostBind. A failure anywhere after assume unreserves, forgets the
 * assumption and requeues the pod with backoff.
 *
 * Pods of a group (a profile plugin implements `groupOf`, see `pod-group.ts`) go through the
 * one-snapshot group cycle instead.
 *
 * Only pods whose `spec.schedulerName` is a profile's, with no `spec.nodeName` and no
 * `deletionTimestamp`, are scheduled. Reporting is kube-scheduler's: on failure the pod gets
 * `PodScheduled=False` with reason `Unschedulable` (or `SchedulerError` for internal errors) and
 * the message, and a `FailedScheduling` Warning Event (action `Scheduling`, note cut at 1024
 * characters with ` ...`); on success a `Scheduled` Normal Event (action `Binding`)
 * `Successfully assigned <ns>/<pod> to <node>`.
 */
import type { Registry } from "prom-client";
import type { Client, KubeClient } from "../client/index.ts";
import type { EventRecorder } from "../events/index.ts";
import { realClock, type Clock } from "../flowcontrol/index.ts";
import { rootLogger, type Logger } from "../log/index.ts";
import type { Informer } from "../cache/index.ts";
import { Pods, type DeepReadonly, type KubeObject, type Node, type Pod } from "../meta/index.ts";
import { SchedulerCache, Snapshot } from "./cache.ts";
import { fitErrorMessage, statusMessage } from "./fit-error.ts";
import { CycleState, type ClusterEvent, type PodInfo, type Status } from "./framework.ts";
import { schedulerMetrics, type SchedulerMetrics } from "./metrics.ts";
import { POD_GROUP_UNSCHEDULABLE_MESSAGE, type PodGroupMemberResult, type PodGroupRef } from "./pod-group.ts";
import { prioritySortLess, ProfileRunner } from "./profile-runner.ts";
import type { Profile } from "./profile.ts";
import { SchedulingQueue, type QueuedPod } from "./queue.ts";
import { podInfoOf } from "./resources.ts";
import { WaitingPodsMap } from "./waiting-pods.ts";

/** An extra kind of object whose events may make pods schedulable (e.g. PodGroups): its informer and the `resource` name plugins register events under. */
export interface ClusterEventSource {
  /** As in `ClusterEvent.resource`, e.g. `podgroups.scheduling.kubeloop.dev`. */
  readonly resource: string;
  readonly informer: Informer<KubeObject>;
}

/** What the scheduler needs of a client: `patch` (pod status) and `bind` (`pods/binding`). */
export type SchedulerClient = Pick<Client, "patch"> & Pick<KubeClient, "bind">;

/** Options of `Scheduler`. */
export interface SchedulerOptions {
  /** Binds pods (`bind`) and writes their status (`patch`); the manager's fenced client, so only the leader writes. */
  client: SchedulerClient;
  /** Informer of every Node. */
  nodes: Informer<Node>;
  /** Informer of every Pod (all namespaces, no selector). */
  pods: Informer<Pod>;
  /** The profiles; each serves pods of its `schedulerName`. The first profile's QueueSort orders the queue. */
  profiles: readonly Profile[];
  /**
   * Writes `Scheduled` / `FailedScheduling` Events: one recorder, or one per profile (called with
   * its scheduler name, which kube-scheduler uses as `reportingController`); none: no Events.
   */
  recorder?: EventRecorder | ((schedulerName: string) => EventRecorder);
  /** Registry of the `scheduler_*` metrics; none: a private one. */
  metrics?: Registry;
  /** Other informers whose events feed queueing hints. */
  eventSources?: readonly ClusterEventSource[];
  /** Default 1000 ms. */
  initialBackoffMs?: number;
  /** Default 10000 ms. */
  maxBackoffMs?: number;
  /** How long an assumed pod waits for the informer after its bind, in ms. Default 30000. */
  assumedPodTtlMs?: number;
  /** Random source of the tie-break between equally scored nodes (default `Math.random`). */
  random?: () => number;
  clock?: Clock;
  log?: Logger;
}

interface Assumed {
  runner: ProfileRunner;
  qp: QueuedPod;
  info: PodInfo;
  nodeName: string;
  state: CycleState;
  startMs: number;
  /** Resolves when Permit allowed the pod; undefined when it did not wait. */
  permit?: Promise<Status>;
}

/**
 * See the module comment. `start(signal)` runs it (a manager `Runnable`; it needs leader
 * election: only the leader schedules and binds). Informer handlers are registered at start, so a
 * standby keeps no queue.
 */
export class Scheduler {
  /** Only the leader schedules. */
  readonly needLeaderElection = true;
  readonly #opts: SchedulerOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #runners = new Map<string, ProfileRunner>();
  readonly #queue: SchedulingQueue;
  readonly #cache: SchedulerCache;
  readonly #snapshot = new Snapshot();
  readonly #waiting: WaitingPodsMap;
  readonly #metrics: SchedulerMetrics;
  readonly #binding = new Set<Promise<void>>();
  /** Aborts when work in flight (binds, status writes) must be dropped: the manager's hard stop. A graceful stop lets binds finish. */
  #signal: AbortSignal = new AbortController().signal;
  #pendingScheduled = false;

  /** @throws Error when no profile is given, two profiles share a scheduler name, or a profile is invalid. */
  constructor(opts: SchedulerOptions) {
    if (opts.profiles.length === 0) throw new Error("scheduler: at least one profile is required");
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
    this.#log = (opts.log ?? rootLogger).child({ component: "scheduler" });
    this.#metrics = schedulerMetrics(opts.metrics);
    for (const p of opts.profiles) {
      if (this.#runners.has(p.schedulerName)) throw new Error(`scheduler: two profiles serve schedulerName ${p.schedulerName}`);
      this.#runners.set(p.schedulerName, new ProfileRunner(p, {
        ...(opts.random ? { random: opts.random } : {}),
        observe: (point, code, seconds) => this.#metrics.extensionPointDuration.observe({ extension_point: point, status: code, profile: p.schedulerName }, seconds),
      }));
    }
    const first = this.#runners.values().next().value!;
    const events = new Map<string, ReturnType<ProfileRunner["events"]> extends Map<string, infer V> ? V : never>();
    for (const r of this.#runners.values()) for (const [k, v] of r.events()) events.set(k, v);
    this.#cache = new SchedulerCache({ clock: this.#clock, ...(opts.assumedPodTtlMs !== undefined ? { assumedPodTtlMs: opts.assumedPodTtlMs } : {}) });
    this.#waiting = new WaitingPodsMap(this.#clock);
    this.#queue = new SchedulingQueue({
      less: first.queueSort ? (a, b) => first.queueSort!.less(a, b) : prioritySortLess,
      podInfoOf,
      preEnqueue: (pod) => this.#runnerFor(pod)?.runPreEnqueue(pod) ?? { code: "Success", reasons: [] },
      events, clock: this.#clock,
      ...(opts.initialBackoffMs !== undefined ? { initialBackoffMs: opts.initialBackoffMs } : {}),
      ...(opts.maxBackoffMs !== undefined ? { maxBackoffMs: opts.maxBackoffMs } : {}),
      onChange: () => this.#updatePending(),
    });
  }

  /** The queue (read-only use: counts, where a pod is). */
  get queue(): Pick<SchedulingQueue, "pendingCounts" | "whereIs"> {
    return this.#queue;
  }

  /**
   * Registers the informer handlers, waits for the informers to sync, and schedules until `signal`
   * aborts; then stops taking pods and waits for the binds in flight (abandoned when `hardStop`
   * aborts).
   */
  async start(signal: AbortSignal, hardStop?: AbortSignal): Promise<void> {
    if (hardStop) this.#signal = hardStop;
    const regs = [this.#watchNodes(), this.#watchPods(), ...(this.#opts.eventSources ?? []).map((s) => this.#watchSource(s))];
    try {
      await Promise.all([this.#opts.nodes.waitForSync(signal), this.#opts.pods.waitForSync(signal), ...(this.#opts.eventSources ?? []).map((s) => s.informer.waitForSync(signal))]);
      // The handlers' initial replay arrives on a microtask after registration.
      await new Promise<void>((r) => setImmediate(r));
      this.#queue.start(signal);
      this.#log.info({ profiles: [...this.#runners.keys()] }, "scheduler started");
      for (;;) {
        const qp = await this.#queue.pop(signal);
        if (!qp) break;
        try {
          this.#scheduleOne(qp);
        } catch (err) {
          this.#log.error({ err, pod: keyOf(qp.podInfo.pod) }, "scheduling cycle failed");
          this.#queue.requeueFailed(uidOf(qp.podInfo.pod), [], true);
        }
        // Let informer events and binding requests progress between cycles.
        await new Promise<void>((r) => setImmediate(r));
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    } finally {
      this.#queue.close();
      this.#waiting.rejectAll("scheduler stopped");
      await Promise.allSettled([...this.#binding]);
      for (const r of regs) r.remove();
      this.#log.info("scheduler stopped");
    }
  }

  // --------------------------------------------------------------------------------------------
  // Informer handlers

  #watchNodes() {
    return this.#opts.nodes.addEventHandler({
      onAdd: (n) => {
        this.#cache.setNode(n as DeepReadonly<Node>);
        this.#queue.onEvent({ resource: "Node", action: "Add" }, undefined, n);
      },
      onUpdate: (o, n) => {
        this.#cache.setNode(n as DeepReadonly<Node>);
        this.#queue.onEvent({ resource: "Node", action: "Update" }, o, n);
      },
      onDelete: (n) => {
        this.#cache.removeNode(n.metadata?.name ?? "");
        this.#queue.onEvent({ resource: "Node", action: "Delete" }, n, undefined);
      },
    });
  }

  #watchPods() {
    return this.#opts.pods.addEventHandler({
      onAdd: (p) => this.#onPod(undefined, p as DeepReadonly<Pod>),
      onUpdate: (o, p) => this.#onPod(o as DeepReadonly<Pod>, p as DeepReadonly<Pod>),
      onDelete: (p) => {
        const pod = p as DeepReadonly<Pod>;
        const uid = uidOf(pod);
        const wasAccounted = this.#cache.has(uid);
        this.#cache.removePod(pod);
        this.#queue.delete(uid);
        if (this.#waiting.get(uid)) this.#waiting.reject(uid, "", "pod was deleted while waiting at Permit");
        if (wasAccounted) this.#queue.onEvent({ resource: "Pod", action: "Delete" }, pod, undefined);
      },
    });
  }

  #onPod(old: DeepReadonly<Pod> | undefined, pod: DeepReadonly<Pod>): void {
    const uid = uidOf(pod);
    if (pod.spec?.nodeName) {
      const had = this.#cache.has(uid);
      this.#cache.setPod(pod);
      this.#queue.delete(uid);
      const terminal = pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
      if (terminal && had) this.#queue.onEvent({ resource: "Pod", action: "Delete" }, pod, undefined);
      else if (!terminal) this.#queue.onEvent({ resource: "Pod", action: had ? "Update" : "Add" }, old, pod);
      return;
    }
    if (this.#cache.isAssumed(uid)) return; // bind in flight; the bound update confirms it
    if (this.#responsible(pod)) {
      if (old) this.#queue.update(pod);
      else this.#queue.add(pod);
    } else {
      this.#queue.delete(uid);
    }
  }

  #watchSource(src: ClusterEventSource) {
    const ev = (action: ClusterEvent["action"]): ClusterEvent => ({ resource: src.resource, action });
    return src.informer.addEventHandler({
      onAdd: (o) => this.#queue.onEvent(ev("Add"), undefined, o),
      onUpdate: (o, n) => this.#queue.onEvent(ev("Update"), o, n),
      onDelete: (o) => this.#queue.onEvent(ev("Delete"), o, undefined),
    });
  }

  #responsible(pod: DeepReadonly<Pod>): boolean {
    return this.#runners.has(pod.spec?.schedulerName ?? "default-scheduler") && !pod.metadata?.deletionTimestamp && !pod.spec?.nodeName;
  }

  #runnerFor(pod: DeepReadonly<Pod>): ProfileRunner | undefined {
    return this.#runners.get(pod.spec?.schedulerName ?? "default-scheduler");
  }

  // --------------------------------------------------------------------------------------------
  // Scheduling cycle

  /** Whether the popped pod should be skipped (deleted, terminating, bound or assumed meanwhile): upstream's `skipPodSchedule`. */
  #skip(qp: QueuedPod): boolean {
    const pod = qp.podInfo.pod;
    return qp.deleted || !!pod.metadata?.deletionTimestamp || this.#cache.has(uidOf(pod));
  }

  #scheduleOne(qp: QueuedPod): void {
    const runner = this.#runnerFor(qp.podInfo.pod);
    if (!runner || this.#skip(qp)) {
      this.#queue.done(uidOf(qp.podInfo.pod));
      return;
    }
    const group = runner.group?.groupOf(qp.podInfo.pod);
    if (group) return this.#scheduleGroup(runner, qp, group);
    const startMs = this.#clock.now();
    this.#cache.updateSnapshot(this.#snapshot);
    const state = new CycleState();
    const r = runner.findNode(state, qp.podInfo, this.#snapshot);
    if (r.kind === "error") return this.#fail(runner, qp, { code: "Error", reasons: [r.message] }, [], startMs);
    if (r.kind === "unschedulable") {
      return this.#fail(runner, qp, { code: "Unschedulable", reasons: [fitErrorMessage(r.numAllNodes, r.diagnosis)] }, r.diagnosis.unschedulablePlugins, startMs);
    }
    const assumed = this.#assumeReservePermit(runner, qp, qp.podInfo, r.nodeName, state, startMs);
    if (assumed) this.#startBinding(assumed);
  }

  /** Assume + Reserve + Permit of the single-pod cycle; on failure reports it and returns undefined. */
  #assumeReservePermit(runner: ProfileRunner, qp: QueuedPod, info: PodInfo, nodeName: string, state: CycleState, startMs: number): Assumed | undefined {
    this.#cache.assume(info, nodeName);
    const rs = runner.runReserve(state, info, nodeName);
    if (rs.code !== "Success") {
      this.#cache.forget(info);
      this.#failAfterAssume(runner, qp, rs, nodeName, startMs);
      return undefined;
    }
    const { status, waits } = runner.runPermit(state, info, nodeName, this.#waiting);
    if (status.code !== "Success" && status.code !== "Wait") {
      runner.runUnreserve(state, info, nodeName);
      this.#cache.forget(info);
      this.#failAfterAssume(runner, qp, status, nodeName, startMs);
      return undefined;
    }
    const assumed: Assumed = { runner, qp, info, nodeName, state, startMs };
    if (waits.size > 0) assumed.permit = this.#waiting.add(uidOf(info.pod), info.pod, waits);
    return assumed;
  }

  /** A rejection after a host was chosen reads `0/1 nodes are available: <reason>.` (upstream's FitError with NumAllNodes 1). */
  #failAfterAssume(runner: ProfileRunner, qp: QueuedPod, s: Status, nodeName: string, startMs: number): void {
    if (s.code === "Unschedulable" || s.code === "UnschedulableAndUnresolvable") {
      const msg = fitErrorMessage(1, { nodeToStatus: new Map([[nodeName, s]]), unschedulablePlugins: new Set(s.plugin ? [s.plugin] : []) });
      this.#fail(runner, qp, { code: s.code, reasons: [msg] }, s.plugin ? [s.plugin] : [], startMs);
    } else {
      this.#fail(runner, qp, s, [], startMs);
    }
  }

  #startBinding(a: Assumed): void {
    this.#metrics.attempts.inc({ result: "scheduled", profile: a.runner.name });
    this.#metrics.attemptDuration.observe({ result: "scheduled", profile: a.runner.name }, (this.#clock.now() - a.startMs) / 1000);
    const p = this.#bindingCycle(a).finally(() => this.#binding.delete(p));
    this.#binding.add(p);
  }

  async #bindingCycle(a: Assumed): Promise<void> {
    const { runner, info, nodeName, state } = a;
    const uid = uidOf(info.pod);
    let status: Status;
    try {
      status = a.permit ? await a.permit : { code: "Success", reasons: [] };
      if (status.code !== "Success") {
        if (status.code === "Unschedulable" || status.code === "UnschedulableAndUnresolvable") {
          const msg = fitErrorMessage(1, { nodeToStatus: new Map([[nodeName, status]]), unschedulablePlugins: new Set() });
          status = { ...status, reasons: [msg] };
        }
      } else {
        status = await runner.runPreBind(state, info, nodeName, this.#signal);
        if (status.code === "Success") {
          const t = performance.now();
          const bound = await runner.runBind(state, info, nodeName, this.#signal);
          status = bound ?? (await this.#defaultBind(info, nodeName));
          this.#metrics.extensionPointDuration.observe({ extension_point: "Bind", status: status.code, profile: runner.name }, (performance.now() - t) / 1000);
        }
      }
    } catch (err) {
      status = { code: "Error", reasons: [err instanceof Error ? err.message : String(err)] };
    }
    if (status.code === "Success") {
      this.#cache.finishBinding(info);
      this.#metrics.sliDuration.observe({ attempts: String(a.qp.attempts) }, (this.#clock.now() - a.qp.initialAttemptTimestampMs) / 1000);
      const ns = info.pod.metadata?.namespace ?? "";
      void this.#recorder(runner)?.event(info.pod as KubeObject, {
        type: "Normal", reason: "Scheduled", action: "Binding", note: `Successfully assigned ${ns}/${info.pod.metadata?.name} to ${nodeName}`,
      });
      runner.runPostBind(state, info, nodeName);
      this.#queue.done(uid);
      return;
    }
    // Binding cycle failure: unreserve, forget, requeue; the freed room may help others (upstream moves pods on AssignedPodDelete).
    runner.runUnreserve(state, info, nodeName);
    this.#cache.forget(info);
    const rejectors = status.plugin && status.code !== "Error" ? [status.plugin] : [];
    this.#fail(runner, a.qp, status, rejectors, a.startMs, true);
    // As upstream, the event carries the assumed pod (with its node), so hints see room freed on that node.
    this.#queue.onEvent({ resource: "Pod", action: "Delete" }, { ...info.pod, spec: { ...info.pod.spec, nodeName } }, undefined);
  }

  async #defaultBind(info: PodInfo, nodeName: string): Promise<Status> {
    const pod = info.pod;
    try {
      await this.#opts.client.bind({ namespace: pod.metadata?.namespace ?? "", name: pod.metadata?.name ?? "" }, nodeName, {
        ...(pod.metadata?.uid ? { uid: pod.metadata.uid } : {}), signal: this.#signal,
      });
      return { code: "Success", reasons: [] };
    } catch (err) {
      return { code: "Error", reasons: [`binding rejected: ${err instanceof Error ? err.message : String(err)}`], plugin: "DefaultBinder" };
    }
  }

  // --------------------------------------------------------------------------------------------
  // Group cycle (see pod-group.ts)

  #scheduleGroup(runner: ProfileRunner, first: QueuedPod, group: PodGroupRef): void {
    const startMs = this.#clock.now();
    const groupPlugin = runner.group!;
    const members: QueuedPod[] = [first];
    for (const uid of [...this.#queue.uids()]) {
      if (uid === uidOf(first.podInfo.pod)) continue;
      const q = this.#queue.get(uid);
      if (!q || q.where === "inFlight" || q.where === "gated") continue;
      const pod = q.podInfo.pod;
      if (pod.metadata?.namespace !== group.namespace) continue;
      const r = this.#runnerFor(pod);
      const g = (r?.group ?? groupPlugin).groupOf(pod);
      if (g?.key !== group.key) continue;
      const popped = this.#queue.popSpecific(uid);
      if (popped) members.push(popped);
    }
    const live: QueuedPod[] = [];
    for (const m of members) {
      if (this.#skip(m)) this.#queue.done(uidOf(m.podInfo.pod));
      else live.push(m);
    }
    if (live.length === 0) return;
    live.sort((a, b) => {
      const pa = a.podInfo.pod.spec?.priority ?? 0;
      const pb = b.podInfo.pod.spec?.priority ?? 0;
      return pb - pa || a.initialAttemptTimestampMs - b.initialAttemptTimestampMs;
    });
    const names = new Set(live.map((m) => m.podInfo.pod.spec?.schedulerName ?? "default-scheduler"));
    if (names.size > 1) {
      const [a, b] = [...names];
      const msg = `all pods in a single pod group should have the same .spec.schedulerName set, got: "${b}" and "${a}"`;
      for (const m of live) this.#fail(this.#runnerFor(m.podInfo.pod) ?? runner, m, { code: "Error", reasons: [msg] }, [], startMs);
      this.#groupDone(groupPlugin, { group, outcome: "Error", message: msg, scheduledBefore: 0, members: live.map((m) => ({ pod: m.podInfo.pod, message: msg })) });
      return;
    }

    this.#cache.updateSnapshot(this.#snapshot);
    let scheduledBefore = 0;
    for (const info of this.#cache.pods()) {
      if (info.pod.metadata?.namespace === group.namespace && groupPlugin.groupOf(info.pod)?.key === group.key) scheduledBefore++;
    }

    interface Result { qp: QueuedPod; state: CycleState; nodeName?: string; failure?: Status; rejectors: readonly string[]; feasible: boolean }
    const results: Result[] = [];
    const reverts: Array<() => void> = [];
    let groupError: Status | undefined;
    for (const m of live) {
      const state = new CycleState();
      const info = m.podInfo;
      const r = runner.findNode(state, info, this.#snapshot);
      if (r.kind === "error") {
        groupError = { code: "Error", reasons: [`failed to schedule other pod from a pod group: ${r.message}`] };
        results.push({ qp: m, state, failure: { code: "Error", reasons: [r.message] }, rejectors: [], feasible: false });
        break;
      }
      if (r.kind === "unschedulable") {
        results.push({
          qp: m, state, rejectors: [...r.diagnosis.unschedulablePlugins], feasible: false,
          failure: { code: "Unschedulable", reasons: [fitErrorMessage(r.numAllNodes, r.diagnosis)] },
        });
        continue;
      }
      const nodeName = r.nodeName;
      this.#snapshot.assume(info, nodeName);
      const rs = runner.runReserve(state, info, nodeName);
      if (rs.code !== "Success") {
        this.#snapshot.unassume(info, nodeName);
        results.push({ qp: m, state, nodeName, failure: oneNodeFailure(rs, nodeName), rejectors: rs.plugin ? [rs.plugin] : [], feasible: false });
        continue;
      }
      const { status } = runner.runPermit(state, info, nodeName, this.#waiting);
      if (status.code !== "Success" && status.code !== "Wait") {
        runner.runUnreserve(state, info, nodeName);
        this.#snapshot.unassume(info, nodeName);
        results.push({ qp: m, state, nodeName, failure: oneNodeFailure(status, nodeName), rejectors: status.plugin ? [status.plugin] : [], feasible: false });
        continue;
      }
      reverts.push(() => {
        runner.runUnreserve(state, info, nodeName);
        this.#snapshot.unassume(info, nodeName);
      });
      results.push({ qp: m, state, nodeName, rejectors: [], feasible: true });
    }
    // Revert every what-if assumption (reverse order), then act on the outcome.
    for (let i = reverts.length - 1; i >= 0; i--) reverts[i]!();
    const feasible = results.filter((r) => r.feasible);
    const ok = !groupError && feasible.length > 0 && scheduledBefore + feasible.length >= group.minMember;
    const memberResults: PodGroupMemberResult[] = [];
    for (const m of live) {
      const r = results.find((x) => x.qp === m);
      if (groupError) {
        const s = r?.failure ?? groupError;
        this.#fail(runner, m, s, [], startMs);
        memberResults.push({ pod: m.podInfo.pod, message: statusMessage(s) });
      } else if (!r!.feasible) {
        this.#fail(runner, m, r!.failure!, r!.rejectors, startMs);
        memberResults.push({ pod: m.podInfo.pod, ...(r!.nodeName ? { nodeName: r!.nodeName } : {}), message: statusMessage(r!.failure!) });
      } else if (!ok) {
        this.#fail(runner, m, { code: "Unschedulable", reasons: [POD_GROUP_UNSCHEDULABLE_MESSAGE] }, [], startMs);
        memberResults.push({ pod: m.podInfo.pod, nodeName: r!.nodeName!, message: POD_GROUP_UNSCHEDULABLE_MESSAGE });
      } else {
        // Bind for real: assume in the cache, Reserve again (it was reverted), no Permit wait.
        const state = new CycleState();
        this.#cache.assume(m.podInfo, r!.nodeName!);
        const rs = runner.runReserve(state, m.podInfo, r!.nodeName!);
        if (rs.code !== "Success") {
          this.#cache.forget(m.podInfo);
          this.#failAfterAssume(runner, m, rs, r!.nodeName!, startMs);
          memberResults.push({ pod: m.podInfo.pod, message: statusMessage(rs) });
          continue;
        }
        this.#startBinding({ runner, qp: m, info: m.podInfo, nodeName: r!.nodeName!, state, startMs });
        memberResults.push({ pod: m.podInfo.pod, nodeName: r!.nodeName! });
      }
    }
    this.#groupDone(groupPlugin, {
      group, outcome: groupError ? "Error" : ok ? "Scheduled" : "Unschedulable",
      message: groupError ? statusMessage(groupError) : ok ? "" : "pod group is unschedulable",
      scheduledBefore, members: memberResults,
    });
  }

  #groupDone(plugin: NonNullable<ProfileRunner["group"]>, result: Parameters<NonNullable<NonNullable<ProfileRunner["group"]>["groupCycleDone"]>>[0]): void {
    try {
      plugin.groupCycleDone?.(result);
    } catch (err) {
      this.#log.error({ err, group: result.group.key }, "groupCycleDone threw");
    }
  }

  // --------------------------------------------------------------------------------------------
  // Failure handling (upstream handleSchedulingFailure)

  #fail(runner: ProfileRunner, qp: QueuedPod, s: Status, rejectors: Iterable<string>, startMs: number, afterBinding = false): void {
    const rejected = s.code === "Unschedulable" || s.code === "UnschedulableAndUnresolvable";
    const reason = rejected ? "Unschedulable" : "SchedulerError";
    if (!afterBinding) {
      const result = rejected ? "unschedulable" : "error";
      this.#metrics.attempts.inc({ result, profile: runner.name });
      this.#metrics.attemptDuration.observe({ result, profile: runner.name }, (this.#clock.now() - startMs) / 1000);
    }
    const pod = qp.podInfo.pod;
    const uid = uidOf(pod);
    const message = statusMessage(s);
    this.#log.debug({ pod: keyOf(pod), reason, message }, "unable to schedule pod");
    const current = this.#opts.pods.store.get(keyOf(pod)) as DeepReadonly<Pod> | undefined;
    if (!current || current.spec?.nodeName || uidOf(current) !== uid) {
      this.#queue.done(uid);
      if (!current || uidOf(current) !== uid) return;
    } else {
      this.#queue.requeueFailed(uid, rejected ? rejectors : [], !rejected);
    }
    void this.#recorder(runner)?.event(pod as KubeObject, { type: "Warning", reason: "FailedScheduling", action: "Scheduling", note: truncateNote(message) });
    void this.#setCondition(current ?? pod, reason, message);
  }

  async #setCondition(pod: DeepReadonly<Pod>, reason: string, message: string): Promise<void> {
    const existing = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
    if (existing && existing.status === "False" && existing.reason === reason && existing.message === message) return;
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const condition = {
      type: "PodScheduled", status: "False", reason, message, lastProbeTime: null,
      lastTransitionTime: existing?.status === "False" ? existing.lastTransitionTime : now,
    };
    try {
      await this.#opts.client.patch(Pods, { namespace: pod.metadata?.namespace ?? "", name: pod.metadata?.name ?? "" }, {
        type: "strategic", body: { status: { conditions: [condition] } },
      }, { subresource: "status", signal: this.#signal });
    } catch (err) {
      if (!this.#signal.aborted) this.#log.warn({ err, pod: keyOf(pod) }, "updating the PodScheduled condition failed");
    }
  }

  #recorder(runner: ProfileRunner): EventRecorder | undefined {
    const r = this.#opts.recorder;
    return typeof r === "function" ? r(runner.name) : r;
  }

  /** Refreshes `scheduler_pending_pods` once per turn of the event loop (counting is O(pods); adds come in bursts). */
  #updatePending(): void {
    if (this.#pendingScheduled) return;
    this.#pendingScheduled = true;
    setImmediate(() => {
      this.#pendingScheduled = false;
      this.#writePending();
    });
  }

  #writePending(): void {
    const c = this.#queue.pendingCounts();
    const g = this.#metrics.pendingPods;
    g.set({ queue: "active" }, c.active);
    g.set({ queue: "backoff" }, c.backoff);
    g.set({ queue: "unschedulable" }, c.unschedulable);
    g.set({ queue: "gated" }, c.gated);
  }
}

/** Upstream's `truncateMessage`: at most 1024 characters, cut ones end in ` ...`. */
export function truncateNote(message: string): string {
  const max = 1024;
  return message.length <= max ? message : `${message.slice(0, max - 4)} ...`;
}

function oneNodeFailure(s: Status, nodeName: string): Status {
  if (s.code !== "Unschedulable" && s.code !== "UnschedulableAndUnresolvable") return s;
  return { code: s.code, reasons: [fitErrorMessage(1, { nodeToStatus: new Map([[nodeName, s]]), unschedulablePlugins: new Set() })] };
}

function uidOf(pod: DeepReadonly<Pod>): string {
  return pod.metadata?.uid ?? `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}

function keyOf(pod: DeepReadonly<Pod>): string {
  return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}
