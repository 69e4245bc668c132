import { celFunc, CelScalar, type CelFunc } from "@bufbuild/cel";

/**
 * Go's `%v` of a float64, which is also cel-go's `string(double)`: strconv 'g' with the shortest
 * digits, in exponent form when the exponent is below -4 or at least 6 (`1.234567895e+08`).
 */
export function formatGoFloat(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (!Number.isFinite(n)) return n > 0 ? "+Inf" : "-Inf";
  if (n === 0) return Object.is(n, -0) ? "-0" : "0";
  const [mantissa, expStr] = n.toExponential().split("e") as [string, string];
  const exp = Number(expStr);
  if (exp < -4 || exp >= 6) {
    const e = Math.abs(exp);
    return `${mantissa}e${exp < 0 ? "-" : "+"}${e < 10 ? `0${e}` : e}`;
  }
  return String(n);
}

/** cel-go's `string(double)` (strconv.FormatFloat(v, 'g', -1, 64)), which differs from the engine's JavaScript formatting from 1e6 on. */
export const goFormatLibrary: CelFunc[] = [celFunc("string", [CelScalar.DOUBLE], CelScalar.STRING, (d) => formatGoFloat(d))];
