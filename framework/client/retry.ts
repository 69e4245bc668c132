/**
 * When the REST client sends a request again, exactly as client-go's `rest.Request` does
 * (rest/request.go `request` and `Watch`, rest/with_retry.go `IsNextRetry` and `checkWait`):
 * - any verb, when the server answered 429 or a 5xx with a `Retry-After` header holding whole
 *   seconds: after that many seconds;
 * - a GET (a watch is one) whose connection was reset or closed early (EOF, HTTP/2 connection
 *   lost): after 1 s (client-go answers these with an artificial `Retry-After: 1`);
 * - nothing else; at most `MAX_RETRIES` times.
 */
import { ConnectionLostError } from "./connection.ts";

/** Retries after the first attempt (client-go's `maxRetries` default: 10, so 11 attempts at most). */
export const MAX_RETRIES = 10;

/** Wait before a GET is sent again after its connection was lost (client-go's artificial `Retry-After: 1`). */
export const CONNECTION_LOST_RETRY_MS = 1_000;

/**
 * The wait a response asks for, in milliseconds; undefined when it is not to be retried.
 * Mirrors `checkWait`: only 429 and 5xx, only with `Retry-After` as an integer (`strconv.Atoi`:
 * an optional sign and digits; an HTTP date is not retried); a negative value waits 0.
 */
export function retryAfterResponseMs(status: number, retryAfter: string | undefined): number | undefined {
  if (status !== 429 && status < 500) return undefined;
  if (retryAfter === undefined || !/^[+-]?\d+$/.test(retryAfter)) return undefined;
  return Math.max(0, Number(retryAfter)) * 1000;
}

/**
 * The wait before sending `method` again after `err`, in milliseconds; undefined when it is not
 * to be retried. Only a GET after a lost connection (`ConnectionLostError`): writes are not
 * idempotent, so a POST is never sent again after a reset (the server may have run it).
 */
export function retryAfterErrorMs(method: string, err: unknown): number | undefined {
  return method === "GET" && err instanceof ConnectionLostError ? CONNECTION_LOST_RETRY_MS : undefined;
}
