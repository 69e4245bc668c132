/**
 * The README block extractor (`test/docs/readme-blocks.ts`): which fenced blocks are TypeScript,
 * their flags, lines, headings and content; and that it finds the repository's READMEs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { extractBlocks, findReadmes } from "../../docs/readme-blocks.ts";

test("extracts ts/typescript blocks with their flags, opening line and heading; skips other languages", () => {
  const md = [
    "# Title",            // 1
    "```sh",              // 2
    "# not a heading",    // 3
    "```",                // 4
    "## Writing",         // 5
    "```ts",              // 6
    "const a = 1;",       // 7
    "",                   // 8
    "```",                // 9
    "```typescript fragment", // 10
    "b();",               // 11
    "```",                // 12
    "```js",              // 13
    "c();",               // 14
    "```",                // 15
  ].join("\n");
  const blocks = extractBlocks(md, "X.md");
  assert.deepEqual(blocks, [
    { readme: "X.md", line: 6, heading: "Writing", flags: [], code: "const a = 1;\n" },
    { readme: "X.md", line: 10, heading: "Writing", flags: ["fragment"], code: "b();" },
  ]);
});

test("a longer or tilde fence holds inner fences; indentation of a list item is removed", () => {
  const md = [
    "````ts",
    "const s = `",
    "```",
    "`;",
    "````",
    "- item:",
    "  ~~~ts fragment",
    "  x();",
    "    y();",
    "  ~~~",
  ].join("\n");
  const blocks = extractBlocks(md, "Y.md");
  assert.equal(blocks.length, 2);
  assert.equal(blocks[0]!.code, "const s = `\n```\n`;");
  assert.deepEqual([blocks[1]!.line, blocks[1]!.flags, blocks[1]!.code], [7, ["fragment"], "x();\n  y();"]);
});

test("an unclosed fence runs to the end of the document (CommonMark)", () => {
  const blocks = extractBlocks("```ts\nlet z = 2;\n", "Z.md");
  assert.deepEqual(blocks.map((b) => b.code), ["let z = 2;\n"]);
});

test("finds README.md and the READMEs under framework/", async () => {
  const readmes = await findReadmes(fileURLToPath(new URL("../../../", import.meta.url)));
  assert.equal(readmes[0], "README.md");
  assert.ok(readmes.includes("framework/controller/README.md"), readmes.join(", "));
  assert.ok(readmes.slice(1).every((r) => r.startsWith("framework/") && r.endsWith("/README.md")), readmes.join(", "));
});
