import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, it } from "node:test";
import { isRunning, processStartTicks } from "../../../framework/testing/processes.ts";

describe("process identity", { skip: process.platform !== "linux" ? "reads /proc" : false }, () => {
  it("knows a process by pid and start time, and sees it gone after it exits", async () => {
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    const pid = child.pid!;
    const ticks = processStartTicks(pid);
    assert.ok(ticks !== undefined && ticks > 0);
    assert.equal(isRunning(pid, ticks), true);
    assert.equal(isRunning(pid, ticks + 1), false, "a different start time means the pid was reused");
    child.kill("SIGKILL");
    await once(child, "exit");
    assert.equal(isRunning(pid, ticks), false);
  });
});
