import { labelSelectorAsSelector, LabelSelectorError, nothing, type LabelSelector, type Selector } from "../../framework/meta/index.ts";

/**
 * Problems with a ReplicaSet's `spec.selector` that apps/v1 validation would have refused, as
 * readable messages (empty when the selector is usable): missing; empty (it would select every pod
 * in the namespace: apps/v1 "empty selector is invalid for deployment"); or not convertible by
 * `labelSelectorAsSelector` (bad key or value, unknown operator, values that do not fit the
 * operator), with apimachinery's messages.
 */
export function selectorProblems(selector: LabelSelector | undefined): string[] {
  if (!selector) return ["spec.selector is missing"];
  const labels = Object.keys(selector.matchLabels ?? {});
  const expressions = selector.matchExpressions ?? [];
  if (labels.length === 0 && expressions.length === 0) return ["spec.selector is empty: it would select every pod"];
  try {
    selectorOf(selector);
    return [];
  } catch (err) {
    if (err instanceof LabelSelectorError) return err.causes.map((c) => `spec.selector: ${c}`);
    throw err;
  }
}

/** Converted selectors by the (immutable, cached) LabelSelector object they came from. */
const converted = new WeakMap<LabelSelector, Selector>();

/**
 * The selector a `metav1.LabelSelector` means (`labelSelectorAsSelector`), converted once per
 * selector object: cached ReplicaSets are never mutated, so their selector object is a stable key.
 * @throws LabelSelectorError when the selector is invalid (see `selectorProblems`).
 */
export function selectorOf(selector: LabelSelector | undefined): Selector {
  if (!selector) return nothing();
  let s = converted.get(selector);
  if (!s) {
    s = labelSelectorAsSelector(selector);
    converted.set(selector, s);
  }
  return s;
}

/**
 * The selector of a usable `spec.selector`, or `nothing()` when it is missing or invalid
 * (upstream skips a ReplicaSet whose selector does not convert, and an empty one, when it looks for
 * the ReplicaSets of a pod).
 */
export function usableSelectorOf(selector: LabelSelector | undefined): Selector {
  try {
    const s = selectorOf(selector);
    return s.empty() ? nothing() : s;
  } catch (err) {
    if (err instanceof LabelSelectorError) return nothing();
    throw err;
  }
}
