import {
  gvkString, keyOf, labelSelectorAsSelector, parseSelector,
  type DeepReadonly, type KubeObject, type LabelSelector, type ObjectKey, type ResourceType, type Selector,
} from "../meta/index.ts";
import { NAMESPACE_INDEX, type Store } from "./store.ts";
import type { IndexFunc } from "./types.ts";

/**
 * Reads objects of any type from a cache, as controller-runtime's `client.Reader` served by its
 * informer cache (`pkg/cache/internal/cache_reader.go`). Objects are shared with the cache and
 * every other reader: they are `DeepReadonly` in the types and frozen at run time; copy one
 * (`deepCopy` from `framework/meta`) before changing it.
 */
export interface Reader {
  /**
   * The object with this key as the cache holds it, or undefined when the cache does not hold it
   * (controller-runtime returns a NotFound error instead).
   * @throws Error when a namespaced type is asked for without a namespace, or when the cache
   *   cannot serve the type (see the implementation).
   */
  get<T extends KubeObject>(type: ResourceType<T>, key: ObjectKey, opts?: ReadOptions): Promise<DeepReadonly<T> | undefined>;
  /**
   * The objects that pass every part of `filter`, in no particular order.
   * @throws Error for a field selector that is not `field=value` / `field==value`, for a field
   *   without an index (the message says how to register one), for an unknown `index` name;
   *   `LabelSelectorError` for an invalid label selector.
   */
  list<T extends KubeObject>(type: ResourceType<T>, filter?: ListFilter & ReadOptions): Promise<Array<DeepReadonly<T>>>;
}

/** Registers field indexes that `list` uses for field selectors (controller-runtime `client.FieldIndexer`). */
export interface FieldIndexer {
  /**
   * Indexes objects of `type` under the values `extract` returns for `field`, so that
   * `list(type, { fieldSelector: { [field]: value } })` is one index lookup, in one namespace or
   * in all. `field` is any name (by convention the JSON path, e.g. `spec.nodeName`).
   * Mirrors controller-runtime `informerCache.IndexField`.
   * @throws Error when an index of that field already exists for the type.
   */
  indexField<T extends KubeObject>(type: ResourceType<T>, field: string, extract: (obj: DeepReadonly<T>) => string[]): void;
}

/** Options of every read. */
export interface ReadOptions {
  /** Aborts waiting for an informer that is still syncing. */
  signal?: AbortSignal;
}

/** What `Reader.list` selects; every part given must match (AND). */
export interface ListFilter {
  /** Only this namespace (served from the namespace index). Ignored for cluster-scoped types. */
  namespace?: string;
  /**
   * Labels the objects must carry: the API's string syntax (`app=web,tier in (a,b)`), a
   * `metav1.LabelSelector` (`{ matchLabels, matchExpressions }`, converted with
   * `LabelSelectorAsSelector` semantics: `{}` selects everything), or a parsed `Selector`.
   */
  labelSelector?: string | LabelSelector | Selector;
  /**
   * Exact field matches, as `field=value,other==value` or `{ field: value }`. Each field needs an
   * index registered with `indexField`, except `metadata.name` and `metadata.namespace`, which
   * are always served.
   */
  fieldSelector?: string | Readonly<Record<string, string>>;
  /** Objects whose index `name` (added with `Informer.addIndex`) holds `value`. */
  index?: { name: string; value: string };
  /** At most this many objects (controller-runtime honours `Limit` in the cache too). */
  limit?: number;
}

/** Prefix of the index behind a field selector (controller-runtime `FieldIndexName`). */
export const FIELD_INDEX_PREFIX = "field:";
/** The "namespace" of field index values that hold across namespaces (controller-runtime's `__all_namespaces`). */
export const ALL_NAMESPACES = "__all_namespaces";

/** The index name of a field: `field:<field>`. */
export function fieldIndexName(field: string): string {
  return FIELD_INDEX_PREFIX + field;
}

/** `namespace/value`, or `__all_namespaces/value` (controller-runtime `KeyToNamespacedKey`). */
export function namespacedIndexValue(namespace: string | undefined, value: string): string {
  return `${namespace || ALL_NAMESPACES}/${value}`;
}

/**
 * The index function behind `indexField`: each value is indexed twice for a namespaced object,
 * once under its namespace and once under `__all_namespaces`, as controller-runtime's
 * `indexByField` does.
 */
export function fieldIndexFunc<T extends KubeObject>(extract: (obj: DeepReadonly<T>) => string[]): IndexFunc<T> {
  return (obj) => {
    const values = extract(obj as DeepReadonly<T>);
    const ns = obj.metadata?.namespace;
    const out: string[] = [];
    for (const value of values) out.push(namespacedIndexValue(ns, value));
    if (ns) for (const value of values) out.push(namespacedIndexValue(undefined, value));
    return out;
  };
}

/** One `field=value` requirement of a field selector. */
export interface FieldRequirement {
  field: string;
  operator: "=" | "!=";
  value: string;
}

/**
 * Parses a field selector (`a=b,c==d,e!=f`; `\,`, `\=`, `\!` and `\\` escape), as apimachinery
 * `fields.ParseSelector`. An empty string selects everything (no requirement).
 * @throws Error for a term without an operator or with an empty field name.
 */
export function parseFieldSelector(text: string): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  for (const term of splitUnescaped(text, ",")) {
    if (term.trim() === "") continue;
    const m = findOperator(term);
    if (!m) throw new Error(`invalid field selector ${JSON.stringify(text)}: ${JSON.stringify(term)} is not field=value, field==value or field!=value`);
    const field = unescape(term.slice(0, m.at)).trim();
    const value = unescape(term.slice(m.at + m.op.length));
    if (!field) throw new Error(`invalid field selector ${JSON.stringify(text)}: empty field name in ${JSON.stringify(term)}`);
    out.push({ field, operator: m.op === "!=" ? "!=" : "=", value });
  }
  return out;
}

function splitUnescaped(text: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\\" && i + 1 < text.length) {
      cur += c + text[i + 1];
      i++;
    } else if (c === sep) {
      parts.push(cur);
      cur = "";
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}

function findOperator(term: string): { at: number; op: "!=" | "==" | "=" } | undefined {
  for (let i = 0; i < term.length; i++) {
    const c = term[i]!;
    if (c === "\\") {
      i++;
      continue;
    }
    if (c === "!" && term[i + 1] === "=") return { at: i, op: "!=" };
    if (c === "=") return { at: i, op: term[i + 1] === "=" ? "==" : "=" };
  }
  return undefined;
}

function unescape(s: string): string {
  return s.replace(/\\(.)/g, "$1");
}

const parsedLabelSelectors = new Map<string, Selector>();

/**
 * The `Selector` for any form `ListFilter.labelSelector` takes; undefined selects everything.
 * Parsed strings are memoised (up to 512).
 * @throws LabelSelectorError for an invalid selector.
 */
export function toSelector(input: string | LabelSelector | Selector | undefined): Selector | undefined {
  if (input === undefined) return undefined;
  if (typeof input === "string") {
    let sel = parsedLabelSelectors.get(input);
    if (!sel) {
      sel = parseSelector(input);
      if (parsedLabelSelectors.size >= 512) parsedLabelSelectors.clear();
      parsedLabelSelectors.set(input, sel);
    }
    return sel;
  }
  if (typeof (input as Selector).matches === "function") return input as Selector;
  return labelSelectorAsSelector(input as LabelSelector);
}

function fieldRequirements(type: ResourceType, input: ListFilter["fieldSelector"]): Array<{ field: string; value: string }> {
  if (input === undefined) return [];
  const reqs = typeof input === "string"
    ? parseFieldSelector(input)
    : Object.entries(input).map(([field, value]) => ({ field, operator: "=" as const, value }));
  for (const r of reqs) {
    if (r.operator !== "=") {
      throw new Error(`list ${gvkString(type)} from the cache: field selector ${r.field}!=${r.value} is not an exact match; the cache serves only field=value (list from the API server for others)`);
    }
  }
  return reqs;
}

/**
 * The object with `key` in one type's store; `undefined` when absent.
 * @throws Error when `type` is namespaced and `key` has no namespace.
 */
export function getFromStore<T extends KubeObject>(store: Store<T>, type: ResourceType<T>, key: ObjectKey): DeepReadonly<T> | undefined {
  if (!key.name) throw new Error(`get ${gvkString(type)} from the cache: the key has no name`);
  if (type.namespaced && !key.namespace) throw new Error(`get ${gvkString(type)} ${key.name} from the cache: ${type.kind} is namespaced, so the key needs a namespace`);
  return store.get(type.namespaced ? `${key.namespace}/${key.name}` : key.name) as DeepReadonly<T> | undefined;
}

/**
 * Serves `filter` from one type's indexed store: the narrowest index first (a field index, the
 * name, an `index`, the namespace index), then the remaining conditions on those objects only.
 * See `Reader.list` for the errors.
 */
export function listFromStore<T extends KubeObject>(store: Store<T>, type: ResourceType<T>, filter: ListFilter = {}): Array<DeepReadonly<T>> {
  const namespace = type.namespaced && filter.namespace ? filter.namespace : undefined;
  const selector = toSelector(filter.labelSelector);
  const fields = fieldRequirements(type, filter.fieldSelector);
  const indexNames = new Set(store.indexNames());

  // Candidate keys from the narrowest lookup available; undefined means "all objects".
  let candidates: T[] | undefined;
  const rest: Array<(obj: T) => boolean> = [];
  const narrow = (objs: T[], check?: (obj: T) => boolean): void => {
    if (candidates === undefined) candidates = objs;
    else if (check) rest.push(check);
  };
  for (const { field, value } of fields) {
    const indexName = fieldIndexName(field);
    if (indexNames.has(indexName)) {
      const indexed = namespacedIndexValue(namespace, value);
      if (candidates === undefined) candidates = store.byIndex(indexName, indexed);
      else {
        const keys = new Set(store.keysByIndex(indexName, indexed));
        rest.push((obj) => keys.has(keyOf(obj)));
      }
    } else if (field === "metadata.name") {
      if (namespace || !type.namespaced) {
        const obj = store.get(namespace ? `${namespace}/${value}` : value);
        narrow(obj ? [obj] : [], (o) => o.metadata?.name === value);
      } else {
        rest.push((o) => o.metadata?.name === value);
      }
    } else if (field === "metadata.namespace") {
      if (namespace !== undefined && namespace !== value) return [];
      narrow(type.namespaced ? store.byIndex(NAMESPACE_INDEX, value) : value === "" ? store.list() : [], (o) => (o.metadata?.namespace ?? "") === value);
    } else {
      throw new Error(
        `list ${gvkString(type)} from the cache with field selector ${field}=${value}: no index ${JSON.stringify(indexName)} exists for ${type.kind}; ` +
        `register one before the cache starts, e.g. cache.indexField(${type.kind}Type, ${JSON.stringify(field)}, (obj) => [value of ${field}]), ` +
        `or list from the API server (only metadata.name and metadata.namespace are served without an index)`,
      );
    }
  }
  if (filter.index) {
    const { name, value } = filter.index;
    if (!indexNames.has(name)) {
      throw new Error(`list ${gvkString(type)} from the cache: no index named ${JSON.stringify(name)} (known: ${[...indexNames].join(", ")}); add it with informer.addIndex or cache.indexField before listing`);
    }
    if (candidates === undefined) candidates = store.byIndex(name, value);
    else {
      const keys = new Set(store.keysByIndex(name, value));
      rest.push((obj) => keys.has(keyOf(obj)));
    }
  }
  if (candidates === undefined) candidates = namespace ? store.byIndex(NAMESPACE_INDEX, namespace) : store.list();
  else if (namespace) rest.push((o) => o.metadata?.namespace === namespace);

  const limit = filter.limit !== undefined && filter.limit > 0 ? filter.limit : Infinity;
  const out: Array<DeepReadonly<T>> = [];
  for (const obj of candidates) {
    if (out.length >= limit) break;
    if (selector && !selector.matches(obj.metadata?.labels)) continue;
    let ok = true;
    for (const check of rest) {
      if (!check(obj)) {
        ok = false;
        break;
      }
    }
    if (ok) out.push(obj as DeepReadonly<T>);
  }
  return out;
}
