import { celFunc, celList, celMap, celMethod, CelScalar, isCelList, isCelMap, listType, mapType, type CelFunc, type CelValue } from "@bufbuild/cel";
import type { ReflectMessage } from "@bufbuild/protobuf/reflect";
import { refuse } from "./refuse.ts";
import { OptionalType } from "./types.ts";

/**
 * Optional values (cel-go `cel.OptionalTypes()`, Kubernetes' base environment since 1.28) as
 * functions: optional.of, optional.none, optional.ofNonZeroValue, hasValue, value, orValue, or.
 * The optional syntax (`a.?b`, `a[?k]`, `[?x]`, `{?k: v}`) is parsed by `optional-syntax.ts`
 * into the calls `_?._` and `_[?_]` and optional list elements and map entries, evaluated here
 * as cel-go does; `==` between optionals is refused by compile.
 */
const inner = new WeakMap<object, { present: boolean; value?: CelValue }>();
let next = 0;

export function optionalOf(value: CelValue): ReflectMessage {
  const m = OptionalType.wrap(`some:${next++}`);
  inner.set(m, { present: true, value });
  return m;
}

export function optionalNone(): ReflectMessage {
  const m = OptionalType.wrap(`none:${next++}`);
  inner.set(m, { present: false });
  return m;
}

function get(m: ReflectMessage): { present: boolean; value?: CelValue } {
  const v = inner.get(m);
  if (!v) refuse("an optional value created outside the in-process evaluator");
  return v;
}

function isZero(v: CelValue): boolean {
  if (v === null || v === false || v === "" || v === 0 || v === 0n) return true;
  if (v instanceof Uint8Array) return v.length === 0;
  if (typeof v === "object" && v !== null && "size" in v && typeof (v as { size: unknown }).size === "number") return (v as { size: number }).size === 0;
  if (typeof v === "object" && v !== null && "value" in v && typeof (v as { value: unknown }).value === "bigint") return (v as { value: bigint }).value === 0n;
  return false;
}

const T = OptionalType.celType;

/** The state of `v` when it is an optional made here, else undefined. */
function stateOf(v: CelValue): { present: boolean; value?: CelValue } | undefined {
  return typeof v === "object" && v !== null ? inner.get(v as object) : undefined;
}

/** The optional's value when `v` is an optional, else `v` itself as a present value. */
function unwrap(v: CelValue): { present: boolean; value?: CelValue } {
  return stateOf(v) ?? { present: true, value: v };
}

/** `x.?field`: optional.of(x.field) when x (or the optional's value) has the field, else none. */
function optionalSelect(x: CelValue, field: string): ReflectMessage {
  const o = unwrap(x);
  if (!o.present) return optionalNone();
  if (isCelMap(o.value)) return o.value.has(field) ? optionalOf(o.value.get(field)!) : optionalNone();
  throw new Error("no such overload");
}

/** `x[?key]`: optional.of(x[key]) when the list index or map key exists, else none. */
function optionalIndex(x: CelValue, key: CelValue): ReflectMessage {
  const o = unwrap(x);
  if (!o.present) return optionalNone();
  if (isCelList(o.value)) {
    if (typeof key !== "bigint") throw new Error("no such overload");
    return key >= 0n && key < BigInt(o.value.size) ? optionalOf(o.value.get(Number(key))!) : optionalNone();
  }
  if (isCelMap(o.value)) return o.value.has(key as never) ? optionalOf(o.value.get(key as never)!) : optionalNone();
  throw new Error("no such overload");
}

/**
 * The engine functions of `_?._`, `_[?_]` (renamed: the engine plans those names as plain
 * attribute access) and of the optional list and map literal forms.
 */
export const OPTIONAL_SELECT = "@kubeloop.optionalSelect";
export const OPTIONAL_INDEX = "@kubeloop.optionalIndex";
export const OPTIONAL_ELEMENTS = "@kubeloop.optionalElements";
export const OPTIONAL_ENTRIES = "@kubeloop.optionalEntries";

/** cel-go's optUnwrap: the present values of a list of optionals. */
function unwrapAll(list: Iterable<CelValue>) {
  const out: CelValue[] = [];
  for (const v of list) {
    const o = stateOf(v) ?? refuse("optional.unwrap() of a value that is not optional: cel-go's message prints it with %v");
    if (o.present) out.push(o.value!);
  }
  return celList(out);
}

/** The state of an optional operand; `no such overload` for any other value. */
function optionalValueOf(v: CelValue): { present: boolean; value?: CelValue } {
  const o = stateOf(v);
  if (!o) throw new Error("no such overload");
  return o;
}

export const optionalLibrary: CelFunc[] = [
  celFunc("optional.of", [CelScalar.DYN], T, (v) => optionalOf(v)),
  celFunc("optional.none", [], T, () => optionalNone()),
  celFunc("optional.ofNonZeroValue", [CelScalar.DYN], T, (v) => (isZero(v) ? optionalNone() : optionalOf(v))),
  celMethod("hasValue", T, [], CelScalar.BOOL, function () { return get(this).present; }),
  celMethod("value", T, [], CelScalar.DYN, function () {
    const v = get(this);
    if (!v.present) throw new Error("optional.none() dereference");
    return v.value as never;
  }),
  celMethod("orValue", T, [CelScalar.DYN], CelScalar.DYN, function (d) {
    const v = get(this);
    return (v.present ? v.value : d) as never;
  }),
  celMethod("or", T, [T], T, function (o) { return get(this).present ? this : o; }),
  // optional library version 2: first, last, optional.unwrap, unwrapOpt.
  celMethod("first", listType(CelScalar.DYN), [], T, function () {
    return this.size === 0 ? optionalNone() : optionalOf(this.get(0)!);
  }),
  celMethod("last", listType(CelScalar.DYN), [], T, function () {
    return this.size === 0 ? optionalNone() : optionalOf(this.get(this.size - 1)!);
  }),
  celFunc("optional.unwrap", [listType(CelScalar.DYN)], listType(CelScalar.DYN), (list) => unwrapAll(list)),
  celMethod("unwrapOpt", listType(CelScalar.DYN), [], listType(CelScalar.DYN), function () {
    return unwrapAll(this);
  }),
  celFunc(OPTIONAL_SELECT, [CelScalar.DYN, CelScalar.STRING], T, (x, field) => optionalSelect(x, field)),
  celFunc(OPTIONAL_INDEX, [CelScalar.DYN, CelScalar.DYN], T, (x, key) => optionalIndex(x, key)),
  // [a, ?b]: the elements at the optional indices are kept only when present, unwrapped.
  celFunc(OPTIONAL_ELEMENTS, [listType(CelScalar.DYN), listType(CelScalar.INT)], listType(CelScalar.DYN), (list, indices) => {
    const optional = new Set([...indices].map((i) => Number(i)));
    const out: CelValue[] = [];
    [...list].forEach((v, i) => {
      if (!optional.has(i)) return out.push(v);
      const o = optionalValueOf(v);
      if (o.present) out.push(o.value!);
    });
    return celList(out);
  }),
  // {?k: v}: the entries of the optional keys are kept only when present, unwrapped.
  celFunc(OPTIONAL_ENTRIES, [mapType(CelScalar.DYN, CelScalar.DYN), listType(CelScalar.DYN)], mapType(CelScalar.DYN, CelScalar.DYN), (map, keys) => {
    const optional = new Set([...keys]);
    const out = new Map<never, CelValue>();
    for (const [k, v] of map) {
      if (!optional.has(k)) {
        out.set(k as never, v);
        continue;
      }
      const o = optionalValueOf(v);
      if (o.present) out.set(k as never, o.value!);
    }
    return celMap(out);
  }),
];
