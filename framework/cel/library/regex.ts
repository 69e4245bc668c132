import { celMethod, CelScalar, listType, type CelFunc } from "@bufbuild/cel";
import { RE2JS } from "re2js";
import { refuse } from "./refuse.ts";

/**
 * Kubernetes' `regex` library: `find` and `findAll` with RE2 semantics (leftmost-first, as Go's
 * regexp), mirrors k8s.io/apiserver/pkg/cel/library/regex.go in Kubernetes v1.36 on re2js.
 * Matches that are empty are refused (Go's rules for adjacent empty matches are not re-implemented).
 */
const cache = new Map<string, RE2JS>();

function compileRegex(pattern: string): RE2JS {
  let re = cache.get(pattern);
  if (!re) {
    try {
      re = RE2JS.compile(pattern);
    } catch (e) {
      refuse(`the regular expression ${JSON.stringify(pattern)} does not compile in re2js (${(e as Error).message}); the API server's error text is not reproduced`);
    }
    cache.set(pattern, re);
  }
  return re;
}

/** Whether `pattern` compiles as an RE2 expression (used for the compile-time check of literals). */
export function regexCompiles(pattern: string): string | undefined {
  try {
    RE2JS.compile(pattern);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function findAll(text: string, pattern: string, limit: bigint): string[] {
  const m = compileRegex(pattern).matcher(text);
  const out: string[] = [];
  while ((limit < 0n || BigInt(out.length) < limit) && m.find()) {
    const s = m.group() ?? "";
    if (s.length === 0) refuse("findAll() with a regular expression that matches the empty string");
    out.push(s);
  }
  return out;
}

export const regexLibrary: CelFunc[] = [
  celMethod("find", CelScalar.STRING, [CelScalar.STRING], CelScalar.STRING, function (pattern) {
    const m = compileRegex(pattern).matcher(this);
    if (!m.find()) return "";
    const s = m.group() ?? "";
    return s;
  }),
  celMethod("findAll", CelScalar.STRING, [CelScalar.STRING], listType(CelScalar.STRING), function (pattern) {
    return findAll(this, pattern, -1n);
  }),
  celMethod("findAll", CelScalar.STRING, [CelScalar.STRING, CelScalar.INT], listType(CelScalar.STRING), function (pattern, n) {
    return findAll(this, pattern, n);
  }),
];
