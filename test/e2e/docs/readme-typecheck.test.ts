/**
 * Every TypeScript block of `README.md` and `framework/**\/README.md` type-checks under the
 * project's tsconfig, importing the package as a reader does (`kubeloop/<folder>`); see
 * `test/docs/typecheck-blocks.ts` for what a block is and how a ```` ```ts fragment ```` is checked. Needs no
 * cluster (it sits in `test/e2e/` beside the test that runs the README's operator, and because
 * a type-check of the framework takes seconds, which the unit tests do not).
 *
 * The blocks are written to `.kubeloop/docs-<random>/` (inside the repository, so the package's
 * self-reference resolves), removed when every block passes and kept for a look otherwise.
 */
import { after, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readmeBlocks, type ReadmeBlock } from "../../docs/readme-blocks.ts";
import { typeCheckBlocks, type BlockCheck } from "../../docs/typecheck-blocks.ts";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * Blocks known to be broken in READMEs this test's author may not edit, with what is wrong. An
 * entry applies to the block of `readme` that contains `contains`; that block's check is then
 * reported as TODO with its errors. An entry that matches no block, or whose block passes, fails
 * the test, so this list cannot outlive the problems it names.
 */
const knownBroken: Array<{ readme: string; contains: string; reason: string }> = [];

let dir: string | undefined;
/** Set when a check failed: the extracted blocks are then kept for a look. */
let keep = false;

/** Runs `fn`, noting a failure in `keep` before passing it on. */
function keepOnFailure<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  return (...args) => {
    try {
      fn(...args);
    } catch (err) {
      keep = true;
      throw err;
    }
  };
}

after(async () => {
  if (dir && !keep) await rm(dir, { recursive: true, force: true });
  else if (dir) process.stderr.write(`[readme-typecheck] extracted blocks kept in ${dir}\n`);
});

/**
 * Blocks with known faults, checked in the same program as the READMEs' blocks, so the checker
 * is seen to find what it must (a checker that passes everything would pass the READMEs too).
 */
const selfTest: Array<{ block: ReadmeBlock; expect: RegExp[]; imported?: string[]; stubbed?: string[] }> = [
  {
    block: probe("complete", [], 'import { requeueAfter } from "kubeloop/controller";\nconst r: string = requeueAfter(1000);\nconsole.log(r);'),
    expect: [/^\(self-test\):3:7 TS2322 /],
  },
  {
    block: probe("complete without its imports", [], "const mgr = new Manager();\nconsole.log(mgr);"),
    expect: [/^\(self-test\):2:17 TS2304 Cannot find name 'Manager'/],
  },
  {
    block: probe("relative import", [], 'import { Pods } from "../framework/meta/index.ts";\nconsole.log(Pods);'),
    expect: [/imports the relative path "..\/framework\/meta\/index.ts"/, /TS2307 /],
  },
  {
    block: probe("fragment", ["fragment"], "const unused = 1;\ncontrollerFor(mgr, Pods).ownz(Services);\nconst p: Predicate = predicates.generationChanged();"),
    expect: [/^\(self-test\):3:26 TS2339 Property 'ownz' does not exist/],
    imported: ["Pods (kubeloop/meta)", "Predicate (kubeloop/controller)", "Services (kubeloop/meta)", "controllerFor (kubeloop/controller)", "predicates (kubeloop/controller)"],
    stubbed: ["mgr"],
  },
  {
    block: probe("fragment, checked with real types", ["fragment"], "const p: Predicate<Pod> = predicates.generationChanged();\nconst n: number = p;"),
    expect: [/^\(self-test\):3:7 TS2322 Type 'Predicate</],
  },
];

function probe(heading: string, flags: string[], code: string): ReadmeBlock {
  return { readme: "(self-test)", line: 1, heading, flags, code };
}

test("every TypeScript block of the READMEs type-checks", async (t) => {
  const blocks = await readmeBlocks(repoRoot);
  assert.ok(blocks.some((b) => b.readme === "README.md" && b.heading === "Writing an operator"),
    "the root README's operator example was not found (a ```ts block under \"## Writing an operator\")");
  await mkdir(join(repoRoot, ".kubeloop"), { recursive: true });
  dir = await mkdtemp(join(repoRoot, ".kubeloop", "docs-"));
  const all = await typeCheckBlocks(repoRoot, dir, [...blocks, ...selfTest.map((s) => s.block)]);
  const checks = all.filter((c) => c.block.readme !== "(self-test)");
  const used = new Set<(typeof knownBroken)[number]>();

  await t.test("the checker finds the faults of known-bad blocks", keepOnFailure(() => {
    for (const [i, s] of selfTest.entries()) {
      const c = all.find((x) => x.block === s.block)!;
      for (const e of s.expect) assert.ok(c.errors.some((m) => e.test(m)), `${s.block.heading}: expected an error matching ${e}, got:\n  ${c.errors.join("\n  ")}`);
      assert.equal(c.errors.length, s.expect.length, `${s.block.heading} (#${i}): only the expected errors:\n  ${c.errors.join("\n  ")}`);
      if (s.imported) assert.deepEqual(c.imported, s.imported, `${s.block.heading}: context imported`);
      if (s.stubbed) assert.deepEqual(c.stubbed, s.stubbed, `${s.block.heading}: context declared any`);
    }
  }));

  for (const c of checks) {
    const where = `${c.block.readme}:${c.block.line} (${c.block.heading})${c.block.flags.length ? ` [${c.block.flags.join(" ")}]` : ""}`;
    const known = knownBroken.find((k) => k.readme === c.block.readme && c.block.code.includes(k.contains));
    await t.test(where, keepOnFailure((st: TestContext) => {
      report(st, c);
      if (known) {
        used.add(known);
        assert.notEqual(c.errors.length, 0, `${where} passes now: remove its entry from knownBroken in ${import.meta.filename}`);
        st.todo(`known broken: ${known.reason}\n  ${c.errors.join("\n  ")}`);
        return;
      }
      assert.deepEqual(c.errors, [], `${where} does not type-check (written to ${c.file}):\n  ${c.errors.join("\n  ")}`);
    }));
  }
  const stale = knownBroken.filter((k) => !used.has(k));
  assert.deepEqual(stale, [], "knownBroken entries that match no block any more: remove them");
});

function report(t: { diagnostic(message: string): void }, c: BlockCheck): void {
  if (c.imported.length) t.diagnostic(`context imported: ${c.imported.join(", ")}`);
  if (c.stubbed.length) t.diagnostic(`context declared any (not checked): ${c.stubbed.join(", ")}`);
}
