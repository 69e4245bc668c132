/** Latency summaries shared by the benchmark suites. */

/** Milliseconds: p50, p99, max (NaN for no values). */
export interface Latency { p50: number; p99: number; max: number }

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;

/** p50, p99 (nearest rank) and max of `values`. */
export function latencySummary(values: readonly number[]): Latency {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted[sorted.length - 1] ?? NaN };
}
