import { celFunc, celMethod, CelScalar, listType, mapType, type CelFunc } from "@bufbuild/cel";
import type { ReflectMessage } from "@bufbuild/protobuf/reflect";
import { refuse } from "./refuse.ts";
import { URLType } from "./types.ts";

/**
 * Kubernetes' `url` library (url, isURL, getScheme, getHost, getHostname, getPort,
 * getEscapedPath, getQuery), mirrors k8s.io/apiserver/pkg/cel/library/urls.go in Kubernetes
 * v1.36 on Go's net/url (`ParseRequestURI` to accept, `Parse` for the parts). Only URLs of a
 * conservative shape are evaluated (`scheme://host[:port][/path][?query][#fragment]` or an
 * absolute path, with unreserved and sub-delimiter characters, no `%`, `@` or `;`), where Go's
 * parsing is plain; any other URL is refused rather than parsed differently.
 */
interface ParsedURL {
  scheme: string;
  host: string;
  path: string;
  query: string;
}

const PATH = "[A-Za-z0-9._~!$&'()*+,=:@/-]*";
const QUERY = "[A-Za-z0-9._~!$&'()*+,=:@/?-]*";
const FRAGMENT = "[A-Za-z0-9._~!$&'()*+,;=:@/?-]*";
const ABSOLUTE = new RegExp(`^([A-Za-z][A-Za-z0-9+.-]*)://([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\])(:[0-9]*)?(/${PATH})?(\\?${QUERY})?(#${FRAGMENT})?$`);
const ABSOLUTE_PATH = new RegExp(`^(/${PATH})(\\?${QUERY})?$`);

/** Go's url.ParseRequestURI + url.Parse for the conservative shapes; undefined when invalid; refuses the rest. */
function parseURL(s: string): ParsedURL | undefined {
  const a = ABSOLUTE.exec(s);
  if (a) {
    return { scheme: a[1]!.toLowerCase(), host: `${a[2]}${a[3] ?? ""}`, path: a[4] ?? "", query: a[5] ? a[5].slice(1) : "" };
  }
  const p = ABSOLUTE_PATH.exec(s);
  if (p && !p[1]!.startsWith("//")) return { scheme: "", host: "", path: p[1]!, query: p[2] ? p[2].slice(1) : "" };
  if (s.length === 0) return undefined; // "empty url"
  if (!s.includes(":") && !s.startsWith("/") && !/[\x00-\x1f\x7f]/.test(s)) return undefined; // "invalid URI for request"
  return refuse(`the URL ${JSON.stringify(s)} is outside the shapes whose Go net/url parsing is reproduced`);
}

function hostname(host: string): string {
  if (host.startsWith("[")) return host.slice(1, host.indexOf("]"));
  const i = host.lastIndexOf(":");
  return i >= 0 ? host.slice(0, i) : host;
}

function port(host: string): string {
  const close = host.lastIndexOf("]");
  const i = host.lastIndexOf(":");
  if (i <= close) return "";
  return host.slice(i + 1);
}

function queryUnescape(s: string): string {
  return s.replace(/\+/g, " ");
}

/** Go's url.ParseQuery of a query without `%` or `;`. */
function parseQuery(query: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const part of query.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const key = queryUnescape(eq >= 0 ? part.slice(0, eq) : part);
    const value = queryUnescape(eq >= 0 ? part.slice(eq + 1) : "");
    m.set(key, [...(m.get(key) ?? []), value]);
  }
  return m;
}

const T = URLType.celType;
const get = (m: ReflectMessage): ParsedURL => JSON.parse(URLType.unwrap(m)) as ParsedURL;

export const urlLibrary: CelFunc[] = [
  celFunc("url", [CelScalar.STRING], T, (s) => {
    const u = parseURL(s);
    if (!u) throw new Error(`URL parse error during conversion from string`);
    return URLType.wrap(JSON.stringify(u));
  }),
  celFunc("isURL", [CelScalar.STRING], CelScalar.BOOL, (s) => parseURL(s) !== undefined),
  celMethod("getScheme", T, [], CelScalar.STRING, function () { return get(this).scheme; }),
  celMethod("getHost", T, [], CelScalar.STRING, function () { return get(this).host; }),
  celMethod("getHostname", T, [], CelScalar.STRING, function () { return hostname(get(this).host); }),
  celMethod("getPort", T, [], CelScalar.STRING, function () { return port(get(this).host); }),
  celMethod("getEscapedPath", T, [], CelScalar.STRING, function () { return get(this).path; }),
  celMethod("getQuery", T, [], mapType(CelScalar.STRING, listType(CelScalar.STRING)), function () { return parseQuery(get(this).query); }),
];
