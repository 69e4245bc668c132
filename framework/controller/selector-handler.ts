import type { KubeObject } from "../meta/index.ts";
import type { RequestMapper } from "./handler.ts";
import type { Request } from "./reconcile.ts";

/** Options of `enqueueSelecting`. */
export interface SelectingOptions<O extends KubeObject> {
  /**
   * The requests of the objects that select `obj` now (e.g. the Services of its namespace whose
   * selector matches its labels). Read caches only.
   */
  selectorsOf(obj: O): Request[];
  /**
   * Whether an update can change which objects select it. Default: its labels changed.
   */
  membershipChanged?(oldObj: O, newObj: O): boolean;
  /**
   * Whether an update changed something the selecting objects read from it. Default: true
   * (every update that is not a resync).
   */
  contentChanged?(oldObj: O, newObj: O): boolean;
}

function sameLabels(a: KubeObject, b: KubeObject): boolean {
  const la = a.metadata?.labels ?? {};
  const lb = b.metadata?.labels ?? {};
  const ka = Object.keys(la);
  return ka.length === Object.keys(lb).length && ka.every((k) => la[k] === lb[k]);
}

function keyOf(r: Request): string {
  return `${r.namespace ?? ""}/${r.name}`;
}

/**
 * Enqueues the objects that select the watched object, e.g. the Services whose selector matches
 * a Pod (kube-controller-manager's endpoints controllers: `GetServicesToUpdateOnPodChange`).
 * Create and delete enqueue the selectors of the object. An update with the same
 * resourceVersion (a resync) enqueues nothing; an update that changed neither membership nor
 * content enqueues nothing; when only the membership changed, only the selectors gained or lost
 * (the symmetric difference of old and new) are enqueued; when the content changed too, all of
 * them (the union).
 */
export function enqueueSelecting<O extends KubeObject>(opts: SelectingOptions<O>): RequestMapper<O> {
  const membershipChanged = opts.membershipChanged ?? ((o, n) => !sameLabels(o, n));
  const contentChanged = opts.contentChanged ?? (() => true);
  return {
    create: (obj) => opts.selectorsOf(obj),
    delete: (obj) => opts.selectorsOf(obj),
    update: (oldObj, newObj) => {
      if (oldObj.metadata?.resourceVersion === newObj.metadata?.resourceVersion) return [];
      const content = contentChanged(oldObj, newObj);
      const membership = membershipChanged(oldObj, newObj);
      if (!content && !membership) return [];
      const now = opts.selectorsOf(newObj);
      if (!membership) return now;
      const before = opts.selectorsOf(oldObj);
      const nowKeys = new Set(now.map(keyOf));
      const beforeKeys = new Set(before.map(keyOf));
      if (content) return [...now, ...before.filter((r) => !nowKeys.has(keyOf(r)))];
      return [...now.filter((r) => !beforeKeys.has(keyOf(r))), ...before.filter((r) => !nowKeys.has(keyOf(r)))];
    },
  };
}
