import { test } from "node:test";
import assert from "node:assert/strict";
import { ApiError, isAlreadyExists, isConflict, isForbidden, isGone, isInvalid, isNotFound } from "../../../framework/client/index.ts";

const pods = { group: "", version: "v1", kind: "Pod" };

test("the message names verb, GVK and object, and predicates read the reason", () => {
  const err = new ApiError(404, { kind: "Status", reason: "NotFound", message: 'pods "p1" not found', code: 404 }, { verb: "get", gvk: pods, namespace: "ns", name: "p1" });
  assert.match(err.message, /^get Pod\.v1 ns\/p1 failed: 404 NotFound: pods "p1" not found/);
  assert.equal(isNotFound(err), true);
  assert.equal(isConflict(err), false);
  assert.equal(isNotFound(new Error("not found")), false);
});

test("409 Conflict and 409 AlreadyExists are told apart", () => {
  const conflict = new ApiError(409, { reason: "Conflict" }, { verb: "update", gvk: pods, namespace: "ns", name: "p" });
  const exists = new ApiError(409, { reason: "AlreadyExists" }, { verb: "create", gvk: pods, namespace: "ns", name: "p" });
  assert.equal(isConflict(conflict), true);
  assert.equal(isAlreadyExists(conflict), false);
  assert.equal(isConflict(exists), false);
  assert.equal(isAlreadyExists(exists), true);
});

test("410 without a body, Expired, Invalid and Forbidden", () => {
  assert.equal(isGone(new ApiError(410, {}, { verb: "watch", gvk: pods })), true);
  assert.equal(isGone(new ApiError(500, { reason: "Expired", code: 410 }, { verb: "list", gvk: pods })), true);
  const invalid = new ApiError(422, {}, { verb: "create", gvk: pods, namespace: "ns", name: "p" });
  assert.equal(invalid.reason, "Invalid");
  assert.equal(isInvalid(invalid), true);
  assert.equal(isForbidden(new ApiError(403, { reason: "Forbidden" }, { verb: "list", gvk: pods })), true);
  assert.equal(isForbidden(invalid), false);
});
