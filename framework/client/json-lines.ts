import { StringDecoder } from "node:string_decoder";

/**
 * Splits a stream of bytes into JSON values, one per line, the framing the API server uses for
 * watch responses (`application/json;stream=watch`). Chunks may end anywhere, including inside a
 * multi-byte UTF-8 character; blank lines are skipped.
 */
export class JsonLineDecoder {
  #decoder = new StringDecoder("utf8");
  #pending = "";

  /** Feeds one chunk; returns the values completed by it, in order. @throws SyntaxError on a malformed line. */
  push(chunk: Buffer | string): unknown[] {
    this.#pending += typeof chunk === "string" ? chunk : this.#decoder.write(chunk);
    const values: unknown[] = [];
    let start = 0;
    for (;;) {
      const newline = this.#pending.indexOf("\n", start);
      if (newline < 0) break;
      const line = this.#pending.slice(start, newline).trim();
      if (line) values.push(JSON.parse(line));
      start = newline + 1;
    }
    this.#pending = this.#pending.slice(start);
    return values;
  }

  /** Ends the stream; returns a last value not followed by a newline, if any. @throws SyntaxError on a truncated value. */
  end(): unknown[] {
    const rest = (this.#pending + this.#decoder.end()).trim();
    this.#pending = "";
    return rest ? [JSON.parse(rest)] : [];
  }
}
