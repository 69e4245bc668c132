import { celFunc, celList, celMethod, CelScalar, isCelError, isCelList, isCelMap, listType, type CelFunc, type CelValue } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import { formatGoFloat } from "./go-format.ts";
import { localeFixed, localeScientific } from "./locale-format.ts";
import { refuse } from "./refuse.ts";

/**
 * Where the engine's ext strings differ from cel-go v0.26 ext.Strings version 2 as Kubernetes
 * v1.36 runs it (found by the differential test): `replace` with a negative count replaces all
 * (Go `strings.Replace`), and `format` prints doubles through a locale-aware printer
 * (`123,456,789.500000`, `1.234568×10⁰⁸`, library/locale-format.ts). `charAt`,
 * `indexOf`, `lastIndexOf` and `substring` count code points (the engine: UTF-16 units), and
 * their errors and edge cases are cel-go's (an `indexOf` offset past the end is -1, not an
 * error; `index out of range: 7`; `invalid substring range. start: 2, end: 1`).
 */
const engineFormat = strings.find((f) => f.name === "format")!;

function containsDouble(v: CelValue, depth = 0): boolean {
  if (depth > 32) return true;
  if (typeof v === "number") return true;
  if (isCelList(v)) return [...v].some((x) => containsDouble(x, depth + 1));
  if (isCelMap(v)) return [...v.values()].some((x) => containsDouble(x, depth + 1));
  return false;
}

/**
 * The format string and arguments with each top-level double printed as cel-go prints it
 * (`%f`, `%.2f` and `%e` by the locale printer, `%s` as Go's `%v`) and its clause turned into
 * `%s`, for the engine's `format` to do the rest. Refused: a double inside a list or map (cel-go
 * prints those with plain `%f`, which is not reproduced here), a double under another verb.
 */
function renderDoubles(format: string, args: CelValue[]): { format: string; args: CelValue[] } {
  let out = "";
  let argIndex = 0;
  const rendered = [...args];
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c !== "%") {
      out += c;
      continue;
    }
    const clause = /^%(?:%|(\.\d+)?([a-zA-Z]))/.exec(format.slice(i));
    if (!clause || clause[0] === "%%") {
      out += clause ? "%%" : c;
      if (clause) i++;
      continue;
    }
    const arg = args[argIndex];
    if (typeof arg === "number") {
      const verb = clause[2]!;
      const precision = clause[1] ? Number(clause[1].slice(1)) : 6;
      if (verb === "f") rendered[argIndex] = localeFixed(arg, precision);
      else if (verb === "e") rendered[argIndex] = localeScientific(arg);
      else if (verb === "s") rendered[argIndex] = formatGoFloat(arg);
      else refuse(`format() of a double with %${verb}`);
      out += "%s";
    } else {
      if (arg !== undefined && containsDouble(arg)) refuse("format() of a list or map holding a double: cel-go prints it with Go's %f, not reproduced");
      out += clause[0];
    }
    argIndex++;
    i += clause[0].length - 1;
  }
  return { format: out, args: rendered };
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

const outOfRange = (i: bigint | number) => new Error(`index out of range: ${i}`);
const codePoints = (s: string) => Array.from(s);

function indexOfFrom(str: string, sub: string, offset: bigint): bigint {
  if (sub === "") return offset;
  const runes = codePoints(str);
  const subRunes = codePoints(sub);
  if (offset < 0n) throw outOfRange(offset);
  if (offset >= BigInt(runes.length)) return -1n;
  for (let i = Number(offset); i < runes.length - (subRunes.length - 1); i++) {
    if (subRunes.every((r, j) => runes[i + j] === r)) return BigInt(i);
  }
  return -1n;
}

function lastIndexOfFrom(str: string, sub: string, offset: bigint): bigint {
  if (sub === "") return offset;
  const runes = codePoints(str);
  const subRunes = codePoints(sub);
  if (offset < 0n) throw outOfRange(offset);
  if (offset >= BigInt(runes.length)) return -1n;
  let off = Number(offset);
  if (off > runes.length - subRunes.length) off = runes.length - subRunes.length;
  for (let i = off; i >= 0; i--) {
    if (subRunes.every((r, j) => runes[i + j] === r)) return BigInt(i);
  }
  return -1n;
}

function substringRange(str: string, start: bigint, end: bigint): string {
  const runes = codePoints(str);
  const l = BigInt(runes.length);
  if (start > end) throw new Error(`invalid substring range. start: ${start}, end: ${end}`);
  if (start < 0n || start > l) throw outOfRange(start);
  if (end < 0n || end > l) throw outOfRange(end);
  return runes.slice(Number(start), Number(end)).join("");
}

export const stringsFixes: CelFunc[] = [
  celMethod("charAt", CelScalar.STRING, [CelScalar.INT], CelScalar.STRING, function (i) {
    const runes = codePoints(this);
    if (i < 0n || i > BigInt(runes.length)) throw outOfRange(i);
    return i === BigInt(runes.length) ? "" : runes[Number(i)]!;
  }),
  celMethod("indexOf", CelScalar.STRING, [CelScalar.STRING], CelScalar.INT, function (sub) {
    return indexOfFrom(this, sub, 0n);
  }),
  celMethod("indexOf", CelScalar.STRING, [CelScalar.STRING, CelScalar.INT], CelScalar.INT, function (sub, offset) {
    return indexOfFrom(this, sub, offset);
  }),
  celMethod("lastIndexOf", CelScalar.STRING, [CelScalar.STRING], CelScalar.INT, function (sub) {
    const runes = codePoints(this);
    if (sub === "") return BigInt(runes.length);
    if (Buffer.byteLength(this) < Buffer.byteLength(sub)) return -1n;
    return lastIndexOfFrom(this, sub, BigInt(runes.length - 1));
  }),
  celMethod("lastIndexOf", CelScalar.STRING, [CelScalar.STRING, CelScalar.INT], CelScalar.INT, function (sub, offset) {
    return lastIndexOfFrom(this, sub, offset);
  }),
  celMethod("substring", CelScalar.STRING, [CelScalar.INT], CelScalar.STRING, function (start) {
    const runes = codePoints(this);
    if (start < 0n || start > BigInt(runes.length)) throw outOfRange(start);
    return runes.slice(Number(start)).join("");
  }),
  celMethod("substring", CelScalar.STRING, [CelScalar.INT, CelScalar.INT], CelScalar.STRING, function (start, end) {
    return substringRange(this, start, end);
  }),
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
    const rendered = renderDoubles(this, [...args]);
    const r = engineFormat.call(0, rendered.format, [celList(rendered.args)]);
    if (r === undefined) throw new Error("no matching overload for format");
    if (isCelError(r)) throw r;
    return r as string;
  }),
];
