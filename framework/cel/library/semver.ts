import { celFunc, celMethod, CelScalar, type CelFunc } from "@bufbuild/cel";
import { SemverType } from "./types.ts";

/**
 * Kubernetes' `semver` library version 1 (semver, isSemver, with the `normalize` flag; major,
 * minor, patch, compareTo, isGreaterThan, isLessThan), mirrors
 * k8s.io/apiserver/pkg/cel/library/semverlib.go in Kubernetes v1.36 and blang/semver/v4 `Parse`
 * and `Compare` (build metadata ignored by comparison and equality).
 */
interface Version {
  major: bigint;
  minor: bigint;
  patch: bigint;
  pre: (string | bigint)[];
}

const NUMBERS = /^[0-9]+$/;
const ALPHANUM = /^[0-9A-Za-z-]+$/;
const UINT64_MAX = 18446744073709551615n;

function parseUint(s: string, what: string): bigint {
  if (!NUMBERS.test(s)) throw new Error(`Invalid character(s) found in ${what} "${s}"`);
  if (s.length > 1 && s[0] === "0") throw new Error(`${what[0]!.toUpperCase()}${what.slice(1)} number must not contain leading zeroes "${s}"`);
  const n = BigInt(s);
  if (n > UINT64_MAX) throw new Error(`value out of range`);
  return n;
}

/** blang/semver/v4 `Parse`. @throws Error when `s` is not a semantic version */
export function parseSemver(s: string): Version {
  if (s.length === 0) throw new Error("Version string empty");
  const parts = splitN(s, ".", 3);
  if (parts.length !== 3) throw new Error("No Major.Minor.Patch elements found");
  const major = parseUint(parts[0]!, "major");
  const minor = parseUint(parts[1]!, "minor");
  let patchStr = parts[2]!;
  let build: string[] = [];
  let pre: string[] = [];
  const b = patchStr.indexOf("+");
  if (b !== -1) {
    build = patchStr.slice(b + 1).split(".");
    patchStr = patchStr.slice(0, b);
  }
  const p = patchStr.indexOf("-");
  if (p !== -1) {
    pre = patchStr.slice(p + 1).split(".");
    patchStr = patchStr.slice(0, p);
  }
  const patch = parseUint(patchStr, "patch");
  const prParts = pre.map((x) => {
    if (x.length === 0) throw new Error("Prerelease is empty");
    if (NUMBERS.test(x)) {
      if (x.length > 1 && x[0] === "0") throw new Error(`Numeric PreRelease version must not contain leading zeroes "${x}"`);
      const n = BigInt(x);
      if (n > UINT64_MAX) throw new Error("value out of range");
      return n;
    }
    if (!ALPHANUM.test(x)) throw new Error(`Invalid character(s) found in prerelease "${x}"`);
    return x;
  });
  for (const x of build) {
    if (x.length === 0) throw new Error("Build meta data is empty");
    if (!ALPHANUM.test(x)) throw new Error(`Invalid character(s) found in build meta data "${x}"`);
  }
  return { major, minor, patch, pre: prParts };
}

function splitN(s: string, sep: string, n: number): string[] {
  const out: string[] = [];
  let rest = s;
  while (out.length < n - 1) {
    const i = rest.indexOf(sep);
    if (i === -1) break;
    out.push(rest.slice(0, i));
    rest = rest.slice(i + 1);
  }
  out.push(rest);
  return out;
}

/** semverlib.go `normalizeAndParse`: drops a leading `v`, leading zeros, fills missing minor/patch. */
export function normalizeAndParseSemver(input: string): Version {
  const s = input.startsWith("v") ? input.slice(1) : input;
  const parts = splitN(s, ".", 3).map((p) => {
    if (p.length > 1) {
      let t = p.replace(/^0+/, "");
      if (t.length === 0 || !/[0-9]/.test(t[0]!)) t = `0${t}`;
      return t;
    }
    return p;
  });
  if (parts.length < 3) {
    if (/[+-]/.test(parts[parts.length - 1]!)) throw new Error("short version cannot contain PreRelease/Build meta data");
    while (parts.length < 3) parts.push("0");
  }
  return parseSemver(parts.join("."));
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** blang/semver `Version.Compare`. */
export function compareSemver(a: Version, b: Version): number {
  const c = cmp(a.major, b.major) || cmp(a.minor, b.minor) || cmp(a.patch, b.patch);
  if (c !== 0) return c;
  if (a.pre.length === 0 && b.pre.length === 0) return 0;
  if (a.pre.length === 0) return 1;
  if (b.pre.length === 0) return -1;
  for (let i = 0; i < a.pre.length && i < b.pre.length; i++) {
    const x = a.pre[i]!;
    const y = b.pre[i]!;
    let r: number;
    if (typeof x === "bigint" && typeof y === "bigint") r = cmp(x, y);
    else if (typeof x === "bigint") r = -1;
    else if (typeof y === "bigint") r = 1;
    else r = x < y ? -1 : x > y ? 1 : 0;
    if (r !== 0) return r;
  }
  return a.pre.length === b.pre.length ? 0 : a.pre.length < b.pre.length ? -1 : 1;
}

function encode(v: Version): string {
  return JSON.stringify([String(v.major), String(v.minor), String(v.patch), v.pre.map((p) => (typeof p === "bigint" ? `#${p}` : p))]);
}

function decode(s: string): Version {
  const [major, minor, patch, pre] = JSON.parse(s) as [string, string, string, string[]];
  return { major: BigInt(major), minor: BigInt(minor), patch: BigInt(patch), pre: pre.map((p) => (p.startsWith("#") ? BigInt(p.slice(1)) : p)) };
}

const T = SemverType.celType;
const get = (m: Parameters<typeof SemverType.unwrap>[0]) => decode(SemverType.unwrap(m));

function toSemver(s: string, normalize: boolean) {
  return SemverType.wrap(encode(normalize ? normalizeAndParseSemver(s) : parseSemver(s)));
}

function isSemver(s: string, normalize: boolean): boolean {
  try {
    if (normalize) normalizeAndParseSemver(s);
    else parseSemver(s);
    return true;
  } catch {
    return false;
  }
}

export const semverLibrary: CelFunc[] = [
  celFunc("semver", [CelScalar.STRING], T, (s) => toSemver(s, false)),
  celFunc("semver", [CelScalar.STRING, CelScalar.BOOL], T, (s, n) => toSemver(s, n)),
  celFunc("isSemver", [CelScalar.STRING], CelScalar.BOOL, (s) => isSemver(s, false)),
  celFunc("isSemver", [CelScalar.STRING, CelScalar.BOOL], CelScalar.BOOL, (s, n) => isSemver(s, n)),
  celMethod("major", T, [], CelScalar.INT, function () { return get(this).major; }),
  celMethod("minor", T, [], CelScalar.INT, function () { return get(this).minor; }),
  celMethod("patch", T, [], CelScalar.INT, function () { return get(this).patch; }),
  celMethod("compareTo", T, [T], CelScalar.INT, function (o) { return BigInt(compareSemver(get(this), get(o))); }),
  celMethod("isGreaterThan", T, [T], CelScalar.BOOL, function (o) { return compareSemver(get(this), get(o)) > 0; }),
  celMethod("isLessThan", T, [T], CelScalar.BOOL, function (o) { return compareSemver(get(this), get(o)) < 0; }),
];
