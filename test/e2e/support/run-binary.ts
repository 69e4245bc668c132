import { execFile } from "node:child_process";

/** Runs a binary; resolves to its stdout. Rejects with its stderr (`timeoutMs` in milliseconds, default 120 000). */
export function runBinary(binary: string, args: readonly string[], timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${binary} ${args.join(" ")}: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}
