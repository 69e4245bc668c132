import { celEnv, isCelError, isCelUint, parse, plan, type CelValue } from "@bufbuild/cel";
import { refuse } from "./refuse.ts";

const equalsProgram = plan(celEnv(), parse("a == b"));

/** CEL's `==` between two runtime values (heterogeneous numeric equality included). */
export function celEquals(a: CelValue, b: CelValue): boolean {
  const r = equalsProgram({ a, b } as never);
  if (isCelError(r)) throw r;
  return r === true;
}

/** Compares strings as Go does (UTF-8 bytes, which orders as code points). */
export function compareStrings(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

function numeric(v: CelValue): number | bigint | undefined {
  if (typeof v === "bigint" || typeof v === "number") return v;
  if (isCelUint(v)) return v.value;
  return undefined;
}

/** CEL ordering (`<`) of two values of the comparable scalar types; refused for the others. */
export function compareValues(a: CelValue, b: CelValue): number {
  const na = numeric(a);
  const nb = numeric(b);
  if (na !== undefined && nb !== undefined) {
    if (typeof na === "number" && Number.isNaN(na)) refuse("ordering NaN");
    if (typeof nb === "number" && Number.isNaN(nb)) refuse("ordering NaN");
    return na < nb ? -1 : na > nb ? 1 : 0;
  }
  if (typeof a === "string" && typeof b === "string") return compareStrings(a, b);
  if (typeof a === "boolean" && typeof b === "boolean") return a === b ? 0 : a ? 1 : -1;
  return refuse("ordering values of this type");
}
