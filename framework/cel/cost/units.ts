/**
 * Cost and size ranges in CEL cost units, with cel-go v0.26's saturating uint64 arithmetic
 * (checker/cost.go: CostEstimate, SizeEstimate, addUint64NoOverflow, multiplyByCostFactor) and
 * the cost constants of cel-go's common/cost.go and Kubernetes' request size limit.
 */

/** A cost or size range in CEL units; both bounds are uint64 (0 .. 2^64 - 1). */
export interface CostRange {
  min: bigint;
  max: bigint;
}

export const MAX_UINT64 = (1n << 64n) - 1n;
export const TWO_TO_64 = 2 ** 64;
/** celconfig.MaxRequestSizeBytes: 3 MiB. */
export const MAX_REQUEST_SIZE_BYTES = 3n * 1024n * 1024n;
export const STRING_TRAVERSAL = 0.1;
export const REGEX_LENGTH = 0.25;
export const LIST_CREATE_BASE = 10n;
export const MAP_CREATE_BASE = 30n;

export function fixed(n: bigint): CostRange {
  return { min: n, max: n };
}
export const UNKNOWN: CostRange = { min: 0n, max: MAX_UINT64 };
export const addSat = (x: bigint, y: bigint): bigint => (x + y > MAX_UINT64 ? MAX_UINT64 : x + y);
export const mulSat = (x: bigint, y: bigint): bigint => (x * y > MAX_UINT64 ? MAX_UINT64 : x * y);
/** cel-go's multiplyByCostFactor: float64 product, rounded up, saturating. */
export function factorSat(x: bigint, y: number): bigint {
  const xf = Number(x);
  if (xf > 0 && y > 0 && xf > Number(MAX_UINT64) / y) return MAX_UINT64;
  const ceil = Math.ceil(xf * y);
  return ceil >= TWO_TO_64 ? MAX_UINT64 : BigInt(ceil);
}
export const add = (a: CostRange, b: CostRange): CostRange => ({ min: addSat(a.min, b.min), max: addSat(a.max, b.max) });
export const mul = (a: CostRange, b: CostRange): CostRange => ({ min: mulSat(a.min, b.min), max: mulSat(a.max, b.max) });
export const factor = (a: CostRange, y: number): CostRange => ({ min: factorSat(a.min, y), max: factorSat(a.max, y) });
export const union = (a: CostRange, b: CostRange): CostRange => ({ min: a.min < b.min ? a.min : b.min, max: a.max > b.max ? a.max : b.max });
