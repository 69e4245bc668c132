import { celFunc, celMethod, CelScalar, type CelFunc, type CelValue } from "@bufbuild/cel";
import type { ReflectMessage } from "@bufbuild/protobuf/reflect";
import { refuse } from "./refuse.ts";
import { OptionalType } from "./types.ts";

/**
 * Optional values (cel-go `cel.OptionalTypes()`, Kubernetes' base environment since 1.28) as
 * functions: optional.of, optional.none, optional.ofNonZeroValue, hasValue, value, orValue, or.
 * The `.?` and `[?` syntax is not parsed by the engine (refused by compile), nor is `==` between
 * optionals. This is what `optionalOldSelf` rules need (`oldSelf.hasValue()`, `oldSelf.value()`).
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
];
