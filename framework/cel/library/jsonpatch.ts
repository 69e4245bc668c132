import { celFunc, CelScalar, type CelFunc } from "@bufbuild/cel";

/**
 * The jsonpatch library of MutatingAdmissionPolicy expressions
 * (k8s.io/apiserver/pkg/cel/library/jsonpatch.go, v1.36): `jsonpatch.escapeKey(string)` escapes
 * `~` as `~0` and `/` as `~1` (RFC 6901), so a map key can be a JSON Patch path segment.
 */
export const jsonPatchLibrary: CelFunc[] = [
  celFunc("jsonpatch.escapeKey", [CelScalar.STRING], CelScalar.STRING, (key) => key.replaceAll("~", "~0").replaceAll("/", "~1")),
];
