import { celFunc, celList, celMethod, CelScalar, isCelList, isCelUint, listType, type CelFunc, type CelList, type CelValue } from "@bufbuild/cel";
import { refuse } from "./refuse.ts";
import { celEquals, compareValues } from "./values.ts";

/**
 * Kubernetes' `lists` library (isSorted, sum, min, max, indexOf, lastIndexOf), mirrors
 * k8s.io/apiserver/pkg/cel/library/lists.go in Kubernetes v1.36; cel-go's ext.Lists version 3
 * (lists.range, distinct, flatten, reverse, slice, sort; `first`/`last` return optionals and
 * `sortBy` is a macro: refused by compile) and ext.Sets (sets.contains, sets.equivalent,
 * sets.intersects), mirrors cel-go v0.26.0 ext/lists.go and ext/sets.go.
 */
const LIST = listType(CelScalar.DYN);

function items(list: CelList): CelValue[] {
  return [...list];
}

function sum(list: CelList): CelValue {
  const values = items(list);
  if (values.length === 0) refuse("sum() of an empty list: its result type depends on the static element type");
  const first = values[0]!;
  if (typeof first === "bigint") {
    let total = 0n;
    for (const v of values) {
      if (typeof v !== "bigint") refuse("sum() over mixed element types");
      total += v;
      if (total > 9223372036854775807n || total < -9223372036854775808n) throw new Error("integer overflow");
    }
    return total;
  }
  if (typeof first === "number") {
    let total = 0;
    for (const v of values) {
      if (typeof v !== "number") refuse("sum() over mixed element types");
      total += v;
    }
    return total;
  }
  if (isCelUint(first)) refuse("sum() over uint elements");
  return refuse("sum() over durations or other element types");
}

function extreme(list: CelList, sign: 1 | -1, name: string): NonNullable<CelValue> | null {
  const values = items(list);
  if (values.length === 0) throw new Error(`${name} called on empty list`);
  let best = values[0]!;
  for (const v of values.slice(1)) if (compareValues(v as never, best as never) * sign > 0) best = v as never;
  return best;
}

function isSorted(list: CelList): boolean {
  const values = items(list);
  for (let i = 1; i < values.length; i++) if (compareValues(values[i - 1]!, values[i]!) > 0) return false;
  return true;
}

function indexOf(list: CelList, value: CelValue, last: boolean): bigint {
  const values = items(list);
  if (last) {
    for (let i = values.length - 1; i >= 0; i--) if (celEquals(values[i]!, value)) return BigInt(i);
  } else {
    for (let i = 0; i < values.length; i++) if (celEquals(values[i]!, value)) return BigInt(i);
  }
  return -1n;
}

function flatten(list: CelList, depth: bigint): CelList {
  if (depth < 0n) throw new Error("level must be non-negative");
  const out: CelValue[] = [];
  for (const v of list) {
    if (isCelList(v) && depth > 0n) out.push(...flatten(v, depth - 1n));
    else out.push(v);
  }
  return celList(out);
}

function distinct(list: CelList): CelList {
  const out: CelValue[] = [];
  for (const v of list) if (!out.some((o) => celEquals(o, v))) out.push(v);
  return celList(out);
}

function sortList(list: CelList): CelList {
  const values = items(list);
  const kinds = new Set(values.map((v) => (isCelUint(v) ? "uint" : typeof v)));
  if (kinds.size > 1) refuse("sort() over mixed element types");
  for (const v of values) if (!["bigint", "number", "string", "boolean"].includes(typeof v)) refuse("sort() over this element type");
  return celList([...values].sort((a, b) => compareValues(a, b)));
}

function slice(list: CelList, from: bigint, to: bigint): CelList {
  if (from < 0n || to < 0n) throw new Error(`cannot slice(${from}, ${to}), negative indexes not supported`);
  if (from > to) throw new Error(`cannot slice(${from}, ${to}), start index must be less than or equal to end index`);
  if (to > BigInt(list.size)) throw new Error(`cannot slice(${from}, ${to}), list is length ${list.size}`);
  return celList(items(list).slice(Number(from), Number(to)));
}

function setsContains(a: CelList, b: CelList): boolean {
  const left = items(a);
  for (const v of b) if (!left.some((x) => celEquals(x, v))) return false;
  return true;
}

export const listsLibrary: CelFunc[] = [
  celMethod("isSorted", LIST, [], CelScalar.BOOL, function () { return isSorted(this); }),
  celMethod("sum", LIST, [], CelScalar.DYN, function () { return sum(this) as never; }),
  celMethod("min", LIST, [], CelScalar.DYN, function () { return extreme(this, -1, "min") as never; }),
  celMethod("max", LIST, [], CelScalar.DYN, function () { return extreme(this, 1, "max") as never; }),
  celMethod("indexOf", LIST, [CelScalar.DYN], CelScalar.INT, function (v) { return indexOf(this, v, false); }),
  celMethod("lastIndexOf", LIST, [CelScalar.DYN], CelScalar.INT, function (v) { return indexOf(this, v, true); }),
  celFunc("lists.range", [CelScalar.INT], LIST, (n) => {
    if (n > 100000n) refuse("lists.range() beyond 100000 elements");
    const out: bigint[] = [];
    for (let i = 0n; i < n; i++) out.push(i);
    return out;
  }),
  celMethod("distinct", LIST, [], LIST, function () { return distinct(this); }),
  celMethod("flatten", LIST, [], LIST, function () { return flatten(this, 1n); }),
  celMethod("flatten", LIST, [CelScalar.INT], LIST, function (depth) { return flatten(this, depth); }),
  celMethod("reverse", LIST, [], LIST, function () { return celList(items(this).reverse()); }),
  celMethod("slice", LIST, [CelScalar.INT, CelScalar.INT], LIST, function (from, to) { return slice(this, from, to); }),
  celMethod("sort", LIST, [], LIST, function () { return sortList(this); }),
  celFunc("sets.contains", [LIST, LIST], CelScalar.BOOL, (a, b) => setsContains(a, b)),
  celFunc("sets.equivalent", [LIST, LIST], CelScalar.BOOL, (a, b) => setsContains(a, b) && setsContains(b, a)),
  celFunc("sets.intersects", [LIST, LIST], CelScalar.BOOL, (a, b) => items(a).some((x) => items(b).some((y) => celEquals(x, y)))),
];
