import { celFunc, celMethod, CelScalar, type CelFunc } from "@bufbuild/cel";
import type { ReflectMessage } from "@bufbuild/protobuf/reflect";
import { CIDRType, IPType } from "./types.ts";

/**
 * Kubernetes' `ip` and `cidr` libraries, mirrors k8s.io/apiserver/pkg/cel/library/{ip,cidr}.go
 * in Kubernetes v1.36 on Go's `net/netip` parsing and formatting (ParseAddr, ParsePrefix, RFC 5952
 * output); zones and IPv4-mapped IPv6 addresses are refused as the library refuses them.
 */
export interface Addr {
  v6: boolean;
  bytes: number[];
}

function parseIPv4(s: string): Addr {
  const fields = s.split(".");
  if (fields.length !== 4) throw new Error("IPv4 address too short");
  const bytes = fields.map((f) => {
    if (f.length === 0 || !/^[0-9]+$/.test(f)) throw new Error("unexpected character");
    if (f.length > 1 && f[0] === "0") throw new Error("IPv4 field has octet with leading zero");
    const n = Number(f);
    if (n > 255) throw new Error("IPv4 field has value >255");
    return n;
  });
  return { v6: false, bytes };
}

function parseIPv6(input: string): Addr & { zone: string } {
  let s = input;
  let zone = "";
  const z = s.indexOf("%");
  if (z >= 0) {
    zone = s.slice(z + 1);
    s = s.slice(0, z);
    if (zone.length === 0) throw new Error("zone must be a non-empty string");
  }
  const bytes: number[] = [];
  let ellipsis = -1;
  if (s.startsWith("::")) {
    ellipsis = 0;
    s = s.slice(2);
    if (s.length === 0) return { v6: true, bytes: new Array(16).fill(0), zone };
  }
  while (bytes.length < 16) {
    let i = 0;
    while (i < s.length && i < 5 && /[0-9a-fA-F]/.test(s[i]!)) i++;
    if (i === 0) throw new Error("each colon-separated field must have at least one digit");
    if (i > 4) throw new Error("each colon-separated field must have at most 4 hex digits");
    if (i < s.length && s[i] === ".") {
      if (ellipsis < 0 && bytes.length !== 12) throw new Error("embedded IPv4 address must replace the final 2 fields of the address");
      if (bytes.length + 4 > 16) throw new Error("too many hex fields to fit an embedded IPv4 at the end of the address");
      const v4 = parseIPv4(s);
      bytes.push(...v4.bytes);
      s = "";
      break;
    }
    const group = Number.parseInt(s.slice(0, i), 16);
    bytes.push(group >> 8, group & 0xff);
    s = s.slice(i);
    if (s.length === 0) break;
    if (s[0] !== ":") throw new Error("unexpected character, want colon");
    if (s.length === 1) throw new Error("colon must be followed by more characters");
    s = s.slice(1);
    if (s[0] === ":") {
      if (ellipsis >= 0) throw new Error("multiple :: in address");
      ellipsis = bytes.length;
      s = s.slice(1);
      if (s.length === 0) break;
    }
  }
  if (s.length !== 0) throw new Error("trailing garbage after address");
  if (bytes.length < 16) {
    if (ellipsis < 0) throw new Error("address string too short");
    const n = 16 - bytes.length;
    bytes.splice(ellipsis, 0, ...new Array(n).fill(0));
  } else if (ellipsis >= 0) {
    throw new Error("the :: must expand to at least one field of zeros");
  }
  return { v6: true, bytes, zone };
}

/** Go `netip.ParseAddr`, plus the zone. @throws Error when `s` is no IP address */
export function parseAddr(s: string): Addr & { zone: string } {
  for (const c of s) {
    if (c === ".") return { ...parseIPv4(s), zone: "" };
    if (c === ":") return parseIPv6(s);
    if (c === "%") throw new Error("missing IPv6 address");
  }
  throw new Error("unable to parse IP");
}

function is4In6(a: Addr): boolean {
  return a.v6 && a.bytes.slice(0, 10).every((b) => b === 0) && a.bytes[10] === 0xff && a.bytes[11] === 0xff;
}

/** k8s `parseIPAddr`: netip.ParseAddr without zones or IPv4-mapped IPv6. */
export function parseIP(s: string): Addr {
  const a = parseAddr(s);
  if (a.zone !== "") throw new Error(`IP address ${JSON.stringify(s)} with zone value is not allowed`);
  if (is4In6(a)) throw new Error(`IPv4-mapped IPv6 address ${JSON.stringify(s)} is not allowed`);
  return { v6: a.v6, bytes: a.bytes };
}

/** Go `netip.Addr.String()`. */
export function formatAddr(a: Addr): string {
  if (!a.v6) return a.bytes.join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((a.bytes[i]! << 8) | a.bytes[i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i >= 2 && j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += "::";
      i += bestLen - 1;
      continue;
    }
    if (out.length > 0 && !out.endsWith(":")) out += ":";
    out += groups[i]!.toString(16);
  }
  return out;
}

interface Prefix {
  addr: Addr;
  bits: number;
}

/** Go `netip.ParsePrefix` with k8s' refusal of IPv4-mapped IPv6. */
export function parsePrefix(s: string): Prefix {
  const i = s.lastIndexOf("/");
  if (i < 0) throw new Error("no '/'");
  const a = parseAddr(s.slice(0, i));
  if (a.zone !== "") throw new Error("IPv6 zones cannot be present in a prefix");
  const bitsStr = s.slice(i + 1);
  if (bitsStr.length > 1 && (bitsStr[0]! < "1" || bitsStr[0]! > "9")) throw new Error("bad bits after slash");
  if (!/^[0-9]+$/.test(bitsStr)) throw new Error("bad bits after slash");
  const bits = Number(bitsStr);
  if (bits > (a.v6 ? 128 : 32)) throw new Error("prefix length out of range");
  const addr = { v6: a.v6, bytes: a.bytes };
  if (is4In6(addr)) throw new Error(`IPv4-mapped IPv6 address ${JSON.stringify(s)} is not allowed`);
  return { addr, bits };
}

function mask(a: Addr, bits: number): Addr {
  return { v6: a.v6, bytes: a.bytes.map((b, i) => (i * 8 >= bits ? 0 : i * 8 + 8 <= bits ? b : b & (0xff << (8 - (bits - i * 8))) & 0xff)) };
}

function sameBytes(a: Addr, b: Addr): boolean {
  return a.v6 === b.v6 && a.bytes.every((x, i) => x === b.bytes[i]);
}

function contains(p: Prefix, a: Addr): boolean {
  return p.addr.v6 === a.v6 && sameBytes(mask(p.addr, p.bits), mask(a, p.bits));
}

const IP = IPType.celType;
const CIDR = CIDRType.celType;
const ipOf = (m: ReflectMessage): Addr => parseIP(IPType.unwrap(m));
const prefixOf = (m: ReflectMessage): Prefix => parsePrefix(CIDRType.unwrap(m));
const wrapIP = (a: Addr) => IPType.wrap(formatAddr(a));
const wrapPrefix = (p: Prefix) => CIDRType.wrap(`${formatAddr(p.addr)}/${p.bits}`);

function ok(f: () => unknown): boolean {
  try {
    f();
    return true;
  } catch {
    return false;
  }
}

function isLoopback(a: Addr): boolean {
  return a.v6 ? a.bytes.slice(0, 15).every((b) => b === 0) && a.bytes[15] === 1 : a.bytes[0] === 127;
}
function isUnspecified(a: Addr): boolean {
  return a.bytes.every((b) => b === 0);
}
function isLinkLocalUnicast(a: Addr): boolean {
  return a.v6 ? a.bytes[0] === 0xfe && (a.bytes[1]! & 0xc0) === 0x80 : a.bytes[0] === 169 && a.bytes[1] === 254;
}
function isLinkLocalMulticast(a: Addr): boolean {
  return a.v6 ? a.bytes[0] === 0xff && (a.bytes[1]! & 0x0f) === 0x02 : a.bytes[0] === 224 && a.bytes[1] === 0 && a.bytes[2] === 0;
}
function isMulticast(a: Addr): boolean {
  return a.v6 ? a.bytes[0] === 0xff : (a.bytes[0]! & 0xf0) === 0xe0;
}
function isGlobalUnicast(a: Addr): boolean {
  if (!a.v6 && a.bytes.every((b) => b === 255)) return false;
  return !isUnspecified(a) && !isLoopback(a) && !isMulticast(a) && !isLinkLocalUnicast(a);
}

export const ipLibrary: CelFunc[] = [
  celFunc("ip", [CelScalar.STRING], IP, (s) => wrapIP(parseIP(s))),
  celFunc("isIP", [CelScalar.STRING], CelScalar.BOOL, (s) => ok(() => parseIP(s))),
  celFunc("ip.isCanonical", [CelScalar.STRING], CelScalar.BOOL, (s) => formatAddr(parseIP(s)) === s),
  celFunc("string", [IP], CelScalar.STRING, (m) => IPType.unwrap(m)),
  celMethod("family", IP, [], CelScalar.INT, function () { return ipOf(this).v6 ? 6n : 4n; }),
  celMethod("isUnspecified", IP, [], CelScalar.BOOL, function () { return isUnspecified(ipOf(this)); }),
  celMethod("isLoopback", IP, [], CelScalar.BOOL, function () { return isLoopback(ipOf(this)); }),
  celMethod("isLinkLocalMulticast", IP, [], CelScalar.BOOL, function () { return isLinkLocalMulticast(ipOf(this)); }),
  celMethod("isLinkLocalUnicast", IP, [], CelScalar.BOOL, function () { return isLinkLocalUnicast(ipOf(this)); }),
  celMethod("isGlobalUnicast", IP, [], CelScalar.BOOL, function () { return isGlobalUnicast(ipOf(this)); }),
  celFunc("cidr", [CelScalar.STRING], CIDR, (s) => wrapPrefix(parsePrefix(s))),
  celFunc("isCIDR", [CelScalar.STRING], CelScalar.BOOL, (s) => ok(() => parsePrefix(s))),
  celFunc("string", [CIDR], CelScalar.STRING, (m) => CIDRType.unwrap(m)),
  celMethod("containsIP", CIDR, [IP], CelScalar.BOOL, function (ip) { return contains(prefixOf(this), ipOf(ip)); }),
  celMethod("containsIP", CIDR, [CelScalar.STRING], CelScalar.BOOL, function (s) { return contains(prefixOf(this), parseIP(s)); }),
  celMethod("containsCIDR", CIDR, [CIDR], CelScalar.BOOL, function (o) {
    const p = prefixOf(this);
    const q = prefixOf(o);
    return p.bits <= q.bits && contains(p, q.addr);
  }),
  celMethod("containsCIDR", CIDR, [CelScalar.STRING], CelScalar.BOOL, function (s) {
    const p = prefixOf(this);
    const q = parsePrefix(s);
    return p.bits <= q.bits && contains(p, q.addr);
  }),
  celMethod("ip", CIDR, [], IP, function () { return wrapIP(prefixOf(this).addr); }),
  celMethod("masked", CIDR, [], CIDR, function () {
    const p = prefixOf(this);
    return wrapPrefix({ addr: mask(p.addr, p.bits), bits: p.bits });
  }),
  celMethod("prefixLength", CIDR, [], CelScalar.INT, function () { return BigInt(prefixOf(this).bits); }),
];
