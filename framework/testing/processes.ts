import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

/** What the state file records about one started process. */
export interface ProcessRecord {
  name: string;
  pid: number;
  binary: string;
  args: string[];
  logPath: string;
  /** Endpoint that answers 200 when the process is ready. */
  healthUrl: string;
}

/** True when `pid` is a live process (not a zombie) whose command line starts with `binary`. */
export function isRunning(pid: number, binary?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  if (process.platform !== "linux") return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 3 (after the parenthesised command name) is the state; Z = zombie, X = dead.
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (state === "Z" || state === "X") return false;
    if (binary !== undefined) {
      const argv0 = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0];
      if (argv0 !== binary) return false; // the pid was reused by something else
    }
    return true;
  } catch {
    return false;
  }
}

/** The last `count` lines of a log file ("" when it cannot be read). */
export async function tailFile(path: string, count = 20): Promise<string> {
  try {
    const handle = await open(path, "r");
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, 64 * 1024);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      return buffer.toString("utf8").trimEnd().split("\n").slice(-count).join("\n");
    } finally {
      await handle.close();
    }
  } catch {
    return "";
  }
}

/** A process started by this Node process: the record plus its exit, once known. */
export interface StartedProcess {
  record: ProcessRecord;
  child: ChildProcess;
  /** Exit code or signal once the process ended; undefined while it runs. */
  exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

/**
 * Starts a program in its own process group (so it survives this Node process, as
 * `cluster up` needs), stdout and stderr appended to `logPath`.
 */
export function startProcess(name: string, binary: string, args: string[], logPath: string, healthUrl: string, env: NodeJS.ProcessEnv): StartedProcess {
  const fd = openSync(logPath, "a");
  writeSync(fd, `\n==== ${new Date().toISOString()} starting ${binary} ${args.join(" ")}\n`);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  try {
    const child = spawn(binary, args, { detached: true, stdio: ["ignore", fd, fd], env });
    child.on("exit", (code, signal) => {
      exited = { code, signal };
    });
    child.on("error", (err) => {
      exited = { code: -1, signal: null };
      try {
        const errFd = openSync(logPath, "a");
        writeSync(errFd, `failed to start ${binary}: ${err.message}\n`);
        closeSync(errFd);
      } catch {
        // the log is best effort
      }
    });
    child.unref();
    if (child.pid === undefined) {
      throw new Error(`could not start ${name} (${binary}); see ${logPath}`);
    }
    return { record: { name, pid: child.pid, binary, args, logPath, healthUrl }, child, exit: () => exited };
  } finally {
    closeSync(fd);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Stops a process: SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone.
 * Does nothing when the pid is no longer the recorded program.
 */
export async function stopProcess(record: ProcessRecord, graceMs = 10_000): Promise<void> {
  if (!isRunning(record.pid, record.binary)) return;
  try {
    process.kill(record.pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRunning(record.pid, record.binary)) return;
    await sleep(100);
  }
  try {
    process.kill(record.pid, "SIGKILL");
  } catch {
    return;
  }
  const killDeadline = Date.now() + 5_000;
  while (Date.now() < killDeadline) {
    if (!isRunning(record.pid, record.binary)) return;
    await sleep(100);
  }
  throw new Error(`${record.name} (pid ${record.pid}) did not exit after SIGKILL`);
}

/** Options of {@link httpGet}. */
export interface HttpGetOptions {
  /** PEM CA bundle for https; without it the serving cert is not verified (loopback only). */
  ca?: string;
  bearerToken?: string;
  timeoutMs?: number;
}

/** GET on a loopback URL: status code and body. Rejects on connection errors and timeouts. */
export function httpGet(url: string, opts: HttpGetOptions = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const parsed = new URL(url);
    const headers: Record<string, string> = { accept: "application/json, */*" };
    if (opts.bearerToken) headers.authorization = `Bearer ${opts.bearerToken}`;
    const options = {
      method: "GET",
      headers,
      timeout: opts.timeoutMs ?? 3_000,
      ...(parsed.protocol === "https:" ? (opts.ca ? { ca: opts.ca } : { rejectUnauthorized: false }) : {}),
    };
    const req = (parsed.protocol === "https:" ? httpsRequest : httpRequest)(parsed, options, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        if (body.length < 16 * 1024) body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out after ${opts.timeoutMs ?? 3_000}ms`)));
    req.on("error", reject);
    req.end();
  });
}
