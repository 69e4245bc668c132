import { celFunc, celList, celMethod, CelScalar, type CelFunc } from "@bufbuild/cel";
import type { ReflectMessage } from "@bufbuild/protobuf/reflect";
import { isLabelKey, isLabelValue } from "../../meta/labels.ts";
import { nameIsDNS1035Label, nameIsDNSLabel, nameIsDNSSubdomain } from "../../meta/dns-names.ts";
import { optionalNone, optionalOf } from "./optional.ts";
import { refuse } from "./refuse.ts";
import { NamedFormatType, OptionalType } from "./types.ts";

/**
 * Kubernetes' `format` library: `format.<name>()` and `format.named(name)` give a named
 * format, `<format>.validate(s)` the problems of `s` (`optional.of([...])`) or `optional.none()`.
 * Mirrors k8s.io/apiserver/pkg/cel/library/format.go in Kubernetes v1.36, with apimachinery's
 * validators and messages, and kube-openapi strfmt's `uuid`, `byte`, `date` and `datetime`.
 * `uri` is refused when validating: Go's `url.ParseRequestURI` and its error texts are not
 * reproduced.
 */

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/;
const DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const TIME = /^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$/;

/** Go `time.Parse("2006-01-02", s)` succeeds. */
function isDate(s: string): boolean {
  const m = DATE.exec(s);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  return day <= days;
}

/** strfmt `IsDateTime`: a date, `t`, then hh:mm:ss[.frac](z|±hh:mm), case-insensitive. */
function isDateTime(s: string): boolean {
  if (Buffer.byteLength(s) < 4) return false;
  const parts = s.toLowerCase().split("t");
  if (parts.length < 2 || !isDate(parts[0]!)) return false;
  const m = TIME.exec(parts[1]!);
  if (!m) return false;
  return m[1]! <= "23" && m[2]! <= "59" && m[3]! <= "59";
}

const only = (ok: boolean, message: string) => (ok ? [] : [message]);

/** The named formats, by the name `format.named` takes. */
const FORMATS: Record<string, (s: string) => string[]> = {
  dns1123Label: (s) => nameIsDNSLabel(s, false),
  dns1123Subdomain: (s) => nameIsDNSSubdomain(s, false),
  dns1035Label: (s) => nameIsDNS1035Label(s, false),
  qualifiedName: isLabelKey,
  dns1123LabelPrefix: (s) => nameIsDNSLabel(s, true),
  dns1123SubdomainPrefix: (s) => nameIsDNSSubdomain(s, true),
  dns1035LabelPrefix: (s) => nameIsDNS1035Label(s, true),
  labelValue: isLabelValue,
  uri: () => refuse("format.uri(): Go's url.ParseRequestURI is not reproduced"),
  uuid: (s) => only(UUID.test(s), "does not match the UUID format"),
  byte: (s) => only(BASE64.test(s), "invalid base64"),
  date: (s) => only(isDate(s), "invalid date"),
  datetime: (s) => only(isDateTime(s), "invalid datetime"),
};

/** The names of the formats, `format.<name>()` functions. */
export const FORMAT_NAMES: readonly string[] = Object.keys(FORMATS);

const T = NamedFormatType.celType;
const OPTIONAL = OptionalType.celType;

export const formatLibrary: CelFunc[] = [
  ...FORMAT_NAMES.map((name) => celFunc(`format.${name}`, [], T, () => NamedFormatType.wrap(name))),
  celFunc("format.named", [CelScalar.STRING], OPTIONAL, (name) => (Object.hasOwn(FORMATS, name) ? optionalOf(NamedFormatType.wrap(name)) : optionalNone())),
  celMethod("validate", T, [CelScalar.STRING], OPTIONAL, function (s) {
    const problems = FORMATS[NamedFormatType.unwrap(this as unknown as ReflectMessage)]!(s);
    return problems.length === 0 ? optionalNone() : optionalOf(celList(problems));
  }),
];
