import type { SchemaNode, ValidationRule } from "../../../../framework/cel/index.ts";

/**
 * Rules whose estimated cost the in-process estimator must give exactly as kube-apiserver v1.36:
 * every operator, macro and library function whose estimate depends on sizes, over a schema
 * with every kind of node (bounded and unbounded strings, lists, maps, formats, enums,
 * int-or-string, an embedded resource, escaped property names). Each rule stands alone on a
 * node of `COST_SCHEMA`.
 */
export const COST_SCHEMA: SchemaNode = {
  type: "object",
  required: ["name", "n"],
  properties: {
    name: { type: "string" }, short: { type: "string", maxLength: 8 }, e: { type: "string", enum: ["a", "bbbb"] },
    n: { type: "integer" }, d: { type: "number" }, b: { type: "boolean" },
    dur: { type: "string", format: "duration" }, ts: { type: "string", format: "date-time" }, day: { type: "string", format: "date" }, by: { type: "string", format: "byte" },
    ios: { "x-kubernetes-int-or-string": true }, ios8: { "x-kubernetes-int-or-string": true, maxLength: 8 },
    l: { type: "array", items: { type: "string" } }, ls: { type: "array", maxItems: 10, items: { type: "string", maxLength: 5 } },
    li: { type: "array", items: { type: "integer" } }, lim: { type: "array", maxItems: 4, items: { type: "integer" } },
    ll: { type: "array", items: { type: "array", items: { type: "string" } } },
    objs: { type: "array", items: { type: "object", required: ["k"], properties: { k: { type: "string", maxLength: 3 }, v: { type: "integer" } } } },
    m: { type: "object", additionalProperties: { type: "string" } }, mm: { type: "object", maxProperties: 3, additionalProperties: { type: "integer" } },
    o: { type: "object", properties: { a: { type: "string" }, "x-y": { type: "integer" } } },
    emb: { type: "object", "x-kubernetes-embedded-resource": true, properties: { spec: { type: "object", properties: { z: { type: "string" } } } } },
  },
};

const expressions: string[] = [
  "self.name == 'x'", "self.name != self.short", "self.short < 'b'", "self.name.size() > 1", "size(self.name) < 10",
  "self.n > 1 && self.d < 2.0 || self.b", "!self.b", "self.n + 1 == 2", "self.n - 1 < 0", "self.n * 2 % 3 == 1", "-self.n < 0", "self.d / 2.0 > 1.0",
  "self.name + self.short == 'ab'", "self.by + self.by == b'ab'", "self.l + self.ls == []", "self.l == self.ls",
  "self.name.contains('a')", "self.name.startsWith(self.short)", "self.short.endsWith('x')", "self.name.matches('^[a-z]+$')", "matches(self.name, 'a')",
  "'a' in self.l", "'a' in self.m", "self.n in self.li", "self.l.all(x, x.size() < 5)", "self.l.exists(x, x == 'a')", "self.ls.exists_one(x, x == 'a')",
  "self.l.map(x, x + 'a').size() > 0", "self.li.filter(x, x > 1).size() > 0", "self.ll.all(l, l.all(s, s.size() > 1))", "self.objs.all(o, o.k.size() < 2 && o.v > 1)",
  "self.m.all(k, self.m[k].size() > 1)", "self.mm.all(k, self.mm[k] > 1)", "self.m.exists(k, k.startsWith('a'))",
  "has(self.short)", "has(self.o.a)", "self.o.a == 'x'", "self.o.x__dash__y > 1", "self.emb.spec.z == 'a'", "self.emb.kind == 'X'", "self.emb.metadata.name.size() < 3",
  "self.dur > duration('1s')", "self.ts < timestamp('2020-01-01T00:00:00Z')", "self.day.getFullYear() > 2000", "self.ts.getHours() < 3",
  "string(self.by).size() > 1", "bytes(self.name).size() > 1", "string(self.n) == '1'", "int(self.short) > 1", "double(self.n) > 1.0",
  "type(self.ios) == string", "self.ios == 1", "self.ios8 == 'a'",
  "self.name.lowerAscii() == 'a'", "self.short.upperAscii() == 'A'", "self.name.replace('a', 'bb') == ''", "self.short.replace('', 'x').size() > 1", "self.name.replace('ab', 'c') == 'c'",
  "self.name.split(',').size() > 1", "self.name.split(',', 2).size() > 1", "self.short.substring(1) == 'a'", "self.name.trim() == 'a'", "self.name.indexOf('a') > 0", "self.name.lastIndexOf('a') > 0", "self.name.charAt(1) == 'a'",
  "self.l.join(',') == 'a'", "self.ls.join() == 'a'", "'%s'.format([self.name]) == 'a'", "strings.quote(self.short) == 'a'",
  "self.li.isSorted()", "self.li.sum() > 1", "self.lim.max() > 1", "self.ls.min() == 'a'", "self.ls.indexOf('a') > 1", "self.li.lastIndexOf(1) > 1",
  "self.li.slice(1, 2).size() > 0", "self.ll.flatten().size() > 0", "lists.range(5).size() > 1", "self.li.reverse()[0] > 1", "self.li.distinct().size() > 1", "self.ls.sort()[0] == 'a'", "self.li.sort()[0] == 1",
  "sets.contains(self.l, self.ls)", "sets.intersects(self.li, [1, 2])", "sets.equivalent(self.ls, ['a'])",
  "self.name.find('[a-z]+') == 'a'", "self.short.findAll('a').size() > 1", "self.short.findAll('a', 2).size() > 1",
  "url(self.name).getHost() == 'a'", "isURL(self.short)", "url(self.short) == url('https://a')", "url(self.name).getQuery().size() > 0",
  "quantity(self.short).isGreaterThan(quantity('1'))", "isQuantity(self.name)", "quantity(self.short) == quantity('1')",
  "ip(self.short).family() == 4", "isIP(self.name)", "cidr(self.short).containsIP('1.2.3.4')", "cidr(self.short).containsIP(ip('1.2.3.4'))", "cidr(self.short).containsCIDR('1.2.3.0/24')", "cidr(self.short).ip() == ip('1.2.3.4')", "ip.isCanonical(self.short)", "cidr(self.name).prefixLength() > 1",
  "isSemver(self.short)", "semver(self.short).major() > 1", "semver(self.short) == semver('1.0.0')",
  "format.dns1123Label().validate(self.name).hasValue()", "format.named('dns1123Label').hasValue()",
  "self.b ? self.name == 'a' : self.short == 'b'", "(self.b ? self.l : self.ls).size() > 1", "(self.b ? self.name : self.short).size() > 1",
  "[1, 2, 3].all(x, x > 0)", "{'a': 1}.all(k, k == 'a')", "['a', self.name].exists(x, x == 'b')", "[self.l, self.ls].all(l, l.size() > 1)",
  "self.l.map(x, x.size()).sum() > 1", "self.l.map(x, [x]).all(y, y.size() > 1)", "self.li.map(x, x * 2).filter(y, y > 1).all(z, z < 5)",
  "self.objs.map(o, o.k).join(',') == 'a'", "self.objs.exists(o, o.k in self.ls)", "self.m.map(k, self.m[k]).join(',') == ''",
  "self.l[0] == 'a'", "self.ll[0][1] == 'a'", "self.m['a'] == 'b'", "self.objs[0].k == 'a'",
  "optional.of(self.name).hasValue()", "optional.of(self.n).value() > 1", "optional.none().orValue(1) == 1",
  "self.l.all(x, self.ls.all(y, x == y))", "self.l.all(x, x.matches('^a$'))",
  "self.name.split(',').join('+') == ''", "self.l.map(x, x.split('-')).all(p, p.size() > 1)", "self.li.map(x, x).sort()[0] > 1",
  "dyn(self.n) == 1", "dyn(self.name).size() > 1", "size(self.m) > 1", "self.mm.size() > 1", "self.objs.size() > 1",
];

/** Two-variable comprehensions: the second variable's size comes from `@values`/`@items`, the first's from `@keys`/`@indices`. */
const twoVariable: string[] = [
  "self.m.all(k, v, v.size() > 1)", "self.l.all(i, v, i < 3 && v == 'a')", "self.mm.exists(k, v, v > 1)", "self.ls.existsOne(i, v, v == 'a')", "self.li.exists_one(i, v, v > i)",
  "self.l.transformList(i, v, v + 'x').size() > 1", "self.ls.transformList(i, v, i > 1, v).size() > 1", "self.m.transformMap(k, v, v.size()).size() > 1", "self.li.transformMap(i, v, v > 1, v * 2).size() > 1",
  "self.m.transformMapEntry(k, v, {v: k}).size() > 1", "self.objs.transformMapEntry(i, o, {o.k: o.v}).size() > 0", "self.ll.all(i, l, l.all(j, s, s.size() > i + j))", "self.mm.transformList(k, v, v).size() > 0",
];

/** The optional syntax, sortBy, first/last, optional.unwrap, optMap and optFlatMap (macros expanded as cel-go does). */
const optionals: string[] = [
  "self.?name.orValue('') == 'a'", "self.?o.?a.orValue('') == 'a'", "self.m[?'k'].orValue('') == 'a'", "self.l[?0].hasValue()", "self.?mm.?k.orValue(0) > 1",
  "[1, ?self.?n].size() > 1", "{'a': 1, ?'b': self.?n}.size() > 0", "self.?l.orValue([]).all(x, x == 'a')", "self.?objs.orValue([]).exists(o, o.?v.orValue(0) > 1)",
  "self.li.sortBy(x, -x)[0] > 1", "self.ls.sortBy(s, s).all(x, x == 'a')", "self.ls.sortBy(s, s)[0] == 'a'", "self.l.sortBy(s, s.size()).size() > 1", "self.li.first().orValue(0) > 1", "self.ls.last().orValue('') == 'a'",
  "optional.unwrap([self.ls.first()]).size() > 0", "self.ls.first().optMap(v, v.size()).orValue(0) > 1", "self.?short.optFlatMap(v, v == 'a' ? optional.of(v) : optional.none()).hasValue()",
];

const optionalOldSelf: string[] = ["oldSelf.hasValue()", "oldSelf.orValue(self).name == 'a'", "oldSelf.value().n > 1"];

export const costRules: ValidationRule[] = [
  ...expressions.map((rule) => ({ rule })),
  ...twoVariable.map((rule) => ({ rule })),
  ...optionals.map((rule) => ({ rule })),
  ...optionalOldSelf.map((rule) => ({ rule, optionalOldSelf: true })),
  { rule: "self.name == oldSelf.name" },
];
