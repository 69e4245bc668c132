/**
 * Label selectors: parse the string syntax, convert a `metav1.LabelSelector`, match label sets,
 * print deterministically, and validate label keys and values with the API server's messages.
 *
 * Mirrors apimachinery v0.36 `pkg/labels` (selector.go, labels.go), `pkg/apis/meta/v1/helpers.go`
 * (`LabelSelectorAsSelector`) and `pkg/api/validate/content` (`IsLabelKey`, `IsLabelValue`).
 */
import { DNS1123_SUBDOMAIN_ERR, DNS1123_SUBDOMAIN_FMT, regexError } from "./dns-names.ts";

/** A label map as objects carry it (`metadata.labels`). */
export type LabelSet = Readonly<Record<string, string>>;

/** One `matchExpressions` entry of a `metav1.LabelSelector`. */
export interface LabelSelectorRequirement {
  key: string;
  /** `In`, `NotIn`, `Exists` or `DoesNotExist`. */
  operator: string;
  values?: readonly string[];
}

/** A label selector as the API carries it (`metav1.LabelSelector`): `matchLabels` and `matchExpressions` are ANDed. */
export interface LabelSelector {
  matchLabels?: Readonly<Record<string, string>>;
  matchExpressions?: readonly LabelSelectorRequirement[];
}

/**
 * The operator of a `Requirement`, spelled as apimachinery `selection.Operator`:
 * `=`, `==`, `!=`, `in`, `notin`, `exists`, `!` (does not exist), `gt`, `lt`.
 */
export type SelectionOperator = "=" | "==" | "!=" | "in" | "notin" | "exists" | "!" | "gt" | "lt";

const OPERATORS: ReadonlySet<string> = new Set<SelectionOperator>(["=", "==", "!=", "in", "notin", "exists", "!", "gt", "lt"]);

/**
 * A selector or requirement that is not valid. `causes` holds one message per problem, each
 * `path: Invalid value: ...: reason` as apimachinery's `field.ErrorList` aggregate prints it.
 */
export class LabelSelectorError extends Error {
  readonly causes: readonly string[];
  constructor(causes: readonly string[]) {
    super(causes.length === 1 ? causes[0] : `[${causes.join(", ")}]`);
    this.name = "LabelSelectorError";
    this.causes = causes;
  }
}

// ---- validation (apimachinery pkg/api/validate/content) ----

const LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_KEY_ERR = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT = `(${LABEL_KEY_FMT})?`;
const LABEL_VALUE_ERR =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const labelKeyRegexp = new RegExp(`^${LABEL_KEY_FMT}$`);
const labelValueRegexp = new RegExp(`^${LABEL_VALUE_FMT}$`);
const dns1123SubdomainRegexp = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);

/** Longest label name part and label value, in bytes (apimachinery `LabelValueMaxLength`). */
export const LABEL_VALUE_MAX_LENGTH = 63;
/** Longest DNS subdomain, the prefix of a label key, in bytes. */
export const DNS1123_SUBDOMAIN_MAX_LENGTH = 253;

/** Byte length as Go's `len(string)` counts it (UTF-8). */
function byteLength(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

/**
 * The anchored regular expressions of label validation (apimachinery `content`): a key's name
 * part, a key's DNS-1123 subdomain prefix, a value. For schema generators (CEL, OpenAPI `pattern`).
 */
export const LABEL_PATTERNS = {
  name: `^${LABEL_KEY_FMT}$`,
  prefix: `^${DNS1123_SUBDOMAIN_FMT}$`,
  value: `^${LABEL_VALUE_FMT}$`,
} as const;

/**
 * The messages of `isLabelKey` / `isLabelValue`, word for word apimachinery's, for schema
 * generators that have to repeat them (the CRD's CEL rules).
 */
export const LABEL_MESSAGES = {
  keyTooManyParts: `a valid label key ${regexError(LABEL_KEY_ERR, LABEL_KEY_FMT, "MyName", "my.name", "123-abc")} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
  prefixEmpty: "prefix part must be non-empty",
  prefixTooLong: `prefix part must be no more than ${DNS1123_SUBDOMAIN_MAX_LENGTH} bytes`,
  prefixInvalid: `prefix part ${regexError(DNS1123_SUBDOMAIN_ERR, DNS1123_SUBDOMAIN_FMT, "example.com")}`,
  nameEmpty: "name part must be non-empty",
  nameTooLong: `name part must be no more than ${LABEL_VALUE_MAX_LENGTH} bytes`,
  nameInvalid: `name part ${regexError(LABEL_KEY_ERR, LABEL_KEY_FMT, "MyName", "my.name", "123-abc")}`,
  valueTooLong: `must be no more than ${LABEL_VALUE_MAX_LENGTH} bytes`,
  valueInvalid: regexError(LABEL_VALUE_ERR, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"),
} as const;

/**
 * Problems with a label key (empty when valid): an optional DNS-1123 subdomain prefix (at most
 * 253 bytes) and `/`, then a name of at most 63 bytes of `[A-Za-z0-9_.-]` starting and ending
 * alphanumeric. The messages are apimachinery `content.IsLabelKey`'s, word for word.
 */
export function isLabelKey(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split("/");
  let name: string;
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push(LABEL_MESSAGES.prefixEmpty);
    else {
      if (byteLength(prefix) > DNS1123_SUBDOMAIN_MAX_LENGTH) errs.push(LABEL_MESSAGES.prefixTooLong);
      if (!dns1123SubdomainRegexp.test(prefix)) errs.push(LABEL_MESSAGES.prefixInvalid);
    }
  } else {
    return [LABEL_MESSAGES.keyTooManyParts];
  }
  if (name.length === 0) errs.push(LABEL_MESSAGES.nameEmpty);
  else if (byteLength(name) > LABEL_VALUE_MAX_LENGTH) errs.push(LABEL_MESSAGES.nameTooLong);
  if (!labelKeyRegexp.test(name)) errs.push(LABEL_MESSAGES.nameInvalid);
  return errs;
}

/**
 * Problems with a label value (empty when valid): empty, or at most 63 bytes of
 * `[A-Za-z0-9_.-]` starting and ending alphanumeric. Messages are apimachinery `content.IsLabelValue`'s.
 */
export function isLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > LABEL_VALUE_MAX_LENGTH) errs.push(LABEL_MESSAGES.valueTooLong);
  if (!labelValueRegexp.test(value)) errs.push(LABEL_MESSAGES.valueInvalid);
  return errs;
}

// ---- requirements and selectors (apimachinery pkg/labels/selector.go) ----

const INTEGER = /^[+-]?[0-9]+$/;

function parseInt64(s: string): bigint | undefined {
  if (!INTEGER.test(s)) return undefined;
  const n = BigInt(s);
  if (n > 9223372036854775807n || n < -9223372036854775808n) return undefined;
  return n;
}

/** `Invalid value: "x": reason` with Go's %q-like quoting of the value. */
function invalid(path: string, value: unknown, reason: string): string {
  return `${path}: Invalid value: ${JSON.stringify(value)}: ${reason}`;
}

/**
 * One requirement of a selector: a key, an operator and values. Build one with
 * `newRequirement` (validated) or get them from `parseSelector` / `labelSelectorAsSelector`.
 */
export class Requirement {
  readonly key: string;
  readonly operator: SelectionOperator;
  /** The values as given (for `in`/`notin` from a parsed string: sorted and de-duplicated). */
  readonly values: readonly string[];

  /** @internal Use `newRequirement`. */
  constructor(key: string, operator: SelectionOperator, values: readonly string[]) {
    this.key = key;
    this.operator = operator;
    this.values = values;
  }

  /**
   * True when `labels` satisfy this requirement (`Requirement.Matches`): `in`/`=`/`==` need the
   * key with a listed value; `notin`/`!=` match an absent key; `gt`/`lt` need an integer value.
   */
  matches(labels: LabelSet | undefined): boolean {
    const present = labels !== undefined && Object.hasOwn(labels, this.key);
    switch (this.operator) {
      case "in":
      case "=":
      case "==":
        return present && this.values.includes(labels[this.key]!);
      case "notin":
      case "!=":
        return !present || !this.values.includes(labels[this.key]!);
      case "exists":
        return present;
      case "!":
        return !present;
      case "gt":
      case "lt": {
        if (!present || this.values.length !== 1) return false;
        const have = parseInt64(labels[this.key]!);
        const want = parseInt64(this.values[0]!);
        if (have === undefined || want === undefined) return false;
        return this.operator === "gt" ? have > want : have < want;
      }
    }
  }

  /** The requirement in the API's string syntax (`a in (x,y)`, `!b`, `c!=d`), values sorted. */
  toString(): string {
    const k = this.key;
    const values = this.values.length === 1 ? this.values[0]! : [...this.values].sort(compareStrings).join(",");
    switch (this.operator) {
      case "!":
        return `!${k}`;
      case "exists":
        return k;
      case "in":
        return `${k} in (${values})`;
      case "notin":
        return `${k} notin (${values})`;
      case "gt":
        return `${k}>${values}`;
      case "lt":
        return `${k}<${values}`;
      default:
        return `${k}${this.operator}${values}`;
    }
  }
}

/** Byte-wise string order, as Go's `<` on strings (for ASCII label syntax, code-unit order is the same). */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A validated requirement (`labels.NewRequirement`).
 *
 * @throws LabelSelectorError when the key is not a valid label key, a value is not a valid label
 *   value, or the number of values does not fit the operator (in/notin: at least one; =, ==, !=,
 *   gt, lt: exactly one, an integer for gt/lt; exists, !: none). `path` prefixes the messages.
 */
export function newRequirement(key: string, operator: SelectionOperator, values: readonly string[], path = ""): Requirement {
  const errs: string[] = [];
  const at = (child: string) => (path ? `${path}.${child}` : child);
  const keyErrs = isLabelKey(key);
  if (keyErrs.length) errs.push(invalid(at("key"), key, keyErrs.join("; ")));
  switch (operator) {
    case "in":
    case "notin":
      if (values.length === 0) errs.push(invalid(at("values"), values, "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case "=":
    case "==":
    case "!=":
      if (values.length !== 1) errs.push(invalid(at("values"), values, "exact-match compatibility requires one single value"));
      break;
    case "exists":
    case "!":
      if (values.length !== 0) errs.push(invalid(at("values"), values, "values set must be empty for exists and does not exist"));
      break;
    case "gt":
    case "lt":
      if (values.length !== 1) errs.push(invalid(at("values"), values, "for 'Gt', 'Lt' operators, exactly one value is required"));
      values.forEach((v, i) => {
        if (parseInt64(v) === undefined) errs.push(invalid(`${at("values")}[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
    default:
      errs.push(
        `${at("operator")}: Unsupported value: ${JSON.stringify(operator)}: supported values: ${[...OPERATORS].map((o) => JSON.stringify(o)).join(", ")}`,
      );
  }
  values.forEach((v, i) => {
    const valueErrs = isLabelValue(v);
    if (valueErrs.length) errs.push(invalid(`${at("values")}[${i}][${key}]`, v, valueErrs.join("; ")));
  });
  if (errs.length) throw new LabelSelectorError([...new Set(errs)]);
  return new Requirement(key, operator, [...values]);
}

/**
 * A label selector (apimachinery `labels.Selector`): requirements ANDed, sorted by key.
 * `nothing()` matches no label set, `everything()` every one.
 */
export interface Selector {
  /** True when `labels` (absent: no labels) satisfy every requirement. */
  matches(labels: LabelSet | undefined): boolean;
  /** True when the selector does not restrict (matches everything). `nothing()` is not empty. */
  empty(): boolean;
  /** The requirements sorted by key, or undefined for `nothing()` (not selectable). */
  requirements(): readonly Requirement[] | undefined;
  /** The value `key` must equal (from `=`, `==` or a one-value `in`), or undefined. */
  requiresExactMatch(key: string): string | undefined;
  /** The selector in the API's string syntax, deterministic: requirements by key, values sorted. `nothing()` prints "". */
  toString(): string;
}

class InternalSelector implements Selector {
  readonly #requirements: readonly Requirement[];
  constructor(requirements: readonly Requirement[]) {
    // A stable sort by key, as apimachinery's sort.Sort(ByKey) orders its (small) lists.
    this.#requirements = [...requirements].sort((a, b) => compareStrings(a.key, b.key));
  }
  matches(labels: LabelSet | undefined): boolean {
    for (const r of this.#requirements) if (!r.matches(labels)) return false;
    return true;
  }
  empty(): boolean {
    return this.#requirements.length === 0;
  }
  requirements(): readonly Requirement[] {
    return this.#requirements;
  }
  requiresExactMatch(key: string): string | undefined {
    const r = this.#requirements.find((x) => x.key === key);
    if (!r) return undefined;
    return (r.operator === "=" || r.operator === "==" || r.operator === "in") && r.values.length === 1 ? r.values[0] : undefined;
  }
  toString(): string {
    return this.#requirements.map((r) => r.toString()).join(",");
  }
}

const NOTHING: Selector = Object.freeze({
  matches: () => false,
  empty: () => false,
  requirements: () => undefined,
  requiresExactMatch: () => undefined,
  toString: () => "",
});
const EVERYTHING: Selector = new InternalSelector([]);

/** A selector that matches every label set (`labels.Everything`). */
export function everything(): Selector {
  return EVERYTHING;
}

/** A selector that matches nothing (`labels.Nothing`). */
export function nothing(): Selector {
  return NOTHING;
}

/** True for the `nothing()` selector (`labels.MatchesNothing`). */
export function matchesNothing(selector: Selector): boolean {
  return selector === NOTHING;
}

/** A selector from requirements (`labels.NewSelector().Add(...)`), sorted by key. */
export function selectorFromRequirements(requirements: readonly Requirement[]): Selector {
  return new InternalSelector(requirements);
}

/**
 * A selector that matches exactly the labels of `set` (`labels.SelectorFromSet`), not validated;
 * an empty or absent set is `everything()`.
 */
export function selectorFromSet(set: LabelSet | undefined): Selector {
  if (!set) return EVERYTHING;
  const keys = Object.keys(set);
  if (keys.length === 0) return EVERYTHING;
  return new InternalSelector(keys.map((k) => new Requirement(k, "=", [set[k]!])));
}

/** `k1=v1,k2=v2` sorted by key, `<none>` when empty (`labels.FormatLabels`). */
export function formatLabels(set: LabelSet | undefined): string {
  const s = selectorFromSet(set).toString();
  return s === "" ? "<none>" : s;
}

/**
 * The selector a `metav1.LabelSelector` means (`metav1.LabelSelectorAsSelector`): absent
 * (null/undefined) selects nothing, `{}` selects everything, otherwise `matchLabels` as `=`
 * requirements and `matchExpressions` as `in`, `notin`, `exists`, `!`.
 *
 * @throws LabelSelectorError for an unknown operator (`"X" is not a valid label selector operator`),
 *   an invalid key or value, or values that do not fit the operator (see `newRequirement`).
 */
export function labelSelectorAsSelector(selector: LabelSelector | null | undefined): Selector {
  if (selector === null || selector === undefined) return NOTHING;
  const matchLabels = selector.matchLabels ?? {};
  const expressions = selector.matchExpressions ?? [];
  const labelKeys = Object.keys(matchLabels);
  if (labelKeys.length + expressions.length === 0) return EVERYTHING;
  const requirements: Requirement[] = [];
  for (const k of labelKeys) requirements.push(newRequirement(k, "=", [matchLabels[k]!]));
  for (const expr of expressions) {
    let op: SelectionOperator;
    switch (expr.operator) {
      case "In":
        op = "in";
        break;
      case "NotIn":
        op = "notin";
        break;
      case "Exists":
        op = "exists";
        break;
      case "DoesNotExist":
        op = "!";
        break;
      default:
        throw new LabelSelectorError([`${JSON.stringify(expr.operator)} is not a valid label selector operator`]);
    }
    requirements.push(newRequirement(expr.key, op, [...(expr.values ?? [])]));
  }
  return new InternalSelector(requirements);
}

// ---- the string syntax (apimachinery labels.Parse) ----

type Token =
  | "error" | "end" | ")" | "," | "!" | "==" | "=" | ">" | "identifier" | "in" | "<" | "!=" | "notin" | "(";

const STRING_TO_TOKEN: ReadonlyMap<string, Token> = new Map<string, Token>([
  [")", ")"], [",", ","], ["!", "!"], ["==", "=="], ["=", "="], [">", ">"], ["in", "in"], ["<", "<"], ["!=", "!="], ["notin", "notin"], ["(", "("],
]);

function isWhitespace(ch: string): boolean {
  return ch === " " || ch === "\t" || ch === "\r" || ch === "\n";
}
function isSpecialSymbol(ch: string): boolean {
  return ch === "=" || ch === "!" || ch === "(" || ch === ")" || ch === "," || ch === ">" || ch === "<";
}

interface ScannedItem {
  tok: Token;
  literal: string;
}

function lex(s: string): ScannedItem[] {
  const items: ScannedItem[] = [];
  let pos = 0;
  for (;;) {
    while (pos < s.length && isWhitespace(s[pos]!)) pos++;
    if (pos >= s.length) {
      items.push({ tok: "end", literal: "" });
      return items;
    }
    if (isSpecialSymbol(s[pos]!)) {
      // Longest run of special symbols that still forms a token, as Lexer.scanSpecialSymbol.
      let buffer = "";
      let last: ScannedItem | undefined;
      while (pos < s.length && isSpecialSymbol(s[pos]!)) {
        buffer += s[pos];
        const tok = STRING_TO_TOKEN.get(buffer);
        if (tok) {
          last = { tok, literal: buffer };
          pos++;
        } else if (last) {
          break;
        } else {
          pos++;
        }
      }
      items.push(last ?? { tok: "error", literal: `error expected: keyword found '${buffer}'` });
    } else {
      let buffer = "";
      while (pos < s.length && !isSpecialSymbol(s[pos]!) && !isWhitespace(s[pos]!)) buffer += s[pos++];
      const tok = STRING_TO_TOKEN.get(buffer);
      items.push({ tok: tok ?? "identifier", literal: buffer });
    }
  }
}

class Parser {
  readonly #items: ScannedItem[];
  #position = 0;
  constructor(items: ScannedItem[]) {
    this.#items = items;
  }
  /** In the Values context `in` and `notin` are identifiers (`x in (in)`). */
  #asValue(item: ScannedItem, values: boolean): [Token, string] {
    const tok = values && (item.tok === "in" || item.tok === "notin") ? "identifier" : item.tok;
    return [tok, item.literal];
  }
  lookahead(values: boolean): [Token, string] {
    return this.#asValue(this.#items[this.#position]!, values);
  }
  consume(values: boolean): [Token, string] {
    return this.#asValue(this.#items[this.#position++]!, values);
  }

  parse(): Requirement[] {
    const requirements: Requirement[] = [];
    for (;;) {
      const [tok, lit] = this.lookahead(true);
      if (tok === "identifier" || tok === "!") {
        try {
          requirements.push(this.#parseRequirement());
        } catch (err) {
          throw new LabelSelectorError([`unable to parse requirement: ${(err as Error).message}`]);
        }
        const [t, l] = this.consume(true);
        if (t === "end") return requirements;
        if (t === ",") {
          const [t2, l2] = this.lookahead(true);
          if (t2 !== "identifier" && t2 !== "!") throw new LabelSelectorError([`found '${l2}', expected: identifier after ','`]);
        } else {
          throw new LabelSelectorError([`found '${l}', expected: ',' or 'end of string'`]);
        }
      } else if (tok === "end") {
        return requirements;
      } else {
        throw new LabelSelectorError([`found '${lit}', expected: !, identifier, or 'end of string'`]);
      }
    }
  }

  #parseRequirement(): Requirement {
    let operator: SelectionOperator | undefined;
    let [tok, literal] = this.consume(true);
    if (tok === "!") {
      operator = "!";
      [tok, literal] = this.consume(true);
    }
    if (tok !== "identifier") throw new Error(`found '${literal}', expected: identifier`);
    const key = literal;
    const keyErrs = isLabelKey(key);
    if (keyErrs.length) throw new LabelSelectorError([invalid("", key, keyErrs.join("; ")).replace(/^: /, "")]);
    const [next] = this.lookahead(true);
    if (next === "end" || next === ",") {
      if (operator !== "!") operator = "exists";
    }
    if (operator === "exists" || operator === "!") return newRequirement(key, operator, []);
    operator = this.#parseOperator();
    const values = operator === "in" || operator === "notin" ? this.#parseValues() : this.#parseExactValue();
    return newRequirement(key, operator, [...values].sort(compareStrings));
  }

  #parseOperator(): SelectionOperator {
    const [tok, lit] = this.consume(false);
    switch (tok) {
      case "in":
        return "in";
      case "=":
        return "=";
      case "==":
        return "==";
      case ">":
        return "gt";
      case "<":
        return "lt";
      case "notin":
        return "notin";
      case "!=":
        return "!=";
      default:
        throw new Error(`found '${lit}', expected: in, notin, =, ==, !=, gt, lt`);
    }
  }

  #parseValues(): Set<string> {
    const [tok, lit] = this.consume(true);
    if (tok !== "(") throw new Error(`found '${lit}' expected: '('`);
    const [t, l] = this.lookahead(true);
    if (t === "identifier" || t === ",") {
      const s = this.#parseIdentifiersList();
      const [closing] = this.consume(true);
      if (closing !== ")") throw new Error(`found '${l}', expected: ')'`);
      return s;
    }
    if (t === ")") {
      this.consume(true);
      return new Set([""]);
    }
    throw new Error(`found '${l}', expected: ',', ')' or identifier`);
  }

  #parseIdentifiersList(): Set<string> {
    const s = new Set<string>();
    for (;;) {
      const [tok, lit] = this.consume(true);
      if (tok === "identifier") {
        s.add(lit);
        const [t2, l2] = this.lookahead(true);
        if (t2 === ",") continue;
        if (t2 === ")") return s;
        throw new Error(`found '${l2}', expected: ',' or ')'`);
      } else if (tok === ",") {
        if (s.size === 0) s.add(""); // "(,"
        const [t2] = this.lookahead(true);
        if (t2 === ")") {
          s.add(""); // ",)"
          return s;
        }
        if (t2 === ",") s.add(""); // ",,"
      } else {
        throw new Error(`found '${lit}', expected: ',', or identifier`);
      }
    }
  }

  #parseExactValue(): Set<string> {
    const [t] = this.lookahead(true);
    if (t === "end" || t === ",") return new Set([""]);
    const [tok, lit] = this.consume(true);
    if (tok === "identifier") return new Set([lit]);
    throw new Error(`found '${lit}', expected: identifier`);
  }
}

/**
 * Parse the API's selector string syntax (`labels.Parse`): comma-separated requirements
 * `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k>1`, `k<1`. The empty string
 * is `everything()`. Requirements come out sorted by key, set values sorted and de-duplicated.
 *
 * @throws LabelSelectorError with apimachinery's parser messages when the syntax is wrong or a
 *   key or value is invalid.
 */
export function parseSelector(text: string): Selector {
  return new InternalSelector(new Parser(lex(text)).parse());
}
