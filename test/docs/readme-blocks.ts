/**
 * The TypeScript blocks of the READMEs, so the docs cannot rot (`typecheck-blocks.ts` checks
 * them, `test/e2e/docs/` runs the checks and the README's example operator).
 *
 * Which READMEs: `README.md` and every `README.md` under `framework/`. Which blocks: fenced
 * blocks whose language is `ts`, `typescript`, `mts` or `cts`; the words after the language are
 * the block's flags (```` ```ts fragment ````).
 */
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";

/** One fenced TypeScript block of a README. */
export interface ReadmeBlock {
  /** The README, relative to the repository root (`framework/cache/README.md`). */
  readme: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The nearest heading above the block, for test names. */
  heading: string;
  /** Words after the language in the info string (`fragment`). */
  flags: string[];
  code: string;
}

const tsLanguages = new Set(["ts", "typescript", "mts", "cts"]);

/** `README.md` and every `README.md` under `framework/`, relative to `repoRoot`, sorted. */
export async function findReadmes(repoRoot: string): Promise<string[]> {
  const nested = (await readdir(join(repoRoot, "framework"), { recursive: true }))
    .filter((p) => p === "README.md" || p.endsWith("/README.md"))
    .map((p) => join("framework", p));
  return ["README.md", ...nested.sort()];
}

/**
 * The fenced TypeScript blocks of one Markdown text (CommonMark fences: three or more backticks
 * or tildes, indented by up to three spaces or inside a list item; the closing fence uses the
 * same character, at least as long, with no info string).
 */
export function extractBlocks(markdown: string, readme: string): ReadmeBlock[] {
  const lines = markdown.split("\n");
  const blocks: ReadmeBlock[] = [];
  let heading = "(top)";
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^`\s]*)\s*(.*)$/.exec(lines[i]!);
    if (!open) {
      const h = /^#{1,6}\s+(.*)$/.exec(lines[i]!);
      if (h) heading = h[1]!.trim();
      continue;
    }
    const [, indent, fence, lang, rest] = open as unknown as [string, string, string, string, string];
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(lines[j]!);
      if (close && close[1]![0] === fence[0] && close[1]!.length >= fence.length) break;
      const l = lines[j]!;
      body.push(l.startsWith(indent) ? l.slice(indent.length) : l.trimStart());
    }
    if (tsLanguages.has(lang.toLowerCase())) {
      blocks.push({ readme, line: i + 1, heading, flags: rest.split(/[\s,]+/).filter(Boolean), code: body.join("\n") });
    }
    i = j;
  }
  return blocks;
}

/** Every TypeScript block of every README `findReadmes` lists. */
export async function readmeBlocks(repoRoot: string): Promise<ReadmeBlock[]> {
  const out: ReadmeBlock[] = [];
  for (const readme of await findReadmes(repoRoot)) {
    out.push(...extractBlocks(await readFile(join(repoRoot, readme), "utf8"), readme));
  }
  return out;
}
