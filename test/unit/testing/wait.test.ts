import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { waitFor, WaitTimeoutError } from "../../../framework/testing/index.ts";

describe("waitFor", () => {
  it("resolves with the first value that is not undefined or false, retrying errors", async () => {
    let calls = 0;
    const value = await waitFor(
      async () => {
        calls++;
        if (calls === 1) throw new Error("not yet");
        if (calls === 2) return false;
        if (calls === 3) return undefined;
        return { calls };
      },
      { timeoutMs: 10_000, intervalMs: 1, description: "the fourth call" },
    );
    assert.deepEqual(value, { calls: 4 });
  });

  it("treats 0 and empty string as values", async () => {
    assert.equal(await waitFor(async () => 0, { timeoutMs: 1000, description: "zero" }), 0);
  });

  it("times out naming the description and the last error", async () => {
    await assert.rejects(
      waitFor(async () => {
        throw new Error("connection refused");
      }, { timeoutMs: 50, intervalMs: 5, description: "the API server to answer" }),
      (err: unknown) => {
        assert.ok(err instanceof WaitTimeoutError);
        assert.match(err.message, /timed out after 50ms waiting for the API server to answer; last probe failed: connection refused/);
        assert.equal((err.lastError as Error).message, "connection refused");
        return true;
      },
    );
  });

  it("does not wait past the deadline for a probe that hangs", async () => {
    await assert.rejects(
      waitFor(() => new Promise<boolean>(() => {}), { timeoutMs: 30, description: "a hanging probe" }),
      WaitTimeoutError,
    );
  });

  it("stops when the signal aborts, with its reason", async () => {
    const controller = new AbortController();
    const reason = new Error("test over");
    setTimeout(() => controller.abort(reason), 10);
    await assert.rejects(
      waitFor(async () => undefined, { timeoutMs: 60_000, intervalMs: 5, description: "never", signal: controller.signal }),
      (err: unknown) => err === reason,
    );
  });
});
