// client-go's retry rules as pure functions (rest/with_retry.go checkWait, rest/request.go).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConnectionLostError } from "../../../framework/client/index.ts";
import { MAX_RETRIES, retryAfterErrorMs, retryAfterResponseMs } from "../../../framework/client/retry.ts";

test("Retry-After is honoured on 429 and every 5xx, in whole seconds as strconv.Atoi reads them", () => {
  assert.equal(retryAfterResponseMs(429, "3"), 3000);
  assert.equal(retryAfterResponseMs(500, "1"), 1000);
  assert.equal(retryAfterResponseMs(503, "0"), 0);
  assert.equal(retryAfterResponseMs(504, "+2"), 2000);
  assert.equal(retryAfterResponseMs(429, "-5"), 0, "a negative wait is no wait");
  assert.equal(retryAfterResponseMs(429, undefined), undefined, "429 without Retry-After: not retried");
  assert.equal(retryAfterResponseMs(503, undefined), undefined);
  assert.equal(retryAfterResponseMs(429, "Wed, 21 Oct 2015 07:28:00 GMT"), undefined, "an HTTP date is not an integer");
  assert.equal(retryAfterResponseMs(429, "1.5"), undefined);
  assert.equal(retryAfterResponseMs(409, "1"), undefined, "only 429 and 5xx");
  assert.equal(retryAfterResponseMs(404, "1"), undefined);
  assert.equal(MAX_RETRIES, 10);
});

test("only a GET is retried after a lost connection, after 1 s; other errors never", () => {
  const lost = new ConnectionLostError("reset");
  assert.equal(retryAfterErrorMs("GET", lost), 1000);
  for (const method of ["POST", "PUT", "PATCH", "DELETE"]) assert.equal(retryAfterErrorMs(method, lost), undefined, method);
  assert.equal(retryAfterErrorMs("GET", Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })), undefined);
  assert.equal(retryAfterErrorMs("GET", new Error("boom")), undefined);
});
