import { test } from "node:test";
import assert from "node:assert/strict";
import { compile } from "../../../framework/cel/index.ts";

function run(expr: string): unknown {
  const r = compile(expr, { variables: [] }).evaluate({});
  if (r.kind === "value") return typeof r.value === "object" && r.value !== null && Symbol.iterator in r.value ? [...(r.value as Iterable<unknown>)] : r.value;
  return r;
}

test("lists: k8s lists library, ext lists v3 and sets", () => {
  assert.equal(run("[1, 2, 3].isSorted()"), true);
  assert.equal(run("[3, 1].isSorted()"), false);
  assert.equal(run("[1, 2, 3].sum()"), 6n);
  assert.equal(run("[1.5, 2.0].sum()"), 3.5);
  assert.equal(run("[3, 1, 2].min()"), 1n);
  assert.equal(run("['b', 'a'].max()"), "b");
  assert.equal(run("[1, 2, 1].lastIndexOf(1)"), 2n);
  assert.deepEqual(run("[3, 1, 2].sort()"), [1n, 2n, 3n]);
  assert.deepEqual(run("[[1], [2, 3]].flatten()"), [1n, 2n, 3n]);
  assert.deepEqual(run("lists.range(3)"), [0n, 1n, 2n]);
  assert.deepEqual(run("[1, 2, 1].distinct()"), [1n, 2n]);
  assert.equal(run("sets.contains([1, 2], [2])"), true);
  assert.equal(run("sets.intersects([1], [2])"), false);
  assert.equal((run("[].min()") as { kind: string }).kind, "error");
});

test("regex find and findAll (RE2)", () => {
  assert.equal(run("'abc 123'.find('[0-9]+')"), "123");
  assert.equal(run("'abc'.find('[0-9]+')"), "");
  assert.deepEqual(run("'a1b22'.findAll('[0-9]+')"), ["1", "22"]);
  assert.deepEqual(run("'a1b22c3'.findAll('[0-9]+', 2)"), ["1", "22"]);
});

test("quantity: exact comparisons, arithmetic and apimachinery's int64 representation", () => {
  assert.equal(run("quantity('1k').compareTo(quantity('1000'))"), 0n);
  assert.equal(run("quantity('1Ki').isGreaterThan(quantity('1k'))"), true);
  assert.equal(run("quantity('1000m') == quantity('1')"), true);
  assert.equal(run("quantity('1000m').isInteger()"), false);
  assert.equal(run("quantity('1.5k').asInteger()"), 1500n);
  assert.equal(run("sign(quantity('-2m'))"), -1n);
  assert.equal(run("quantity('1').add(quantity('500m')).compareTo(quantity('1.5'))"), 0n);
  assert.equal(run("isQuantity('1K')"), false);
  assert.equal(run("isQuantity('.')"), true);
  assert.deepEqual((run("quantity('1').asApproximateFloat()") as { kind: string }).kind, "refused");
});

test("semver: blang/semver parsing, normalisation and ordering", () => {
  assert.equal(run("isSemver('1.2.3-alpha.1+b')"), true);
  assert.equal(run("isSemver('v1.2')"), false);
  assert.equal(run("isSemver('v1.2', true)"), true);
  assert.equal(run("semver('01.2', true).major()"), 1n);
  assert.equal(run("semver('1.0.0-alpha').isLessThan(semver('1.0.0'))"), true);
  assert.equal(run("semver('1.0.0-alpha.1').compareTo(semver('1.0.0-alpha.beta'))"), -1n);
  assert.equal(run("semver('1.2.3+a') == semver('1.2.3+b')"), true);
});

test("ip and cidr: netip parsing and RFC 5952 formatting", () => {
  assert.equal(run("string(ip('2001:0db8:0:0:1:0:0:1'))"), "2001:db8::1:0:0:1");
  assert.equal(run("ip.isCanonical('2001:db8::1')"), true);
  assert.equal(run("isIP('01.2.3.4')"), false);
  assert.equal(run("isIP('::ffff:1.2.3.4')"), false);
  assert.equal(run("isIP('fe80::1%eth0')"), false);
  assert.equal(run("ip('fe80::1').isLinkLocalUnicast()"), true);
  assert.equal(run("ip('10.0.0.1').isGlobalUnicast()"), true);
  assert.equal(run("string(cidr('10.1.2.3/8').masked())"), "10.0.0.0/8");
  assert.equal(run("cidr('10.0.0.0/8').containsCIDR('10.1.0.0/16')"), true);
  assert.equal(run("cidr('10.0.0.0/16').containsCIDR('10.0.0.0/8')"), false);
  assert.equal(run("isCIDR('10.0.0.0/08')"), false);
});
