/**
 * Type-checks the TypeScript blocks of the READMEs (`readme-blocks.ts`) under the project's
 * tsconfig, with the TypeScript compiler API (one program for all blocks; only the blocks are
 * checked, the framework they import is read for its types).
 *
 * A block is a complete program, as a reader would save it: it imports what it uses
 * (`kubeloop/<folder>`, as the package's `exports` map names them, or an npm dependency) and
 * type-checks on its own; a relative import is an error (relative to what, for a reader?). A
 * block marked `fragment` shows a piece of a program and is checked with its context filled in:
 * a name it uses but does not declare is imported from the one `kubeloop/<folder>` that exports
 * it, and any other name is declared `any` (reported, so what was not checked is visible);
 * unused names are not errors there.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import ts from "typescript";
import type { ReadmeBlock } from "./readme-blocks.ts";

/** What type-checking one block found. */
export interface BlockCheck {
  block: ReadmeBlock;
  /** Where the block was written for the check. */
  file: string;
  /** Errors, each `README.md:72:5 TS2304 Cannot find name 'x'.` (positions in the README). */
  errors: string[];
  /** Fragments only: names imported from `kubeloop/<folder>` to fill in the context. */
  imported: string[];
  /** Fragments only: names declared `any` because nothing exports them. */
  stubbed: string[];
}

/** Diagnostics about unused names: not errors in a fragment, which shows part of a program. */
const unusedCodes = new Set([6133, 6138, 6192, 6196, 6198, 6199, 6205]);
/** "Cannot find name 'x'" (with and without a suggestion). */
const cannotFindCodes = new Set([2304, 2552]);

function isFragment(block: ReadmeBlock): boolean {
  return block.flags.includes("fragment");
}

/**
 * Writes each block to `dir` (which must be inside the repository, so `kubeloop/...` resolves
 * through the package's own `exports` map) and type-checks them with the compiler options of
 * `<repoRoot>/tsconfig.json`. Line 1 of each written file is a prelude (a comment, or a
 * fragment's imports and stubs), the block follows from line 2, and `export {};` closes it so
 * every block is a module of its own.
 */
export async function typeCheckBlocks(repoRoot: string, dir: string, blocks: readonly ReadmeBlock[]): Promise<BlockCheck[]> {
  const configPath = join(repoRoot, "tsconfig.json");
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, "\n"));
  const options = ts.parseJsonConfigFileContent(config.config, ts.sys, repoRoot, undefined, configPath).options;

  await mkdir(dir, { recursive: true });
  const checks: BlockCheck[] = blocks.map((block, i) => ({
    block,
    file: join(dir, `${String(i).padStart(3, "0")}-${block.readme.replace(/[^A-Za-z0-9]+/g, "-")}-L${block.line}.ts`),
    errors: relativeImports(block),
    imported: [],
    stubbed: [],
  }));
  const write = (c: BlockCheck, prelude: string) => writeFile(c.file, `${prelude}\n${c.block.code}\nexport {};\n`);
  for (const c of checks) await write(c, `// ${c.block.readme}:${c.block.line + 1}`);

  const subpaths = await exportedSubpaths(repoRoot);
  const entryFiles = Object.values(subpaths);
  let program = ts.createProgram([...checks.map((c) => c.file), ...entryFiles], options);

  const fragments = checks.filter((c) => isFragment(c.block));
  if (fragments.length > 0) {
    const exportsByName = frameworkExports(program, subpaths);
    for (const c of fragments) {
      const sf = program.getSourceFile(c.file)!;
      const missing = new Set<string>();
      for (const d of program.getSemanticDiagnostics(sf)) {
        if (cannotFindCodes.has(d.code) && d.start !== undefined) missing.add(sf.text.slice(d.start, d.start + (d.length ?? 0)));
      }
      const imports: string[] = [];
      const stubs: string[] = [];
      for (const name of [...missing].sort()) {
        const found = exportsByName.get(name);
        if (found && found.subpaths.length === 1) {
          imports.push(`import { ${found.isValue ? "" : "type "}${name} } from "${found.subpaths[0]}";`);
          c.imported.push(`${name} (${found.subpaths[0]})`);
        } else {
          stubs.push(`declare const ${name}: any; type ${name} = any;`);
          c.stubbed.push(found ? `${name} (exported by ${found.subpaths.join(" and ")}: ambiguous)` : name);
        }
      }
      await write(c, [...imports, ...stubs].join(" ") || `// ${c.block.readme}:${c.block.line + 1}`);
    }
    program = ts.createProgram([...checks.map((c) => c.file), ...entryFiles], options, undefined, program);
  }

  const global = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
  if (global.length > 0) throw new Error(ts.formatDiagnostics(global, formatHost(repoRoot)));
  for (const c of checks) {
    const sf = program.getSourceFile(c.file)!;
    const diagnostics = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)];
    for (const d of diagnostics) {
      if (isFragment(c.block) && unusedCodes.has(d.code)) continue;
      const { line, character } = sf.getLineAndCharacterOfPosition(d.start ?? 0);
      // File line 2 (index 1) is the first line after the README's opening fence.
      c.errors.push(`${c.block.readme}:${c.block.line + line}:${character + 1} TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`);
    }
  }
  return checks;
}

/** Relative imports: README code imports the package (`kubeloop/<folder>`), as its readers do. */
function relativeImports(block: ReadmeBlock): string[] {
  const errors: string[] = [];
  block.code.split("\n").forEach((text, i) => {
    const m = /(?:from\s+|import\s*\(?\s*)["'](\.\.?\/[^"']*)["']/.exec(text);
    if (m) {
      errors.push(`${block.readme}:${block.line + 1 + i} imports the relative path ${JSON.stringify(m[1])}, which means nothing to a reader; import the package (\`kubeloop/<folder>\`, see package.json "exports")`);
    }
  });
  return errors;
}

/**
 * The package's `exports` map: `kubeloop/<folder>` -> absolute path of its TypeScript entry file
 * (the `kubeloop-source` condition, which the repository's tsconfig sets).
 */
export async function exportedSubpaths(repoRoot: string): Promise<Record<string, string>> {
  const pkg = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as { name: string; exports?: Record<string, string | Record<string, string>> };
  const out: Record<string, string> = {};
  for (const [key, target] of Object.entries(pkg.exports ?? {})) {
    const source = typeof target === "string" ? target : target["kubeloop-source"];
    if (source !== undefined && key.startsWith("./")) out[`${pkg.name}/${key.slice(2)}`] = join(repoRoot, source);
  }
  return out;
}

/** Every name the `kubeloop/<folder>` entry points export, with whether it is a value and which subpaths export it (one per distinct symbol). */
function frameworkExports(program: ts.Program, subpaths: Record<string, string>): Map<string, { subpaths: string[]; isValue: boolean }> {
  const checker = program.getTypeChecker();
  const seen = new Map<string, { subpaths: string[]; isValue: boolean; symbols: ts.Symbol[] }>();
  for (const [subpath, file] of Object.entries(subpaths)) {
    const sf = program.getSourceFile(file);
    const moduleSymbol = sf && checker.getSymbolAtLocation(sf);
    if (!moduleSymbol) continue;
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const entry = seen.get(exported.name) ?? { subpaths: [], isValue: false, symbols: [] };
      if (!entry.symbols.includes(target)) {
        entry.symbols.push(target);
        entry.subpaths.push(subpath);
      }
      entry.isValue ||= (target.flags & ts.SymbolFlags.Value) !== 0;
      seen.set(exported.name, entry);
    }
  }
  return seen;
}

function formatHost(repoRoot: string): ts.FormatDiagnosticsHost {
  return { getCanonicalFileName: (f) => f, getCurrentDirectory: () => repoRoot, getNewLine: () => "\n" };
}

