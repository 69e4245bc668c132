/** Builders shared by the plugin tests: pods, nodes, NodeInfos and a lister. */
import type { Node, Pod } from "../../../../framework/meta/index.ts";
import { CycleState, type NodeInfo, type NodeInfoLister, type NodeScore, type PodInfo, type ScorePlugin } from "../../../../framework/scheduling/framework.ts";
import { nodeInfoOf, podInfoOf } from "../../../../framework/scheduling/resources.ts";

export type Json = Record<string, unknown>;

let seq = 0;

/** A pod with one container `c` requesting `requests` (if given); `spec` fields merged in. */
export function makePod(opts: { name?: string; uid?: string; requests?: Record<string, string>; spec?: Json; meta?: Json; status?: Json } = {}): Pod {
  const name = opts.name ?? `p${++seq}`;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "ns", uid: opts.uid ?? `uid-${name}`, ...opts.meta },
    spec: { containers: [{ name: "c", image: "x", ...(opts.requests ? { resources: { requests: opts.requests } } : {}) }], ...opts.spec },
    ...(opts.status ? { status: opts.status } : {}),
  } as unknown as Pod;
}

/** A node with `allocatable` (default cpu 4, memory 8Gi, pods 110), labels, taints and spec fields. */
export function makeNode(name: string, opts: { allocatable?: Record<string, string>; labels?: Record<string, string>; taints?: Json[]; spec?: Json } = {}): Node {
  const allocatable = opts.allocatable ?? { cpu: "4", memory: "8Gi", pods: "110" };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, ...(opts.labels ? { labels: opts.labels } : {}) },
    spec: { ...(opts.taints ? { taints: opts.taints } : {}), ...opts.spec },
    status: { allocatable, capacity: allocatable },
  } as unknown as Node;
}

/** A NodeInfo of `node` with `pods` bound to it. */
export function info(node: Node, pods: Pod[] = []): NodeInfo {
  return nodeInfoOf(node, pods);
}

/** A PodInfo. */
export function pi(pod: Pod): PodInfo {
  return podInfoOf(pod);
}

/** A lister over NodeInfos. */
export function lister(nodes: NodeInfo[]): NodeInfoLister {
  return { list: () => nodes, get: (n) => nodes.find((x) => x.node.metadata?.name === n) };
}

/** Runs preScore (if any), score and normalizeScore of one plugin over the nodes; returns name -> score. */
export function scoreAll(plugin: ScorePlugin & { preScore?: (s: CycleState, p: PodInfo, n: readonly NodeInfo[]) => unknown }, pod: PodInfo, nodes: NodeInfo[]): Record<string, number> {
  const state = new CycleState();
  plugin.preScore?.(state, pod, nodes);
  const scores: NodeScore[] = nodes.map((n) => ({ name: n.node.metadata!.name!, score: plugin.score(state, pod, n).score }));
  plugin.normalizeScore?.(state, pod, scores);
  return Object.fromEntries(scores.map((s) => [s.name, s.score]));
}
