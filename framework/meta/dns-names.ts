/**
 * DNS name checks with the API server's messages: apimachinery v0.36 `IsDNS1123Label`,
 * `IsDNS1123Subdomain`, `IsDNS1035Label` (pkg/util/validation) and the `NameIsDNS*` name
 * validators with their `prefix` flag (pkg/api/validation/generic.go). Lengths count bytes, as
 * Go's `len(string)`. Each function returns the problems, empty when the value is valid.
 */

const DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
/** apimachinery's `dns1123SubdomainFmt`, unanchored. */
export const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
/** apimachinery's `dns1123SubdomainErrorMsg`. */
export const DNS1123_SUBDOMAIN_ERR = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?";
const dns1123Label = new RegExp(`^${DNS1123_LABEL_FMT}$`);
const dns1123Subdomain = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);
const dns1035Label = new RegExp(`^${DNS1035_LABEL_FMT}$`);

/** apimachinery `RegexError`. */
export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(" or ")}regex used for validation is '${fmt}')`;
}

const maxLen = (n: number) => `must be no more than ${n} characters`;
const bytes = (s: string) => Buffer.byteLength(s, "utf8");

/** A lowercase RFC 1123 label: at most 63 bytes, `[a-z0-9-]`, alphanumeric at both ends. */
export function isDNS1123Label(value: string): string[] {
  const errs: string[] = [];
  if (bytes(value) > 63) errs.push(maxLen(63));
  if (!dns1123Label.test(value)) {
    if (dns1123Subdomain.test(value)) errs.push("must not contain dots");
    else errs.push(regexError("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character", DNS1123_LABEL_FMT, "my-name", "123-abc"));
  }
  return errs;
}

/** A lowercase RFC 1123 subdomain: at most 253 bytes of dot-separated labels. */
export function isDNS1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (bytes(value) > 253) errs.push(maxLen(253));
  if (!dns1123Subdomain.test(value)) errs.push(regexError(DNS1123_SUBDOMAIN_ERR, DNS1123_SUBDOMAIN_FMT, "example.com"));
  return errs;
}

/** An RFC 1035 label: at most 63 bytes, starting with a letter. */
export function isDNS1035Label(value: string): string[] {
  const errs: string[] = [];
  if (bytes(value) > 63) errs.push(maxLen(63));
  if (!dns1035Label.test(value)) errs.push(regexError("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character", DNS1035_LABEL_FMT, "my-name", "abc-123"));
  return errs;
}

/**
 * apimachinery `maskTrailingDash`, for a name that is a `generateName` prefix: a trailing `-`
 * is allowed. Upstream drops the last two characters and appends `a` (so `ab-` checks `aa`).
 */
function maskTrailingDash(name: string): string {
  return name.length > 1 && name.endsWith("-") ? `${name.slice(0, -2)}a` : name;
}

/** `NameIsDNSLabel(name, prefix)`. */
export const nameIsDNSLabel = (name: string, prefix: boolean) => isDNS1123Label(prefix ? maskTrailingDash(name) : name);
/** `NameIsDNSSubdomain(name, prefix)`. */
export const nameIsDNSSubdomain = (name: string, prefix: boolean) => isDNS1123Subdomain(prefix ? maskTrailingDash(name) : name);
/** `NameIsDNS1035Label(name, prefix)`. */
export const nameIsDNS1035Label = (name: string, prefix: boolean) => isDNS1035Label(prefix ? maskTrailingDash(name) : name);
