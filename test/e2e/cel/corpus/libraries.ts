import type { SchemaNode } from "../../../../framework/cel/index.ts";
import { cross, INT, INT_LIST, NUMBER, STRING, STRING_LIST, type CelCase } from "./types.ts";

/** Cases of the Kubernetes and ext libraries, each expression against several values. */
const strings: CelCase[] = cross("strings", STRING, [
  "self.size()", "self.upperAscii()", "self.lowerAscii()", "self.indexOf('b')", "self.lastIndexOf('c')", "self.replace('b', 'X')",
  "self.split('-').size()", "self.trim()", "self.contains('b')", "self.startsWith('a')", "self.endsWith('c')",
  "self.matches('^[a-z]+$')", "self.split('-').join('+')", "strings.quote(self)", "'%s-%d'.format([self, 1])",
  "self.charAt(0)", "self.substring(1)", "self.indexOf('')", "self.replace('-', '', 1)", "size(self) > 3",
], ["abc", "Hello World", "a-b-c", "", "  x  ", "ünï-b", "ab\\c", "b"]);

/** ext strings over code points outside the BMP (two UTF-16 units, one rune), with offsets past the end. */
const astral: CelCase[] = cross("strings", STRING, [
  "self.indexOf('b')", "self.lastIndexOf('b')", "self.charAt(1)", "self.substring(1, 2)", "self.indexOf('b', 2)", "self.indexOf('b', 9)",
  "self.lastIndexOf('a', 5)", "self.lastIndexOf('😀')", "self.size()", "self.indexOf('')", "self.lastIndexOf('')",
], ["a😀b", "😀😀a", "b"]);

const regex: CelCase[] = cross("regex", STRING, [
  "self.find('[a-z]+')", "self.find('[0-9]+')", "self.findAll('[a-z]').size()", "self.findAll('[a-z]', 2).join(',')", "self.findAll('[a-z]+', -1).join('|')",
  "self.find('(?i)B+')", "self.findAll('x*').size()", "self.find('^$')", "self.findAll('[a-z]', 0).size()",
], ["abc", "Hello World 42", "a-b-c", "", "BBb bb", "x1y22z333"]);

const lists: CelCase[] = cross("lists", INT_LIST, [
  "self.isSorted()", "self.sum()", "self.min()", "self.max()", "self.indexOf(1)", "self.lastIndexOf(1)", "self.distinct().size()",
  "self.reverse()[0]", "self.sort()[0]", "self.slice(0, 1).size()", "self.flatten().size()", "lists.range(self.size()).sum()",
  "sets.contains(self, [1])", "sets.equivalent(self, [1, 2, 3])", "sets.intersects(self, [2, 9])", "self.all(x, x > 0)",
  "self.exists(x, x == 2)", "self.exists_one(x, x == 1)", "self.filter(x, x > 1).size()", "self.map(x, x * 2).sum()", "size(self)", "self[0]", "1 in self",
  "self.slice(1, 3).size()", "[self, [7]].flatten().size()",
  "self.sortBy(x, -x)[0]", "self.sortBy(x, x % 2).size()", "self.first().orValue(-7)", "self.last().orValue(-7)", "optional.unwrap([self.first(), self.last()]).size()",
  "self.first().optMap(v, v * 2).orValue(0)", "self.last().optFlatMap(v, v > 1 ? optional.of(v) : optional.none()).orValue(0)", "[self.first()].unwrapOpt().size()",
], [[3, 1, 2], [1, 2, 3], [5], [-1, 0, 1, 1], []]);

const stringLists: CelCase[] = cross("lists", STRING_LIST, [
  "self.isSorted()", "self.min()", "self.max()", "self.indexOf('b')", "self.sort().join(',')", "self.distinct().join(',')",
  "sets.contains(self, ['a'])", "self.join('/')", "self.sortBy(s, s).size() > 0 ? self.sortBy(s, s)[0] : 'empty'", "self.size() > 1 ? self.sortBy(s, s.size())[1] : 'short'",
], [["b", "a", "c"], ["a", "b"], ["é", "z", "Z"], []]);

const quantities: CelCase[] = cross("quantity", STRING, [
  "isQuantity(self)", "quantity(self).isInteger()", "quantity(self).asInteger()", "sign(quantity(self))", "quantity(self).compareTo(quantity('1'))",
  "quantity(self).isGreaterThan(quantity('1k'))", "quantity(self).isLessThan(quantity('1'))", "quantity(self).add(quantity('1')).isInteger()",
  "quantity(self).add(1).compareTo(quantity('2'))", "quantity(self).sub(quantity('500m')).isInteger()", "quantity(self) == quantity('1000m')",
  "quantity(self).sub(2).asInteger()", "quantity(self).asApproximateFloat()",
], ["1", "1k", "1Ki", "1000m", "1.5", "-2", "0", "1e3", "100M", "0.5Gi", "1.0", "2m", "abc", "1K", ".", "+", "5.", "1.5Mi", "12e-3", "9223372036854775807"]);

const semvers: CelCase[] = cross("semver", STRING, [
  "isSemver(self)", "isSemver(self, true)", "semver(self, true).major()", "semver(self, true).minor()", "semver(self, true).patch()",
  "semver(self, true).compareTo(semver('1.2.3'))", "semver(self, true).isLessThan(semver('2.0.0'))", "semver(self, true) == semver('1.2.3')",
  "semver(self).isGreaterThan(semver('1.0.0'))",
], ["1.2.3", "v1.2.3", "1.2", "1.2.3-alpha.1", "1.2.3+build", "01.2.3", "1.2.3-alpha.beta", "2.0.0-rc.1", "1.0.0-0", "bad", "v01.02", "1.2.3-01"]);

const ips: CelCase[] = cross("ip", STRING, [
  "isIP(self)", "ip(self).family()", "ip(self).isLoopback()", "ip(self).isUnspecified()", "ip(self).isLinkLocalMulticast()",
  "ip(self).isLinkLocalUnicast()", "ip(self).isGlobalUnicast()", "string(ip(self))", "ip.isCanonical(self)", "cidr('10.0.0.0/8').containsIP(self)",
], ["10.0.0.1", "::1", "fe80::1", "2001:db8::1", "192.168.0.1", "127.0.0.1", "0.0.0.0", "::", "ff02::1", "224.0.0.1", "255.255.255.255",
  "::ffff:1.2.3.4", "01.2.3.4", "1.2.3", "2001:0db8:0:0:0:0:0:1", "fe80::1%eth0", "1:2:3:4:5:6:7::", "1:0:0:2:0:0:0:3", "2001:db8:0:0:1:0:0:1", "::1.2.3.4"]);

const cidrs: CelCase[] = cross("cidr", STRING, [
  "isCIDR(self)", "cidr(self).prefixLength()", "string(cidr(self).masked())", "string(cidr(self).ip())", "cidr(self).containsIP('10.1.2.3')",
  "cidr(self).containsCIDR('10.1.0.0/16')", "cidr(self).containsCIDR(cidr('2001:db8:1::/48'))", "cidr(self) == cidr('10.0.0.0/8')", "string(cidr(self))",
], ["10.0.0.0/8", "10.0.0.1/8", "::/0", "2001:db8::/32", "192.168.1.0/24", "10.0.0.0/33", "10.0.0.0/08", "1.2.3.4", "fe80::1%z/64", "0.0.0.0/0"]);

const ints: CelCase[] = cross("standard", INT, [
  "self % 2 == 0", "self * 2", "self / 3", "string(self)", "double(self) / 2.0", "self > 3", "-self", "uint(self)", "self - 9223372036854775807",
  "dyn(self) == 1", "string(type(self))",
], [0, 1, -5, 7, 1000000]);

const numbers: CelCase[] = cross("standard", NUMBER, ["string(self)", "self * 2.0", "int(self)", "self > 1.0", "string(self / 3.0)"], [0.5, 1.25, -3.75, 1e21, 123456789.5, 0.1]);

const timestamps: CelCase[] = cross("standard", { type: "string", format: "date-time" }, [
  "self.getFullYear()", "self < timestamp('2030-01-01T00:00:00Z')", "string(self)", "self.getHours('America/New_York')", "string(self + duration('1h30m'))",
  "self.getDayOfWeek()", "string(duration('90m'))",
], ["2024-02-29T12:30:00Z", "1999-12-31T23:59:59.123456789Z", "2026-06-01T00:00:00+02:00"]);

/** The format library: every named format's first problem (or 'valid'), and format.named. */
const formats: CelCase[] = cross("format", STRING, [
  ...["dns1123Label", "dns1123Subdomain", "dns1035Label", "qualifiedName", "dns1123LabelPrefix", "dns1123SubdomainPrefix", "dns1035LabelPrefix", "labelValue", "uuid", "byte", "date", "datetime"]
    .map((f) => `format.${f}().validate(self).orValue(['valid'])[0]`),
  "format.dns1123Label().validate(self).orValue([]).size()", "format.named(self).hasValue()", "format.named('labelValue').value().validate(self).hasValue()",
  "format.dns1123Label() == format.named('dns1123Label').value()",
], ["my-name", "ab-", "a-", "Ab.c", "a.b", "", "-x", "x".repeat(64), "123e4567-e89b-12d3-a456-426614174000", "123E4567E89B12D3A456426614174000", "aGVsbG8=", "aGVsbG8",
  "2024-02-29", "2023-02-29", "2024-02-03T10:00:00Z", "2024-02-03t23:59:60+01:00", "2024-02-03T25:00:00Z", "a/b/c", "example.com/x", "dns1123Label", "é"]);

const OPTIONAL_OBJECT: SchemaNode = {
  type: "object",
  properties: {
    a: { type: "integer" }, s: { type: "string", maxLength: 8 },
    m: { type: "object", maxProperties: 4, additionalProperties: { type: "string", maxLength: 8 } },
    l: { type: "array", maxItems: 4, items: { type: "integer" } },
  },
};

/** The optional syntax: `.?`, `[?`, optional list elements and map entries. */
const optionalSyntax: CelCase[] = cross("optional", OPTIONAL_OBJECT, [
  "self.?a.orValue(-1)", "self.?s.orValue('none')", "self.?m.?x.orValue('none')", "self.?m.orValue({}).size()", "self.l[?1].orValue(-1)",
  "self.?l.orValue([]).size()", "[1, ?self.?a].size()", "{'k': 1, ?'j': self.?a}.size()", "self.?a.hasValue()", "self.?m[?'x'].hasValue()",
  "[?self.?l[?0], ?self.?l[?9]].size()", "self.?a.or(optional.of(7)).value()", "self.?m.?x.orValue('') + self.?s.orValue('')", "self.m[?'y'].orValue('none')",
], [{ a: 3, s: "hi", m: { x: "1" }, l: [1, 2] }, {}, { m: {} }, { l: [] }, { a: 0, m: { y: "2" } }]);

const INT_MAP: SchemaNode = { type: "object", maxProperties: 16, additionalProperties: { type: "integer", format: "int64" } };

/** Two-variable comprehensions (ext.TwoVarComprehensions): (index, value) over lists, (key, value) over maps. */
const comprehensions: CelCase[] = [
  ...cross("comprehensions", INT_LIST, [
    "self.all(i, v, v > i)", "self.exists(i, v, v == i)", "self.existsOne(i, v, v > 1)", "self.exists_one(i, v, i == 0)",
    "self.transformList(i, v, i * v).sum()", "self.transformList(i, v, v > 1, v + i).size()", "self.transformMap(i, v, v * 2).size()",
    "self.transformMap(i, v, i > 0, v)[1]", "self.transformMapEntry(i, v, {v: i}).size()", "self.transformList(i, v, [v, i]).flatten().size()",
    "self.all(i, v, self.all(j, w, i == j || v != w))", "self.transformMap(i, v, v).all(k, k < 3)", "self.map(x, x * 2).all(i, v, v == self[i] * 2)",
    "self.all(i, v, [1].all(v, v == 1) && v >= -1)", "self.exists(i, v, 10 / v > 1)",
  ], [[3, 1, 2], [1, 2, 3], [5], [-1, 0, 1, 1], []]),
  ...cross("comprehensions", INT_MAP, [
    "self.all(k, v, v > 0)", "self.exists(k, v, k == 'b' && v == 2)", "self.existsOne(k, v, v > 1)", "self.transformMap(k, v, v * 10)['a']",
    "self.transformMap(k, v, v > 1, v).size()", "self.transformMapEntry(k, v, {v: k}).size()", "self.transformMapEntry(k, v, {'x': v})['x']",
    "self.transformList(k, v, v).size()", "self.transformMap(k, v, v).exists(k, v, v == 2)", "self.all(k, v, self[k] == v)",
  ], [{ a: 1, b: 2 }, {}, { x: -1, y: 5 }, { a: 7 }]),
];

export const libraryCases: CelCase[] = [
  ...strings, ...astral, ...regex, ...lists, ...stringLists, ...quantities, ...semvers, ...ips, ...cidrs, ...ints, ...numbers, ...timestamps, ...comprehensions, ...formats, ...optionalSyntax,
];

const urls: CelCase[] = cross("url", STRING, [
  "isURL(self)", "url(self).getScheme()", "url(self).getHost()", "url(self).getHostname()", "url(self).getPort()", "url(self).getEscapedPath()",
  "url(self).getQuery().size()", "url(self).getQuery().exists(k, k == 'x') ? url(self).getQuery()['x'].join(',') : 'none'",
], ["https://Example.com:8080/a/b?x=1&x=2&y=a+b#f", "HTTP://example.com", "https://[::1]:80/p", "https://[2001:db8::1]/", "/a/b?x=c", "/", "foo", "",
  "https://example.com:", "http://a.b-c.d/~user/(x)!*,$?x=&=y&x", "mailto:x", "https://x/p%20q", "https://user@host/", "ftp://h/p;a"]);

libraryCases.push(...urls);

const formatting: CelCase[] = cross("strings", NUMBER, [
  "'%f'.format([self])", "'%.2f'.format([self])", "'%e'.format([self])", "'%s'.format([self])", "'%.3e'.format([self])",
  "'%d'.format([int(self)])", "'%x'.format([int(self)])", "'%o'.format([int(self)])", "'%b'.format([int(self)])", "'%X'.format([int(self)])",
  "'%s'.format([[self, self]])", "'%s'.format([{'k': self}])", "'%s %s'.format(['a', true])", "'%s'.format([null])", "'%.0f'.format([self])",
  "'%.1f|%.1f|%.1f|%.1f'.format([0.25, 0.35, 2.5, 1e-7])", "'%e|%e|%e'.format([0.0, -1e-5, 1e300])", "'%.3f|%.10f|%d%%'.format([self + 1234567.0005, self, 5])",
  "'%s|%s|%s'.format([1e21, 1e-7, self])", "'%.2e'.format([self * 1e-300])", "'%f'.format([self * 1e-320])",
], [0.5, 1.25, -3.75, 1e21, 123456789.5, 0.1, 100, -7, 1234.5678, 1e-9, 999.9999996]);

const comparisons: CelCase[] = cross("standard", INT, [
  "self < 2.5", "self >= 1u", "self == 1.0", "[1, 2.0, 3u].exists(x, x == self)", "{'a': self}.a + 1", "self in [1, 2]",
  "self > 0 ? 'pos' : self < 0 ? 'neg' : 'zero'", "dyn(self) < 1.5", "int('12') + self", "double('1e3') > self",
  "string(uint(3) + uint(4))", "size('héllo') + self", "bytes('abc').size() + self", "string(b'\\x61')", "duration('1h').getMinutes() + self",
  "timestamp('2024-01-01T00:00:00Z').getDayOfYear()", "string(timestamp('2024-01-01T10:00:00Z') - duration('36h'))", "string(duration('3600s') + duration('1m'))",
  "string(timestamp('2024-03-10T12:00:00Z').getHours('Europe/Paris'))", "type(self) == int", "string(9223372036854775807 + self)",
  "self / 0 > 1", "self % 0", "[1, 2, 3][self]", "{'a': 1}['b']", "'abc'.charAt(self)", "'abc'.substring(self, 2)",
], [0, 1, -5, 2]);

const stringExt: CelCase[] = cross("strings", STRING, [
  "self.charAt(1)", "self.indexOf('a', 1)", "self.lastIndexOf('a', 2)", "self.substring(0, 1)", "self.replace('a', 'b', -1)", "self.replace('a', 'b', 0)",
  "self.split('', 2).size()", "self.split('a', -1).join('|')", "self.split('a', 0).size()", "strings.quote(self)", "self.trim().size()", "self.upperAscii().lowerAscii()",
  "self.matches('^\\\\p{L}+$')", "self.matches('(?i)^A')", "self.matches('\\\\d')", "self.find('\\\\p{Lu}')", "self + '!'", "self < 'b'", "self.size() == size(self)",
], ["aaa", "AbA", "Ünïcödé", "a\tb", "\"q\"", "x\\y", "日本語a"]);

libraryCases.push(...formatting, ...comparisons, ...stringExt);

const conversions: CelCase[] = cross("standard", STRING, ["string(double(self))", "string(int(self))", "double(self) > 0.0 ? 'pos' : 'other'"],
  ["1.5", "1e3", "-0", ".5", "1.", "inf", "-Infinity", "NaN", "+5", "1_000", " 5", "0x10", "1e400", "abc", "9223372036854775808", "-9223372036854775808"]);
libraryCases.push(...conversions);
