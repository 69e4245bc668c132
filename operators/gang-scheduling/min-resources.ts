/**
 * A PodGroup's `minResources` against the cluster's free allocatable. Mirrors scheduler-plugins
 * coscheduling's PreFilter check (`pkg/coscheduling/core/core.go` `CheckClusterResource`): the
 * sum over every node of allocatable minus what its pods request (pods of the group itself left
 * out, as they are part of what the group needs) must cover `minResources`, else the group is
 * not tried (`resource gap`). Like upstream it ignores taints, affinity and fragmentation: it is a
 * cheap early "no", never a "yes".
 */
import type { DeepReadonly, Pod } from "../../framework/meta/index.ts";
import type { NodeInfo, ResourceAmounts } from "../../framework/scheduling/framework.ts";

/** A resource amount as text: cpu in millicores (`8000m`), others as their count or bytes. */
function show(name: string, amount: number): string {
  return name === "cpu" ? `${amount}m` : String(amount);
}

/**
 * What the cluster lacks for `minResources` (units of `ResourceAmounts`), as
 * `cpu: 8000m wanted, 6000m free, ...`, or undefined when the free allocatable covers it.
 * `inGroup` tells the group's own pods, whose requests count as free.
 */
export function resourceGap(minResources: ResourceAmounts, nodes: readonly NodeInfo[], inGroup: (pod: DeepReadonly<Pod>) => boolean): string | undefined {
  const names = Object.keys(minResources).filter((r) => (minResources[r] ?? 0) > 0).sort();
  if (names.length === 0) return undefined;
  const free: Record<string, number> = {};
  for (const r of names) free[r] = 0;
  for (const n of nodes) {
    for (const r of names) {
      let used = n.requested[r] ?? 0;
      for (const p of n.pods) if (inGroup(p.pod)) used -= p.requests[r] ?? 0;
      free[r]! += Math.max(0, (n.allocatable[r] ?? 0) - used);
    }
  }
  const gaps = names.filter((r) => free[r]! < minResources[r]!).map((r) => `${r}: ${show(r, minResources[r]!)} wanted, ${show(r, free[r]!)} free`);
  return gaps.length ? gaps.join(", ") : undefined;
}

/** The PreFilter reason: `resource gap for PodGroup <ns>/<name>: <resourceGap>` (coscheduling's `resource gap: %v`). */
export function resourceGapMessage(group: string, gap: string): string {
  return `resource gap for PodGroup ${group}: ${gap}`;
}
