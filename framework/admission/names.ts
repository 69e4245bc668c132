/**
 * Name checks the API server applies to admission objects, with its messages.
 * Mirrors k8s.io/apimachinery/pkg/util/validation/validation.go (`IsDNS1123Subdomain`) and
 * pkg/api/validate/content/kube.go (`IsQualifiedName`) in Kubernetes v1.36, and the CEL
 * identifier check of pkg/apis/admissionregistration/validation/validation.go.
 */

import { isDNS1123Subdomain } from "../meta/dns-names.ts";
import { isLabelKey } from "../meta/labels.ts";

/** `IsDNS1123Subdomain`: the problems of `value`, empty when it is a valid object name. */
export const dns1123SubdomainErrors = isDNS1123Subdomain;

/** `IsQualifiedName` (`content.IsLabelKey`: `[prefix/]name`, name at most 63 bytes): empty when valid. */
export const qualifiedNameErrors = isLabelKey;

const celReserved = new Set(["true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if",
  "import", "let", "loop", "package", "namespace", "return", "var", "void", "while"]);

/** A CEL identifier that is not a reserved word (variable names). */
export function isCelIdentifier(name: string): boolean {
  return /^[_a-zA-Z][_a-zA-Z0-9]*$/.test(name) && !celReserved.has(name);
}

/** `IsPathSegmentName` (resourceNames, paramRef.name): empty when valid. */
export function pathSegmentNameErrors(name: string): string[] {
  for (const illegal of [".", ".."]) if (name === illegal) return [`may not be '${illegal}'`];
  return ["/", "%"].filter((c) => name.includes(c)).map((c) => `may not contain '${c}'`);
}
