/** Marker of an error that means "the in-process evaluator cannot give this result exactly". */
export const REFUSED_MARKER = "kubeloop/cel refused: ";

/** Thrown inside a library function when the result would not be exactly the API server's. */
export function refuse(reason: string): never {
  throw new Error(`${REFUSED_MARKER}${reason}`);
}

/** The refusal reason carried by an error (its message or one of its causes), if any. */
export function refusalOf(error: unknown, depth = 0): string | undefined {
  if (depth > 8 || error === null || typeof error !== "object") return undefined;
  const message = (error as { message?: unknown }).message;
  if (typeof message === "string") {
    const at = message.indexOf(REFUSED_MARKER);
    if (at >= 0) return message.slice(at + REFUSED_MARKER.length);
  }
  const cause = (error as { cause?: unknown }).cause;
  if (Array.isArray(cause)) {
    for (const c of cause) {
      const r = refusalOf(c, depth + 1);
      if (r) return r;
    }
    return undefined;
  }
  return refusalOf(cause, depth + 1);
}
