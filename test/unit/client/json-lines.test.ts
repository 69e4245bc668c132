import { test } from "node:test";
import assert from "node:assert/strict";
import { JsonLineDecoder } from "../../../framework/client/index.ts";

test("values split across chunks are joined, several per chunk are split", () => {
  const decoder = new JsonLineDecoder();
  const stream = '{"type":"ADDED","object":{"a":1}}\n{"type":"MODIFIED","object":{"a":2}}\n\n{"type":"DELETED","object":{"a":3}}\n';
  const seen: unknown[] = [];
  for (let i = 0; i < stream.length; i += 7) seen.push(...decoder.push(Buffer.from(stream.slice(i, i + 7))));
  seen.push(...decoder.end());
  assert.deepEqual(seen, [
    { type: "ADDED", object: { a: 1 } },
    { type: "MODIFIED", object: { a: 2 } },
    { type: "DELETED", object: { a: 3 } },
  ]);
});

test("a multi-byte UTF-8 character split between chunks survives", () => {
  const decoder = new JsonLineDecoder();
  const bytes = Buffer.from('{"name":"héllo✓"}\n', "utf8");
  const cut = bytes.indexOf(0xc3) + 1; // inside the two-byte "é"
  const first = decoder.push(bytes.subarray(0, cut));
  assert.deepEqual(first, []);
  assert.deepEqual(decoder.push(bytes.subarray(cut)), [{ name: "héllo✓" }]);
});

test("a last value without a newline is returned at the end; a truncated one throws", () => {
  const decoder = new JsonLineDecoder();
  assert.deepEqual(decoder.push('{"a":1}\n{"b":'), [{ a: 1 }]);
  assert.deepEqual(decoder.push("2}"), []);
  assert.deepEqual(decoder.end(), [{ b: 2 }]);
  const truncated = new JsonLineDecoder();
  truncated.push('{"a":');
  assert.throws(() => truncated.end(), SyntaxError);
});
