import { INT, ruleCase, STRING, STRING_LIST, type CelCase } from "./types.ts";

const OBJECT = {
  type: "object",
  properties: {
    a: { type: "integer", format: "int64" },
    b: { type: "string", maxLength: 16 },
    "dash-name": { type: "string", maxLength: 16 },
    "dot.name": { type: "string", maxLength: 16 },
    namespace: { type: "string", maxLength: 16 },
    __x: { type: "string", maxLength: 16 },
  },
};
const MAP = { type: "object", maxProperties: 8, additionalProperties: { type: "string", maxLength: 16 } };
const SET = { type: "array", maxItems: 8, "x-kubernetes-list-type": "set", items: { type: "string", maxLength: 16 } };
const MAP_LIST = {
  type: "array", maxItems: 8, "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["k"],
  items: { type: "object", required: ["k"], properties: { k: { type: "string", maxLength: 8 }, v: { type: "integer", format: "int64", "x-kubernetes-validations": [{ rule: "self >= oldSelf", message: "v may not decrease" }] } } },
};
const INT_OR_STRING = { "x-kubernetes-int-or-string": true };

/** Cases of the CRD rule features: messages, reasons, fieldPath, escaping, transition rules, ratcheting, list and map types. */
export const ruleCases: CelCase[] = [
  // messages and reasons
  ...[1, 2, 3].map((v) => ruleCase("rules", INT, "self % 2 == 0", v)),
  ...[1, 2].map((v) => ruleCase("rules", INT, "self % 2 == 0", v, { message: undefined })),
  ...[1, 2].map((v) => ruleCase("rules", INT, "self % 2 == 0", v, { message: "  padded message  " })),
  ...["FieldValueForbidden", "FieldValueRequired", "FieldValueDuplicate", "FieldValueInvalid"].flatMap((reason) =>
    [1, 2].map((v) => ruleCase("rules", INT, "self % 2 == 0", v, { reason: reason as never })),
  ),
  ...["FieldValueForbidden", "FieldValueDuplicate"].map((reason) => ruleCase("rules", STRING, "self != 'x'", "x", { reason: reason as never })),
  ...["abc", "x"].map((v) => ruleCase("rules", STRING, "self != 'x'", v, { messageExpression: "'value ' + self + ' is not allowed'" })),
  ruleCase("rules", STRING, "self != 'x'", "x", { messageExpression: "''" }),
  ruleCase("rules", STRING, "self != 'x'", "x", { messageExpression: "'line\\nbreak'" }),
  ruleCase("rules", STRING, "self != 'x'", "x", { messageExpression: "'   '" }),
  ruleCase("rules", STRING, "self != 'x'", "x", { messageExpression: "self[5]" }),
  // objects: value omitted, fieldPath, escaping
  ...[{ a: 1, b: "x" }, { a: 2, b: "y" }].map((v) => ruleCase("rules", OBJECT, "self.a % 2 == 0", v)),
  ...[{ a: 1, b: "x" }, { a: 2 }].map((v) => ruleCase("rules", OBJECT, "self.a % 2 == 0", v, { fieldPath: ".a" })),
  ruleCase("rules", OBJECT, "self.a % 2 == 0", { a: 1 }, { fieldPath: ".b" }),
  ruleCase("rules", OBJECT, "self.a % 2 == 0", { a: 1 }, { fieldPath: "['dot.name']" }),
  ...[{ "dash-name": "ok" }, { "dash-name": "bad" }].map((v) => ruleCase("rules", OBJECT, "!has(self.dash__dash__name) || self.dash__dash__name == 'ok'", v)),
  ...[{ "dot.name": "ok" }, { "dot.name": "bad" }].map((v) => ruleCase("rules", OBJECT, "!has(self.dot__dot__name) || self.dot__dot__name == 'ok'", v)),
  ...[{ namespace: "ok" }, { namespace: "bad" }].map((v) => ruleCase("rules", OBJECT, "!has(self.__namespace__) || self.__namespace__ == 'ok'", v)),
  ...[{ __x: "ok" }, { __x: "bad" }].map((v) => ruleCase("rules", OBJECT, "!has(self.__underscores__x) || self.__underscores__x == 'ok'", v)),
  ...[{ a: 1 }, { b: "x" }].map((v) => ruleCase("rules", OBJECT, "has(self.a)", v)),
  ruleCase("rules", OBJECT, "self.a > 0", { b: "x" }),
  ruleCase("rules", OBJECT, "self.nope > 0", { a: 1 }),
  // maps and lists
  ...[{ ab: "1", ac: "2" }, { ab: "1", x: "2" }, {}].map((v) => ruleCase("rules", MAP, "self.all(k, k.startsWith('a'))", v)),
  ...[{ x: "1" }, { y: "1" }].map((v) => ruleCase("rules", MAP, "'x' in self", v)),
  ...[{ x: "1" }, { y: "1" }].map((v) => ruleCase("rules", MAP, "self.exists(k, self[k] == '1')", v)),
  ...[["a", "b"], ["c"]].map((v) => ruleCase("rules", SET, "self.exists(x, x == 'a')", v)),
  ...[["a", "b"], ["b", "a"]].map((v) => ruleCase("rules", SET, "self == ['a', 'b']", v)),
  ...[["a", "b"], ["c"]].map((v) => ruleCase("rules", STRING_LIST, "self.all(x, x.size() == 1)", v)),
  ...[["a"], ["a", "bb"]].map((v) => ruleCase("rules", STRING_LIST, "self.size() < 2", v)),
  // int-or-string
  ...[1, "1", "x", 80].map((v) => ruleCase("rules", INT_OR_STRING, "type(self) == int ? self < 65536 : self.matches('^[0-9]+%?$')", v)),
  // transition rules and ratcheting (updates)
  ruleCase("rules", INT, "self >= oldSelf", 5, { message: "may not decrease" }, 3),
  ruleCase("rules", INT, "self >= oldSelf", 2, { message: "may not decrease" }, 3),
  ruleCase("rules", STRING, "self == oldSelf", "b", { message: "is immutable" }, "a"),
  ruleCase("rules", STRING, "self == oldSelf", "a", { message: "is immutable" }, "a"),
  ruleCase("rules", INT, "self % 2 == 0", 4, {}, 4),
  ruleCase("rules", INT, "self % 2 == 0", 5, {}, 4),
  ruleCase("rules", OBJECT, "self.a % 2 == 0", { a: 1, b: "y" }, {}, { a: 2, b: "x" }),
  ruleCase("rules", OBJECT, "self.a % 2 == 0 && self.b == oldSelf.b", { a: 2, b: "y" }, {}, { a: 2, b: "x" }),
  ruleCase("rules", OBJECT, "!has(oldSelf.a) || has(self.a)", { b: "x" }, { message: "a may not be removed" }, { a: 1 }),
  ...[[{ k: "a", v: 1 }, { k: "b", v: 1 }], [{ k: "a", v: 0 }], [{ k: "b", v: 5 }, { k: "a", v: 3 }]].map((v) =>
    ({ library: "rules", schema: MAP_LIST, value: v, old: [{ k: "a", v: 2 }] }) as CelCase),
  ruleCase("rules", INT, "!oldSelf.hasValue() || self >= oldSelf.value()", 1, { optionalOldSelf: true }),
  ruleCase("rules", INT, "!oldSelf.hasValue() || self >= oldSelf.value()", 2, { optionalOldSelf: true }, 3),
  ruleCase("rules", INT, "!oldSelf.hasValue() || self >= oldSelf.value()", 5, { optionalOldSelf: true }, 3),
  ruleCase("rules", INT, "self >= oldSelf.orValue(10)", 5, { optionalOldSelf: true }),
  ruleCase("rules", INT, "self >= oldSelf.orValue(10)", 15, { optionalOldSelf: true }, 12),
  ruleCase("rules", INT, "self >= oldSelf.orValue(10)", 11, { optionalOldSelf: true }, 12),
  ruleCase("rules", INT, "oldSelf.hasValue()", 5, { optionalOldSelf: true, messageExpression: "'old: ' + string(oldSelf)" }),
  // The messageExpression of an optionalOldSelf rule is compiled with oldSelf optional (the
  // string(oldSelf) above is refused), but the API server does not evaluate it with an optional:
  // these fall back to the rule's message, on create and on update.
  ruleCase("rules", INT, "oldSelf.hasValue()", 5, { optionalOldSelf: true, messageExpression: "oldSelf.hasValue() ? 'had a value' : 'new'" }),
  ruleCase("rules", INT, "!oldSelf.hasValue() || oldSelf.value() < self", 5, { optionalOldSelf: true, messageExpression: "oldSelf.hasValue() ? 'had a value' : 'new'" }, 7),
  ruleCase("rules", INT, "optional.of(self).value() == self && optional.none().orValue(self) == self", 5),
  ruleCase("rules", INT, "optional.ofNonZeroValue(self).hasValue()", 0),
];

const MAP_OF_STRINGS = { type: "object", maxProperties: 8, additionalProperties: { type: "string", maxLength: 16 } };
const OBJ = { type: "object", properties: { a: { type: "integer", format: "int64" }, b: { type: "string", maxLength: 16 } } };

/** Rules that fail to evaluate: the API server reports `<error> evaluating rule: <rule or message>`. */
export const errorCases: CelCase[] = [
  ruleCase("errors", INT, "self / (self - self) > 0", 3),
  ruleCase("errors", INT, "self % (self - self) == 0", 3),
  ruleCase("errors", INT, "[1, 2, 3][self] == 1", 5),
  ruleCase("errors", INT, "[1, 2, 3][self] == 1", -1),
  ruleCase("errors", INT, "{'a': 1}['b'] == self", 1),
  ruleCase("errors", INT, "self + 9223372036854775807 > 0", 5),
  ruleCase("errors", INT, "self - 9223372036854775807 - 10 < 0", 5),
  ruleCase("errors", INT, "self * 4611686018427387904 > 0", 5),
  ruleCase("errors", INT, "self / (self - self) > 0", 3, { message: undefined }),
  ruleCase("errors", OBJ, "self.a > 0", { b: "x" }),
  ruleCase("errors", OBJ, "self.a > 0", { b: "x" }, { message: undefined }),
  ruleCase("errors", MAP_OF_STRINGS, "self['zz'] == 'x'", { x: "1" }),
  ruleCase("errors", MAP_OF_STRINGS, "self.zz == 'x'", { x: "1" }),
  ruleCase("errors", STRING, "self.charAt(10) == 'a'", "abc"),
  ruleCase("errors", STRING, "self.substring(5) == 'a'", "abc"),
  ruleCase("errors", STRING, "int(self) > 0", "x"),
  ruleCase("errors", STRING, "double(self) > 0.0", "x"),
  ruleCase("errors", STRING, "int(self) > 0", "1.5"),
  ruleCase("errors", STRING, "double(self) > 0.0", ""),
  ruleCase("errors", { type: "integer", "x-kubernetes-validations": [] } as never, "self.size() > 0", 3),
  ruleCase("errors", STRING, "self.matches(self)", "("),
  ruleCase("errors", STRING, "duration(self) > duration('1s')", "1x"),
  ruleCase("errors", STRING, "timestamp(self) > timestamp('2020-01-01T00:00:00Z')", "nope"),
  ruleCase("errors", { "x-kubernetes-int-or-string": true }, "self + 1 > 0", "a"),
  ruleCase("errors", { "x-kubernetes-int-or-string": true }, "self.startsWith('a')", 5),
  ruleCase("errors", STRING_LIST, "self.min() == 'a'", []),
  ruleCase("errors", STRING, "quantity(self).isInteger()", "abc"),
  ruleCase("errors", STRING, "semver(self).major() > 0", "bad"),
  ruleCase("errors", STRING, "ip(self).family() == 4", "1.2.3"),
  ruleCase("errors", STRING, "cidr(self).prefixLength() > 0", "1.2.3.4"),
  ruleCase("errors", STRING, "url(self).getHost() == 'a'", "foo"),
  ruleCase("errors", STRING_LIST, "self[3] == 'a'", ["a", "b"]),
  ruleCase("errors", STRING_LIST, "self[-2] == 'a'", ["a"]),
  ruleCase("errors", STRING, "self.indexOf('a', 7) > 0", "abc"),
  ruleCase("errors", STRING, "self.lastIndexOf('a', -1) > 0", "abc"),
  ruleCase("errors", STRING, "self.substring(1, 9) == 'a'", "abc"),
  ruleCase("errors", STRING, "self.substring(2, 1) == 'a'", "abc"),
  ruleCase("errors", STRING, "self.charAt(4) == 'a'", "abc"),
  ruleCase("errors", STRING, "self.charAt(3) == ''", "abc"),
  ruleCase("errors", STRING, "self.charAt(2) == 'é'", "aéb"),
  ruleCase("errors", STRING, "self.substring(4) == ''", "aéb"),
];
