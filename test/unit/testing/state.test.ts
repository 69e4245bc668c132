import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  attachControlPlane,
  controlPlaneStatus,
  destroyControlPlane,
  startControlPlane,
} from "../../../framework/testing/index.ts";

/** A state.json as startControlPlane writes it, with the given processes. */
function state(processes: { name: string; pid: number; binary: string }[]): string {
  return JSON.stringify({
    version: 1,
    startedAt: "2026-01-01T00:00:00.000Z",
    server: "https://127.0.0.1:1",
    kubeconfigPath: "/nonexistent/kubeconfig",
    ports: {},
    settings: {},
    processes: processes.map((p) => ({ ...p, args: [], logPath: `/nonexistent/${p.name}.log`, healthUrl: "http://127.0.0.1:1/healthz" })),
  });
}

describe("cluster directory state", () => {
  let root: string;
  let deadPid: number;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "kubeloop-state-"));
    const finished = spawnSync("true");
    deadPid = finished.pid ?? 999_999;
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("reports processes that are gone and refuses to attach", async () => {
    const dir = join(root, "stale");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "state.json"), state([{ name: "kube-apiserver", pid: deadPid, binary: "/bin/true" }]));
    const status = await controlPlaneStatus(dir);
    assert.deepEqual(status?.processes.map((p) => [p.name, p.running, p.healthy]), [["kube-apiserver", false, false]]);
    await assert.rejects(attachControlPlane(dir), /is not running \(kube-apiserver pid \d+ is gone\)/);
  });

  it("refuses to start over a control plane whose processes still run", async () => {
    const dir = join(root, "live");
    await mkdir(dir, { recursive: true });
    // This test process stands in for a live kube-apiserver (same pid and program).
    const self = readFileSync("/proc/self/cmdline", "utf8").split("\0")[0] ?? process.execPath;
    await writeFile(join(dir, "state.json"), state([{ name: "kube-apiserver", pid: process.pid, binary: self }]));
    await assert.rejects(
      startControlPlane({ dir, stopOnExit: false }),
      new RegExp(`a control plane is already running in ${dir} \\(kube-apiserver pid ${process.pid};.*cluster -- down --dir`),
    );
  });

  it("cluster down removes only what kubeloop wrote", async () => {
    const dir = join(root, "down");
    await mkdir(join(dir, "etcd"), { recursive: true });
    await mkdir(join(dir, "logs"), { recursive: true });
    await writeFile(join(dir, "state.json"), state([{ name: "etcd", pid: deadPid, binary: "/bin/true" }]));
    await writeFile(join(dir, "notes.txt"), "mine");
    assert.equal(await destroyControlPlane(dir), true);
    assert.equal(existsSync(join(dir, "state.json")), false);
    assert.equal(existsSync(join(dir, "etcd")), false);
    assert.equal(existsSync(join(dir, "logs")), false);
    assert.equal(existsSync(join(dir, "notes.txt")), true);
    assert.equal(await destroyControlPlane(dir), false);
    assert.equal(await controlPlaneStatus(dir), undefined);
  });
});
