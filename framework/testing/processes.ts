import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { sleep } from "../flowcontrol/index.ts";

/** What the state file records about one started process. */
export interface ProcessRecord {
  name: string;
  pid: number;
  /**
   * Start time of the process in clock ticks since boot (Linux `/proc/<pid>/stat` field 22),
   * so a reused pid is not mistaken for ours.
   */
  startTicks?: number;
  binary: string;
  args: string[];
  logPath: string;
  /** Endpoint that answers 200 when the process is ready. */
  healthUrl: string;
}

/** Fields of `/proc/<pid>/stat` after the parenthesised command name (field 3 onwards); undefined when unreadable. */
function procStat(pid: number): string[] | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** The start time of `pid` in clock ticks since boot (Linux only). */
export function processStartTicks(pid: number): number | undefined {
  const field = procStat(pid)?.[19]; // field 22, starttime
  return field === undefined ? undefined : Number(field);
}

/**
 * True when `pid` is a live process (not a zombie) and, when `startTicks` is given, the same
 * process that was started then (not a later one that reused the pid).
 */
export function isRunning(pid: number, startTicks?: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  if (process.platform !== "linux") return true;
  const fields = procStat(pid);
  if (!fields) return false;
  if (fields[0] === "Z" || fields[0] === "X") return false;
  return startTicks === undefined || Number(fields[19]) === startTicks;
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
    const startTicks = processStartTicks(child.pid);
    const record: ProcessRecord = { name, pid: child.pid, binary, args, logPath, healthUrl, ...(startTicks !== undefined ? { startTicks } : {}) };
    return { record, child, exit: () => exited };
  } finally {
    closeSync(fd);
  }
}


/**
 * Stops a process: SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone.
 * Does nothing when the pid is no longer the recorded program.
 */
export async function stopProcess(record: ProcessRecord, graceMs = 10_000): Promise<void> {
  if (!isRunning(record.pid, record.startTicks)) return;
  try {
    process.kill(record.pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRunning(record.pid, record.startTicks)) return;
    await sleep(100);
  }
  try {
    process.kill(record.pid, "SIGKILL");
  } catch {
    return;
  }
  const killDeadline = Date.now() + 5_000;
  while (Date.now() < killDeadline) {
    if (!isRunning(record.pid, record.startTicks)) return;
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
