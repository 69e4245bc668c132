/**
 * cel-spec conformance data (`@bufbuild/cel-spec`, cel-spec v0.25.1) run through kubeloop/cel's
 * compile + evaluate, for the suites of features Kubernetes enables: the engine plus this
 * package's overrides (Go's `string(double)`, list functions beside the string ones) must give
 * every expected value. Cases with bindings, containers, protobuf messages or type values are
 * left out; Kubernetes-only compile rules (homogeneous literals) may reject a case: counted, not
 * failed. A wrong value fails the test.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { tests } from "@bufbuild/cel-spec/testdata/conformance.js";
import { isCelList, isCelMap, isCelUint, type CelValue } from "@bufbuild/cel";
import { CelCompileError, compile } from "../../../framework/cel/index.ts";

const SUITES = ["basic", "comparisons", "conversions", "fp_math", "integer_math", "lists", "logic", "macros", "string", "string_ext", "timestamps", "parse", "plumbing"];

interface Original {
  name: string;
  expr: string;
  value?: Record<string, unknown>;
  evalError?: unknown;
  bindings?: unknown;
  typeEnv?: unknown;
  container?: string;
  disableCheck?: boolean;
  checkOnly?: boolean;
}

/** A CEL value in the shape of cel.expr.Value's JSON form, or undefined when it is of a kind not compared here. */
function toValueJson(v: CelValue): unknown {
  if (v === null) return { nullValue: null };
  if (typeof v === "bigint") return { int64Value: v.toString() };
  if (isCelUint(v)) return { uint64Value: v.value.toString() };
  if (typeof v === "number") return { doubleValue: Number.isNaN(v) ? "NaN" : v === Infinity ? "Infinity" : v === -Infinity ? "-Infinity" : v };
  if (typeof v === "string") return { stringValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  if (v instanceof Uint8Array) return { bytesValue: Buffer.from(v).toString("base64") };
  if (isCelList(v)) return { listValue: { values: [...v].map(toValueJson) } };
  if (isCelMap(v)) return { mapValue: { entries: [...v.entries()].map(([k, x]) => ({ key: toValueJson(k as CelValue), value: toValueJson(x) })) } };
  return undefined;
}

function normalise(expected: Record<string, unknown>): unknown {
  const e = { ...expected };
  if ("doubleValue" in e && typeof e.doubleValue === "string" && !["NaN", "Infinity", "-Infinity"].includes(e.doubleValue)) e.doubleValue = Number(e.doubleValue);
  if ("nullValue" in e) return { nullValue: null };
  if ("listValue" in e) return { listValue: { values: (((e.listValue as { values?: Record<string, unknown>[] }).values) ?? []).map(normalise) } };
  if ("mapValue" in e) {
    const entries = ((e.mapValue as { entries?: { key: Record<string, unknown>; value: Record<string, unknown> }[] }).entries) ?? [];
    return { mapValue: { entries: entries.map((x) => ({ key: normalise(x.key), value: normalise(x.value) })) } };
  }
  if ("bytesValue" in e && e.bytesValue === undefined) e.bytesValue = "";
  if ("stringValue" in e && e.stringValue === undefined) e.stringValue = "";
  if ("int64Value" in e && e.int64Value === undefined) e.int64Value = "0";
  if ("uint64Value" in e && e.uint64Value === undefined) e.uint64Value = "0";
  if ("boolValue" in e && e.boolValue === undefined) e.boolValue = false;
  return e;
}

function sortMaps(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortMaps);
  if (v && typeof v === "object") {
    const o = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sortMaps(x)]));
    if ("entries" in o && Array.isArray(o.entries)) o.entries = [...o.entries].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    return o;
  }
  return v;
}

/**
 * Tests whose expected value cel-go v0.26, as kube-apiserver v1.36 runs it, does not give: there
 * the API server's answer is the reference (test/e2e/cel/corpus/libraries.ts has the same calls,
 * checked against it), and each of these expressions must evaluate to cel-go's value in-process.
 */
const CEL_GO_DIFFERS = new Map<string, { why: string; value: unknown }>([
  ["string_ext/value_errors/indexof_out_of_range", { why: "cel-go's indexOf returns -1 for an offset past the end", value: true }],
  ["string_ext/value_errors/lastindexof_out_of_range", { why: "cel-go's lastIndexOf returns -1 for an offset past the end", value: true }],
  ["string_ext/format/scientific notation formatting clause", { why: "cel-go prints %e through x/text's en_US printer", value: "1.052033×10⁰³" }],
  ["string_ext/format/default precision for scientific notation", { why: "cel-go prints %e through x/text's en_US printer", value: "2.718280×10⁰⁰" }],
  ["string_ext/format/dyntype support for scientific notation", { why: "cel-go prints %e through x/text's en_US printer", value: "2.718280×10⁰⁰" }],
]);

test("cel-spec conformance: the suites Kubernetes enables give the expected values", () => {
  const counts = { passed: 0, kubernetesRejects: 0, refused: 0, skipped: 0, expectedErrors: 0, celGoDiffers: 0 };
  const wrong: string[] = [];
  const reasons = new Map<string, number>();
  const visit = (suite: { name: string; suites?: unknown[]; tests?: { original: Original }[] }, path: string) => {
    for (const t of suite.tests ?? []) {
      const o = t.original;
      const name = `${path}/${o.name}`;
      if (o.bindings || o.typeEnv || o.container || o.checkOnly || o.disableCheck) {
        counts.skipped++;
        continue;
      }
      let program;
      try {
        program = compile(o.expr, { variables: [] });
      } catch (e) {
        if (!(e instanceof CelCompileError)) throw e;
        if (o.evalError || !o.value) counts.expectedErrors++;
        else counts.kubernetesRejects++;
        continue;
      }
      const r = program.evaluate({});
      const differs = CEL_GO_DIFFERS.get(name);
      if (differs) {
        counts.celGoDiffers++;
        if (r.kind !== "value" || r.value !== differs.value) wrong.push(`${name}: ${o.expr} gave ${JSON.stringify(r)}, want ${JSON.stringify(differs.value)} as cel-go (${differs.why})`);
        continue;
      }
      if (r.kind === "refused") {
        counts.refused++;
        const key = r.reason.slice(0, 90);
        reasons.set(key, (reasons.get(key) ?? 0) + 1);
        continue;
      }
      if (o.evalError || !o.value) {
        if (r.kind === "error") counts.expectedErrors++;
        else if (o.evalError) wrong.push(`${name}: ${o.expr} gave a value, want an error`);
        else counts.skipped++;
        continue;
      }
      if ("objectValue" in o.value || "typeValue" in o.value || "enumValue" in o.value) {
        counts.skipped++;
        continue;
      }
      if (r.kind === "error") {
        wrong.push(`${name}: ${o.expr} failed: ${r.message}`);
        continue;
      }
      const got = sortMaps(toValueJson(r.value));
      const want = sortMaps(normalise(o.value));
      if (JSON.stringify(got) === JSON.stringify(want)) counts.passed++;
      else wrong.push(`${name}: ${o.expr} = ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    }
    for (const s of (suite.suites ?? []) as (typeof suite)[]) visit(s, `${path}/${s.name}`);
  };
  for (const s of (tests as unknown as { suites: { name: string }[] }).suites) if (SUITES.includes(s.name)) visit(s as never, s.name);
  console.log(`cel-spec conformance: ${JSON.stringify(counts)}; ${wrong.length} wrong`);
  for (const [reason, n] of reasons) console.log(`  refused ${n} × ${reason}`);
  for (const w of wrong) console.log(`  WRONG ${w}`);
  assert.deepEqual(wrong, []);
});
