import { spawn } from "node:child_process";

/**
 * Runs `binary`, writes `input` to its stdin and resolves its stdout (UTF-8).
 * @throws Error naming the binary, its exit status and its stderr when it exits non-zero; the
 *   spawn error when it cannot start; an AbortError when `signal` aborts.
 */
export function runWithInput(binary: string, input: string, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [], { stdio: ["pipe", "pipe", "pipe"], ...(signal ? { signal } : {}) });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString("utf8"));
      else reject(new Error(`${binary} exited with ${code}: ${Buffer.concat(err).toString("utf8").trim()}`));
    });
    child.stdin.end(input);
  });
}
