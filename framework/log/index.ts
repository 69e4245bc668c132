import { pino, type Logger as PinoLogger } from "pino";

/** Structured logger used across kubeloop (pino). Children carry context: `log.child({ controller: "replicaset" })`. */
export type Logger = PinoLogger;

/**
 * The root logger. Level from `KUBELOOP_LOG_LEVEL` (default `info`; `silent` turns it off);
 * JSON lines on stderr, so stdout stays free for command output.
 */
export const rootLogger: Logger = pino(
  { level: process.env.KUBELOOP_LOG_LEVEL ?? "info", base: undefined },
  pino.destination(2),
);
