/**
 * Field errors worded as the API server words them, so an error raised when a policy is built
 * reads like the 422 the server would have answered.
 * Mirrors k8s.io/apimachinery/pkg/util/validation/field/errors.go in Kubernetes v1.36
 * (`Error.Error()` = `<field>: <ErrorBody>`; `ErrorBody` = type, the bad value, the detail).
 */

/** The error types that admission validation raises, with the text the API server prints. */
export const fieldErrorTypes = {
  Required: "Required value",
  Forbidden: "Forbidden",
  Invalid: "Invalid value",
  NotSupported: "Unsupported value",
  Duplicate: "Duplicate value",
  TooMany: "Too many",
} as const;

/** One field error. `reason` is the cause type the server puts in `details.causes[].reason`. */
export interface FieldError {
  type: keyof typeof fieldErrorTypes;
  /** The field path in the server's notation, e.g. `spec.validations[0].message`. */
  field: string;
  /** The offending value; omitted for Required and Forbidden. */
  value?: unknown;
  detail: string;
}

/** `<field>: <type>[: <value>][: <detail>]`, as field.Error.Error(). */
export function formatFieldError(e: FieldError): string {
  let body: string = fieldErrorTypes[e.type];
  if (e.type !== "Required" && e.type !== "Forbidden" && e.value !== undefined) {
    body += `: ${typeof e.value === "string" ? goQuote(e.value) : typeof e.value === "number" || typeof e.value === "boolean" ? String(e.value) : JSON.stringify(e.value)}`;
  }
  if (e.detail) body += `: ${e.detail}`;
  return `${e.field}: ${body}`;
}

/** Go's `%q` for the characters policies meet (JSON escaping matches it for these). */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

/**
 * What the API server would answer 422 Invalid for: thrown when a policy, binding or webhook
 * configuration is built. `message` reads as the server's
 * (`ValidatingAdmissionPolicy.admissionregistration.k8s.io "p" is invalid: <errors>`), and
 * `errors` lists each field error.
 */
export class AdmissionConfigError extends Error {
  readonly kind: string;
  readonly objectName: string;
  readonly errors: readonly FieldError[];

  constructor(kind: string, name: string, errors: readonly FieldError[]) {
    const texts = [...new Set(errors.map(formatFieldError))];
    const joined = texts.length === 1 ? texts[0]! : `[${texts.join(", ")}]`;
    super(`${kind}.admissionregistration.k8s.io ${JSON.stringify(name)} is invalid: ${joined}`);
    this.name = "AdmissionConfigError";
    this.kind = kind;
    this.objectName = name;
    this.errors = errors;
  }
}

/** Collects field errors under a path, as `field.ErrorList` with `field.Path`. */
export class FieldErrors {
  readonly list: FieldError[] = [];

  required(field: string, detail = ""): void {
    this.list.push({ type: "Required", field, detail });
  }
  forbidden(field: string, detail: string): void {
    this.list.push({ type: "Forbidden", field, detail });
  }
  invalid(field: string, value: unknown, detail: string): void {
    this.list.push({ type: "Invalid", field, value, detail });
  }
  /** `supported` in the server's order (sorted where it uses `sets.List()`). */
  notSupported(field: string, value: unknown, supported: readonly string[]): void {
    this.list.push({ type: "NotSupported", field, value, detail: `supported values: ${supported.map((v) => JSON.stringify(v)).join(", ")}` });
  }
  duplicate(field: string, value: unknown): void {
    this.list.push({ type: "Duplicate", field, value, detail: "" });
  }
  tooMany(field: string, actual: number, max: number): void {
    this.list.push({ type: "TooMany", field, value: actual, detail: `must have at most ${max} ${max === 1 ? "item" : "items"}` });
  }

  /** @throws AdmissionConfigError when any error was collected. */
  throwIfAny(kind: string, name: string): void {
    if (this.list.length > 0) throw new AdmissionConfigError(kind, name, this.list);
  }
}
