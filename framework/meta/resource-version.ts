/**
 * Orders two resourceVersions as apimachinery `resourceversion.CompareResourceVersion` does
 * (decimal integers without leading zeros: shorter is smaller, then lexical); undefined when
 * either is not well formed (the server makes no promise then).
 * @returns a negative number, 0 or a positive number; undefined when not comparable.
 */
export function compareResourceVersions(a: string | undefined, b: string | undefined): number | undefined {
  const wellFormed = (s: string | undefined): s is string => s !== undefined && /^[1-9][0-9]*$/.test(s);
  if (!wellFormed(a) || !wellFormed(b)) return undefined;
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
