import { refuse } from "./refuse.ts";

/**
 * How cel-go v0.26's ext strings `format` prints a double for `%f` and `%e`: through
 * golang.org/x/text/message's printer for the `en_US` locale, as Kubernetes v1.36 runs it
 * (`1,234.567800`, `1.234568×10⁰³`). Digits are the exact binary value rounded half to even;
 * `%e` always prints 6 decimals (the printer ignores the precision). Infinities are refused
 * (the printer pads them: `    -∞`), as is negative zero.
 */

/** The exact decimal digits of a finite, non-negative double: `digits` with the decimal point after `point` digits. */
function exactDecimal(v: number): { digits: string; point: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  const bits = view.getBigUint64(0);
  const exponentBits = Number((bits >> 52n) & 0x7ffn);
  let mantissa = bits & ((1n << 52n) - 1n);
  let exponent: number;
  if (exponentBits === 0) exponent = -1074;
  else {
    mantissa |= 1n << 52n;
    exponent = exponentBits - 1075;
  }
  if (mantissa === 0n) return { digits: "0", point: 1 };
  if (exponent >= 0) {
    const digits = (mantissa << BigInt(exponent)).toString();
    return { digits, point: digits.length };
  }
  // m × 2^e = m × 5^-e / 10^-e
  const digits = (mantissa * 5n ** BigInt(-exponent)).toString();
  return { digits, point: digits.length + exponent };
}

/** Rounds exact decimal digits half to even to their first `keep` digits (one more when a carry overflows them: `999.96` to 4 gives `1000`). */
function roundHalfEven(digits: string, keep: number): string {
  if (keep >= digits.length) return digits.padEnd(keep, "0");
  if (keep < 0) return "";
  const head = keep === 0 ? 0n : BigInt(digits.slice(0, keep));
  const next = digits[keep]!;
  const rest = digits.slice(keep + 1);
  let up: boolean;
  if (next > "5") up = true;
  else if (next < "5") up = false;
  else if (/[1-9]/.test(rest)) up = true;
  else up = head % 2n === 1n;
  const rounded = (up ? head + 1n : head).toString();
  return keep === 0 ? (rounded === "0" ? "" : rounded) : rounded.padStart(keep, "0");
}

function group(integer: string): string {
  return integer.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function checkFinite(v: number): void {
  if (!Number.isFinite(v)) refuse("format() of an infinite double: the locale printer pads it");
  if (Object.is(v, -0)) refuse("format() of -0.0");
}

/** `%.<precision>f` (`precision` 6 when unset) as cel-go's locale printer writes it. */
export function localeFixed(v: number, precision: number): string {
  if (Number.isNaN(v)) return "NaN";
  checkFinite(v);
  const { digits, point } = exactDecimal(Math.abs(v));
  // Align so that the integer part has max(point, 1) digits.
  const padded = point <= 0 ? "0".repeat(1 - point) + digits : digits;
  const integerDigits = Math.max(point, 1);
  let kept = roundHalfEven(padded, integerDigits + precision);
  if (kept.length < integerDigits + precision) kept = kept.padStart(integerDigits + precision, "0");
  const intPart = kept.slice(0, kept.length - precision).replace(/^0+(?=\d)/, "") || "0";
  const frac = kept.slice(kept.length - precision);
  const text = precision > 0 ? `${group(intPart)}.${frac}` : group(intPart);
  return v < 0 ? `-${text}` : text;
}

const SUPERSCRIPT = "⁰¹²³⁴⁵⁶⁷⁸⁹";

/** `%e` as cel-go's locale printer writes it: six decimals, `×10`, a superscript exponent of at least two digits. */
export function localeScientific(v: number): string {
  if (Number.isNaN(v)) refuse("format('%e') of NaN");
  checkFinite(v);
  let mantissa: string;
  let exponent: number;
  if (v === 0) {
    mantissa = "0000000";
    exponent = 0;
  } else {
    const { digits, point } = exactDecimal(Math.abs(v));
    const significant = digits.replace(/^0+/, "");
    const leadingZeros = digits.length - significant.length;
    exponent = point - leadingZeros - 1;
    mantissa = roundHalfEven(significant, 7);
    if (mantissa.length > 7) {
      mantissa = mantissa.slice(0, 7);
      exponent++;
    }
  }
  const exp = String(Math.abs(exponent)).padStart(2, "0").replace(/\d/g, (d) => SUPERSCRIPT[Number(d)]!);
  const text = `${mantissa[0]}.${mantissa.slice(1)}×10${exponent < 0 ? "⁻" : ""}${exp}`;
  return v < 0 ? `-${text}` : text;
}
