import { celFunc, celMethod, CelScalar, isCelError, isCelList, isCelMap, listType, type CelFunc, type CelValue } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import { refuse } from "./refuse.ts";

/**
 * Where the engine's ext strings differ from cel-go v0.26 ext.Strings version 2 as Kubernetes
 * v1.36 runs it (found by the differential test): `replace` with a negative count replaces all
 * (Go `strings.Replace`), and `format` prints doubles through a locale-aware printer
 * (`123,456,789.500000`, `1.234568×10⁰⁸`), which is refused rather than imitated.
 */
const engineFormat = strings.find((f) => f.name === "format")!;

function containsDouble(v: CelValue, depth = 0): boolean {
  if (depth > 32) return true;
  if (typeof v === "number") return true;
  if (isCelList(v)) return [...v].some((x) => containsDouble(x, depth + 1));
  if (isCelMap(v)) return [...v.values()].some((x) => containsDouble(x, depth + 1));
  return false;
}

const DECIMAL_FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** cel-go `double(string)`: Go strconv.ParseFloat (the engine answers NaN where Go fails). */
function parseDouble(s: string): number {
  if (DECIMAL_FLOAT.test(s)) {
    const n = Number(s);
    if (!Number.isFinite(n)) refuse(`double(${JSON.stringify(s)}) out of range`);
    return n;
  }
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith("-") ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(s)) return Number.NaN;
  if (/^[0-9a-fA-FxXpP._+-]*$/.test(s) && /[0-9]/.test(s)) refuse(`double(${JSON.stringify(s)}): hexadecimal or underscored floats are not parsed as Go does`);
  throw new Error("type conversion error from 'string' to 'double'");
}

/** cel-go `int(string)`: Go strconv.ParseInt(s, 10, 64). */
function parseInt64(s: string): bigint {
  if (/^[+-]?\d+$/.test(s)) {
    const n = BigInt(s);
    if (n > 9223372036854775807n || n < -9223372036854775808n) refuse(`int(${JSON.stringify(s)}) out of range`);
    return n;
  }
  throw new Error("type conversion error from 'string' to 'int'");
}

export const stringsFixes: CelFunc[] = [
  celFunc("double", [CelScalar.STRING], CelScalar.DOUBLE, (s) => parseDouble(s)),
  celFunc("int", [CelScalar.STRING], CelScalar.INT, (s) => parseInt64(s)),
  celMethod("replace", CelScalar.STRING, [CelScalar.STRING, CelScalar.STRING, CelScalar.INT], CelScalar.STRING, function (from, to, n) {
    if (from === "") refuse("replace() of the empty string");
    if (n < 0n) return this.split(from).join(to);
    let out = this;
    let count = 0n;
    let at = 0;
    let result = "";
    while (count < n) {
      const i = out.indexOf(from, at);
      if (i < 0) break;
      result += out.slice(at, i) + to;
      at = i + from.length;
      count++;
    }
    out = result + out.slice(at);
    return out;
  }),
  celMethod("format", CelScalar.STRING, [listType(CelScalar.DYN)], CelScalar.STRING, function (args) {
    if (containsDouble(args)) refuse("format() of a double: cel-go prints it with a locale-aware printer that is not reproduced");
    const r = engineFormat.call(0, this, [args]);
    if (r === undefined) throw new Error("no matching overload for format");
    if (isCelError(r)) throw r;
    return r as string;
  }),
];
