import type { LabelSelector } from "./types.ts";

/** The operators a `matchExpressions` entry may use. */
const OPERATORS = new Set(["In", "NotIn", "Exists", "DoesNotExist"]);

/**
 * Problems with a label selector that the API server's apps/v1 validation would have refused,
 * as readable messages (empty when the selector is usable). An empty selector is refused: it
 * would select every pod in the namespace (apps/v1 validation: "empty selector is invalid for
 * deployment/replicaset").
 */
export function selectorProblems(selector: LabelSelector | undefined): string[] {
  if (!selector) return ["spec.selector is missing"];
  const problems: string[] = [];
  const labels = Object.entries(selector.matchLabels ?? {});
  const expressions = selector.matchExpressions ?? [];
  if (labels.length === 0 && expressions.length === 0) problems.push("spec.selector is empty: it would select every pod");
  for (const [key, value] of labels) {
    if (!key) problems.push("spec.selector.matchLabels has an empty key");
    if (typeof value !== "string") problems.push(`spec.selector.matchLabels[${key}] is not a string`);
  }
  expressions.forEach((expr, i) => {
    const at = `spec.selector.matchExpressions[${i}]`;
    if (!expr.key) problems.push(`${at}.key is empty`);
    if (!OPERATORS.has(expr.operator)) {
      problems.push(`${at}.operator ${JSON.stringify(expr.operator)} is not one of In, NotIn, Exists, DoesNotExist`);
    } else if ((expr.operator === "In" || expr.operator === "NotIn") && !expr.values?.length) {
      problems.push(`${at}.values must be non-empty for operator ${expr.operator}`);
    } else if ((expr.operator === "Exists" || expr.operator === "DoesNotExist") && expr.values?.length) {
      problems.push(`${at}.values must be empty for operator ${expr.operator}`);
    }
  });
  return problems;
}

/**
 * True when `labels` satisfy `selector` (`matchLabels` and every `matchExpressions` entry).
 * Mirrors apimachinery `metav1.LabelSelectorAsSelector(...).Matches`: `NotIn` and
 * `DoesNotExist` match pods without the key. Use only on selectors without `selectorProblems`.
 */
export function selectorMatches(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const have = labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (have[key] !== value) return false;
  }
  for (const expr of selector.matchExpressions ?? []) {
    const present = Object.hasOwn(have, expr.key);
    const value = have[expr.key];
    switch (expr.operator) {
      case "In":
        if (!present || !expr.values?.includes(value as string)) return false;
        break;
      case "NotIn":
        if (present && expr.values?.includes(value as string)) return false;
        break;
      case "Exists":
        if (!present) return false;
        break;
      case "DoesNotExist":
        if (present) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** True when every label of `subset` is in `labels` with the same value (labels.Set(subset).AsSelector().Matches). */
export function labelsContain(labels: Record<string, string> | undefined, subset: Record<string, string> | undefined): boolean {
  const have = labels ?? {};
  return Object.entries(subset ?? {}).every(([key, value]) => have[key] === value);
}

/**
 * The selector in the API's string syntax (`a=b,c in (d,e),!f`), requirements sorted by key and
 * values sorted, as apimachinery's `labels.Selector.String()` prints it. This is what the
 * `scale` subresource reads from `status.selector` (an HPA lists pods with it).
 */
export function formatSelector(selector: LabelSelector): string {
  const requirements: Array<{ key: string; text: string }> = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) requirements.push({ key, text: `${key}=${value}` });
  for (const expr of selector.matchExpressions ?? []) {
    const values = [...(expr.values ?? [])].sort().join(",");
    const text =
      expr.operator === "In" ? `${expr.key} in (${values})`
      : expr.operator === "NotIn" ? `${expr.key} notin (${values})`
      : expr.operator === "Exists" ? expr.key
      : `!${expr.key}`;
    requirements.push({ key: expr.key, text });
  }
  requirements.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return requirements.map((r) => r.text).join(",");
}
