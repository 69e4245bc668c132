import { celFunc, celMethod, CelScalar, type CelFunc } from "@bufbuild/cel";
import type { ReflectMessage } from "@bufbuild/protobuf/reflect";
import { refuse } from "./refuse.ts";
import { QuantityType } from "./types.ts";

/**
 * Kubernetes' `quantity` library (quantity, isQuantity, sign, isGreaterThan, isLessThan,
 * compareTo, add, sub, isInteger, asInteger; `asApproximateFloat` is refused), mirrors
 * k8s.io/apiserver/pkg/cel/library/quantity.go in Kubernetes v1.36 and apimachinery's
 * `resource.ParseQuantity` (parseQuantityString, suffixes, rounding up to nano precision) and
 * `int64Amount` (whose scale decides `isInteger`: `quantity('1000m').isInteger()` is false there).
 * The value is kept exactly as nanounits; the int64 representation is tracked beside it.
 */
const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/** apimachinery's fast representation (`int64Amount`), or `dec` when it fell back to inf.Dec. */
type Amount = { kind: "int"; value: bigint; scale: number } | { kind: "dec" };

interface Parsed {
  nanos: bigint;
  amount: Amount;
}

const amounts = new WeakMap<object, Amount>();

const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

function fits(v: bigint): boolean {
  return v >= INT64_MIN && v <= INT64_MAX;
}

function splitQuantity(str: string): { positive: boolean; num: string; denom: string; suffix: string } {
  let positive = true;
  let pos = 0;
  const end = str.length;
  if (pos < end && (str[0] === "-" || str[0] === "+")) {
    positive = str[0] !== "-";
    pos++;
  }
  while (pos < end && str[pos] === "0") pos++;
  if (pos >= end) return { positive, num: "0", denom: "", suffix: "" };
  let i = pos;
  while (i < end && str[i]! >= "0" && str[i]! <= "9") i++;
  let num = str.slice(pos, i);
  pos = i;
  if (pos >= end) return { positive, num, denom: "", suffix: "" };
  if (num.length === 0) num = "0";
  let denom = "";
  if (str[pos] === ".") {
    pos++;
    let j = pos;
    while (j < end && str[j]! >= "0" && str[j]! <= "9") j++;
    denom = str.slice(pos, j);
    pos = j;
    if (pos >= end) return { positive, num, denom, suffix: "" };
  }
  const suffixStart = pos;
  let k = pos;
  while (k < end && "eEinumkKMGTP".includes(str[k]!)) k++;
  if (k >= end) return { positive, num, denom, suffix: str.slice(suffixStart) };
  if (str[k] === "-" || str[k] === "+") k++;
  while (k < end && str[k]! >= "0" && str[k]! <= "9") k++;
  if (k < end) throw new Error("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
  return { positive, num, denom, suffix: str.slice(suffixStart) };
}

/** apimachinery `resource.ParseQuantity`, as exact nanounits. @throws Error when `str` is not a quantity */
export function parseQuantity(str: string): Parsed {
  if (str.length === 0) throw new Error("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
  if (str === "0") return { nanos: 0n, amount: { kind: "int", value: 0n, scale: 0 } };
  const { positive, num, denom, suffix } = splitQuantity(str);
  let base: 2 | 10;
  let exponent: number;
  if (suffix in DECIMAL) {
    base = 10;
    exponent = DECIMAL[suffix]!;
  } else if (suffix in BINARY) {
    base = 2;
    exponent = BINARY[suffix]!;
  } else if (suffix.length > 1 && (suffix[0] === "e" || suffix[0] === "E") && /^[+-]?[0-9]+$/.test(suffix.slice(1))) {
    base = 10;
    const e = Number.parseInt(suffix.slice(1), 10);
    if (!Number.isSafeInteger(e) || e > 2147483647 || e < -2147483648) throw new Error("unable to parse quantity's suffix");
    exponent = e;
    if (Math.abs(exponent) > 400) refuse(`quantity exponent ${exponent} beyond what the in-process evaluator computes exactly`);
  } else {
    throw new Error("unable to parse quantity's suffix");
  }
  // Exact value in nanounits, rounded away from zero (inf.RoundUp) as ParseQuantity does.
  const digits = BigInt(num + denom);
  let numerator = digits * 1_000_000_000n;
  let denominator = 10n ** BigInt(denom.length);
  if (base === 2) numerator *= 2n ** BigInt(exponent);
  else if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
  else denominator *= 10n ** BigInt(-exponent);
  let nanos = numerator / denominator;
  if (nanos * denominator !== numerator) nanos += 1n;
  if (!positive) nanos = -nanos;

  // The int64Amount fast path of ParseQuantity.
  let amount: Amount = { kind: "dec" };
  if (base === 10) {
    const precision = 18 - (num.length + denom.length);
    const scale = exponent - denom.length;
    if (precision >= 0 && scale >= -9) {
      const value = BigInt(num + denom);
      if (fits(value)) amount = { kind: "int", value: positive ? value : -value, scale };
    }
  } else if (denom.length === 0) {
    const precision = 15 - num.length - Math.trunc((exponent * 3) / 10) - 1;
    if (precision >= 0) {
      const value = BigInt(num) * 2n ** BigInt(exponent);
      if (fits(value)) amount = { kind: "int", value: positive ? value : -value, scale: 0 };
    }
  }
  return { nanos, amount };
}

function positiveScale(value: bigint, scale: number): bigint | undefined {
  const r = value * 10n ** BigInt(scale);
  return fits(r) ? r : undefined;
}

/** apimachinery `int64Amount.Add`. */
function addAmounts(a: Amount, b: Amount): Amount {
  if (a.kind === "dec" || b.kind === "dec") return { kind: "dec" };
  if (b.value === 0n) return a;
  if (a.value === 0n) return b;
  if (a.scale === b.scale) {
    const c = a.value + b.value;
    return fits(c) ? { kind: "int", value: c, scale: a.scale } : { kind: "dec" };
  }
  if (a.scale > b.scale) {
    const s = positiveScale(a.value, a.scale - b.scale);
    if (s === undefined || !fits(s + b.value)) return { kind: "dec" };
    return { kind: "int", value: s + b.value, scale: b.scale };
  }
  const s = positiveScale(b.value, b.scale - a.scale);
  if (s === undefined || !fits(a.value + s)) return { kind: "dec" };
  return { kind: "int", value: a.value + s, scale: a.scale };
}

function wrap(nanos: bigint, amount: Amount): ReflectMessage {
  const m = QuantityType.wrap(nanos.toString());
  amounts.set(m, amount);
  return m;
}

function nanosOf(m: ReflectMessage): bigint {
  return BigInt(QuantityType.unwrap(m));
}

function amountOf(m: ReflectMessage): Amount {
  const a = amounts.get(m);
  if (!a) refuse("a quantity whose internal representation is not known");
  return a;
}

/** `Quantity.AsInt64` of the tracked representation. */
function asInt64(m: ReflectMessage): bigint | undefined {
  const a = amountOf(m);
  if (a.kind === "dec") return undefined;
  if (a.scale === 0) return a.value;
  if (a.scale < 0) return undefined;
  return positiveScale(a.value, a.scale);
}

function cmp(a: bigint, b: bigint): bigint {
  return a < b ? -1n : a > b ? 1n : 0n;
}

const T = QuantityType.celType;

function negate(a: Amount): Amount {
  return a.kind === "dec" ? a : { kind: "int", value: -a.value, scale: a.scale };
}

export const quantityLibrary: CelFunc[] = [
  celFunc("quantity", [CelScalar.STRING], T, (s) => {
    const p = parseQuantity(s);
    return wrap(p.nanos, p.amount);
  }),
  celFunc("isQuantity", [CelScalar.STRING], CelScalar.BOOL, (s) => {
    try {
      parseQuantity(s);
      return true;
    } catch (e) {
      if ((e as Error).message.startsWith("kubeloop/cel refused")) throw e;
      return false;
    }
  }),
  celFunc("sign", [T], CelScalar.INT, (q) => cmp(nanosOf(q), 0n)),
  celMethod("isGreaterThan", T, [T], CelScalar.BOOL, function (o) { return nanosOf(this) > nanosOf(o); }),
  celMethod("isLessThan", T, [T], CelScalar.BOOL, function (o) { return nanosOf(this) < nanosOf(o); }),
  celMethod("compareTo", T, [T], CelScalar.INT, function (o) { return cmp(nanosOf(this), nanosOf(o)); }),
  celMethod("isInteger", T, [], CelScalar.BOOL, function () { return asInt64(this) !== undefined; }),
  celMethod("asInteger", T, [], CelScalar.INT, function () {
    const v = asInt64(this);
    if (v === undefined) throw new Error("cannot convert value to integer");
    return v;
  }),
  celMethod("asApproximateFloat", T, [], CelScalar.DOUBLE, function () {
    return refuse("asApproximateFloat(): Go's float rounding of a Quantity is not reproduced");
  }),
  celMethod("add", T, [T], T, function (o) { return wrap(nanosOf(this) + nanosOf(o), addAmounts(amountOf(this), amountOf(o))); }),
  celMethod("add", T, [CelScalar.INT], T, function (n) { return wrap(nanosOf(this) + n * 1_000_000_000n, addAmounts(amountOf(this), { kind: "int", value: n, scale: 0 })); }),
  celMethod("sub", T, [T], T, function (o) { return wrap(nanosOf(this) - nanosOf(o), addAmounts(amountOf(this), negate(amountOf(o)))); }),
  celMethod("sub", T, [CelScalar.INT], T, function (n) { return wrap(nanosOf(this) - n * 1_000_000_000n, addAmounts(amountOf(this), { kind: "int", value: -n, scale: 0 })); }),
];
