import { gvkString, type GroupVersionKind } from "../meta/index.ts";
import type { Status } from "./types.ts";

/** What an `ApiError` is about: the request and the object it targeted. */
export interface ApiErrorContext {
  /** Kubernetes verb: `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, ... */
  verb: string;
  gvk?: GroupVersionKind;
  namespace?: string;
  name?: string;
  /** Subresource, e.g. `status` or `scale`. */
  subresource?: string;
}

/**
 * A non-2xx answer of the API server (or an `ERROR` event of a watch), carrying the
 * `metav1.Status` body. The message names the verb, the GVK and `namespace/name`, so it can be
 * logged as is. Mirrors apimachinery's `errors.StatusError`.
 */
export class ApiError extends Error {
  /** HTTP status code (`Status.code`), e.g. 404, 409, 410, 422. */
  readonly statusCode: number;
  /** `Status.reason`, e.g. `NotFound`, `Conflict`, `AlreadyExists`, `Expired`, `Invalid`. */
  readonly reason: string;
  /** The `metav1.Status` body as the server sent it (synthesised when the body was not a Status). */
  readonly status: Status;
  readonly verb: string;
  readonly gvk: GroupVersionKind | undefined;
  readonly namespace: string | undefined;
  readonly objectName: string | undefined;

  constructor(statusCode: number, status: Status, context: ApiErrorContext) {
    const reason = status.reason ?? reasonForCode(statusCode);
    const target = [
      context.gvk ? gvkString(context.gvk) : undefined,
      context.name ? (context.namespace ? `${context.namespace}/${context.name}` : context.name) : context.namespace ? `in namespace ${context.namespace}` : undefined,
      context.subresource ? `(subresource ${context.subresource})` : undefined,
    ].filter(Boolean).join(" ");
    super(`${context.verb} ${target || "request"} failed: ${statusCode} ${reason}: ${status.message ?? "no message"}${hintFor(statusCode, reason)}`);
    this.name = "ApiError";
    this.statusCode = statusCode;
    this.reason = reason;
    this.status = status;
    this.verb = context.verb;
    this.gvk = context.gvk;
    this.namespace = context.namespace;
    this.objectName = context.name;
  }
}

function reasonForCode(code: number): string {
  switch (code) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 406: return "NotAcceptable";
    case 409: return "Conflict";
    case 410: return "Expired";
    case 413: return "RequestEntityTooLarge";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return code >= 500 ? "InternalError" : "Unknown";
  }
}

function hintFor(code: number, reason: string): string {
  if (reason === "Conflict") return " (re-read the object and retry with its current resourceVersion)";
  if (code === 410) return " (the resourceVersion is too old: list again)";
  if (code === 403) return " (check the RBAC rules of the client's identity)";
  if (code === 401) return " (check the kubeconfig's credentials)";
  return "";
}

function asApiError(err: unknown): ApiError | undefined {
  return err instanceof ApiError ? err : undefined;
}

/** True for a 404 / reason `NotFound`. */
export function isNotFound(err: unknown): boolean {
  const e = asApiError(err);
  return e !== undefined && (e.reason === "NotFound" || (e.statusCode === 404 && e.reason === "Unknown"));
}

/** True for a 409 Conflict (stale `resourceVersion`), not for AlreadyExists. */
export function isConflict(err: unknown): boolean {
  const e = asApiError(err);
  return e !== undefined && e.reason === "Conflict";
}

/** True for a 409 with reason `AlreadyExists` (create of an existing name). */
export function isAlreadyExists(err: unknown): boolean {
  const e = asApiError(err);
  return e !== undefined && e.reason === "AlreadyExists";
}

/**
 * True for 410 Gone / reason `Expired` or `Gone`: the resourceVersion (or continue token) is too
 * old and the caller must list again (client-go `apierrors.IsResourceExpired` / `IsGone`).
 */
export function isGone(err: unknown): boolean {
  const e = asApiError(err);
  return e !== undefined && (e.statusCode === 410 || e.reason === "Expired" || e.reason === "Gone");
}

/** True for a 422 / reason `Invalid` (validation failed; `status.details.causes` lists fields). */
export function isInvalid(err: unknown): boolean {
  const e = asApiError(err);
  return e !== undefined && (e.reason === "Invalid" || e.statusCode === 422);
}

/** True for a 403 / reason `Forbidden` (RBAC denied, or a namespace being terminated). */
export function isForbidden(err: unknown): boolean {
  const e = asApiError(err);
  return e !== undefined && (e.reason === "Forbidden" || e.statusCode === 403);
}

/** True for 429 TooManyRequests (API Priority and Fairness rejected the request). */
export function isTooManyRequests(err: unknown): boolean {
  const e = asApiError(err);
  return e !== undefined && (e.reason === "TooManyRequests" || e.statusCode === 429);
}
