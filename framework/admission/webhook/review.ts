/**
 * AdmissionReview `admission.k8s.io/v1`: the request a webhook receives and the response it
 * sends, with the results handlers return.
 * Mirrors k8s.io/api/admission/v1/types.go in Kubernetes v1.36 and controller-runtime's
 * pkg/webhook/admission/response.go (`Allowed`, `Denied`, `Errored`, `PatchResponseFromRaw`).
 */
import fastJsonPatch from "fast-json-patch";
import type { JsonPatchOperation } from "../../client/index.ts";
import type { KubeObject } from "../../meta/index.ts";

/** `AdmissionRequest`. `object`/`oldObject` are typed by the webhook's resource. */
export interface AdmissionRequest<T extends KubeObject = KubeObject> {
  uid: string;
  kind: { group: string; version: string; kind: string };
  resource: { group: string; version: string; resource: string };
  subResource?: string;
  requestKind?: { group: string; version: string; kind: string };
  requestResource?: { group: string; version: string; resource: string };
  requestSubResource?: string;
  name?: string;
  namespace?: string;
  operation: "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
  userInfo: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  object?: T;
  oldObject?: T;
  dryRun?: boolean;
  options?: unknown;
}

/** `metav1.Status` as it goes into a response. */
export interface ResponseStatus {
  code?: number;
  message?: string;
  reason?: string;
}

/** `AdmissionResponse`. */
export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: ResponseStatus;
  /** Base64 of a JSON Patch (RFC 6902). */
  patch?: string;
  patchType?: "JSONPatch";
  auditAnnotations?: Record<string, string>;
  warnings?: string[];
}

/** What a handler returns. Build it with `allow`, `deny`, `patch` or `mutate`. */
export type AdmissionResult =
  | { kind: "allow"; warnings?: string[] }
  | { kind: "deny"; message: string; code: number; reason?: string; warnings?: string[] }
  | { kind: "patch"; operations: JsonPatchOperation[]; warnings?: string[] }
  | { kind: "mutate"; object: KubeObject; warnings?: string[] };

/** Admit the request. */
export function allow(opts: { warnings?: string[] } = {}): AdmissionResult {
  return { kind: "allow", ...opts };
}

/** Refuse the request; the API server answers `admission webhook "<name>" denied the request: <message>` with `code` (default 403). */
export function deny(message: string, opts: { code?: number; reason?: string; warnings?: string[] } = {}): AdmissionResult {
  return { kind: "deny", message, code: opts.code ?? 403, ...(opts.reason ? { reason: opts.reason } : {}), ...(opts.warnings ? { warnings: opts.warnings } : {}) };
}

/** Admit the request changed by these JSON Patch operations (mutating webhooks only). */
export function patch(operations: JsonPatchOperation[], opts: { warnings?: string[] } = {}): AdmissionResult {
  return { kind: "patch", operations, ...opts };
}

/** Admit the request changed to `object`; the JSON Patch is the difference from the request's object (mutating webhooks only). */
export function mutate(object: KubeObject, opts: { warnings?: string[] } = {}): AdmissionResult {
  return { kind: "mutate", object, ...opts };
}

/** A request body that is not an AdmissionReview v1 with a request: answered 400 with `message`. */
export class MalformedReviewError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MalformedReviewError";
  }
}

/**
 * Parses a request body as AdmissionReview v1.
 * @throws MalformedReviewError naming what is wrong.
 */
export function parseReview(body: string): AdmissionRequest {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    throw new MalformedReviewError(`request body is not JSON: ${(err as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new MalformedReviewError("request body is not a JSON object");
  const review = json as { apiVersion?: unknown; kind?: unknown; request?: unknown };
  if (review.kind !== "AdmissionReview") throw new MalformedReviewError(`kind is ${JSON.stringify(review.kind)}, want "AdmissionReview"`);
  if (review.apiVersion !== "admission.k8s.io/v1") throw new MalformedReviewError(`apiVersion is ${JSON.stringify(review.apiVersion)}, want "admission.k8s.io/v1" (list only v1 in admissionReviewVersions)`);
  const req = review.request as Partial<AdmissionRequest> | undefined;
  if (typeof req !== "object" || req === null) throw new MalformedReviewError("AdmissionReview has no request");
  if (typeof req.uid !== "string" || req.uid === "") throw new MalformedReviewError("request.uid is missing");
  if (!["CREATE", "UPDATE", "DELETE", "CONNECT"].includes(req.operation as string)) throw new MalformedReviewError(`request.operation ${JSON.stringify(req.operation)} is not CREATE, UPDATE, DELETE or CONNECT`);
  return req as AdmissionRequest;
}

/** The AdmissionReview v1 answering `request` with `result`. */
export function reviewResponse(request: AdmissionRequest, result: AdmissionResult): { apiVersion: "admission.k8s.io/v1"; kind: "AdmissionReview"; response: AdmissionResponse } {
  const response: AdmissionResponse = { uid: request.uid, allowed: result.kind !== "deny" };
  if (result.warnings?.length) response.warnings = [...result.warnings];
  if (result.kind === "deny") {
    response.status = { code: result.code, message: result.message, ...(result.reason ? { reason: result.reason } : {}) };
  } else if (result.kind === "patch" || result.kind === "mutate") {
    const ops = result.kind === "patch" ? result.operations : fastJsonPatch.compare(request.object ?? {}, result.object) as JsonPatchOperation[];
    if (ops.length > 0) {
      response.patch = Buffer.from(JSON.stringify(ops)).toString("base64");
      response.patchType = "JSONPatch";
    }
  }
  return { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response };
}

/**
 * `?timeout=` as the API server sends it (a Go duration: `10s`, `1.5s`, `500ms`, `1m0s`), in ms.
 * Returns undefined when absent or not a duration.
 */
export function parseTimeoutMs(value: unknown): number | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, "µs": 0.001, ns: 0.000001 };
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/gy;
  let total = 0;
  let pos = 0;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    total += Number(m[1]) * units[m[2]!]!;
    pos = re.lastIndex;
  }
  return pos === value.length && pos > 0 ? total : undefined;
}
