import { rootLogger, type Logger } from "../log/index.ts";
import type { Manager } from "./manager.ts";

/**
 * A signal that aborts on the first SIGTERM or SIGINT; a second one exits the process with
 * code 1 at once (controller-runtime `SetupSignalHandler`). Pass it to `Manager.start`.
 */
export function handleSignals(opts: { log?: Logger } = {}): AbortSignal {
  const log = opts.log ?? rootLogger;
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (!ac.signal.aborted) {
      log.info({ signal: sig }, "stop signal received; shutting down gracefully (send it again to exit at once)");
      ac.abort(new Error(`received ${sig}`));
      return;
    }
    log.warn({ signal: sig }, "second stop signal received; exiting at once");
    process.exit(1);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return ac.signal;
}

/**
 * Runs `mgr` until SIGTERM or SIGINT, then exits: 0 after a graceful shutdown, 1 when the
 * manager failed (a runnable error, the leader lease lost, shutdown past its timeout).
 */
export async function runManager(mgr: Manager): Promise<never> {
  const signal = handleSignals({ log: mgr.log });
  try {
    await mgr.start(signal);
    process.exit(0);
  } catch (err) {
    mgr.log.error({ err }, "manager failed; exiting with code 1");
    process.exit(1);
  }
}
