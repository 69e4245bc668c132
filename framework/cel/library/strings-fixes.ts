import { celMethod, CelScalar, isCelError, isCelList, isCelMap, listType, type CelFunc, type CelValue } from "@bufbuild/cel";
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

export const stringsFixes: CelFunc[] = [
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
