/**
 * Patch application for the in-memory API: JSON merge patch (RFC 7386), JSON patch (RFC 6902)
 * and a strategic merge patch limited to the list merge keys controllers use in metadata and
 * status (apimachinery `strategicpatch` needs Go struct tags that TypeScript types lack).
 */

/** Thrown for a patch that cannot apply; the in-memory API answers 422 Invalid with its message. */
export class PatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PatchError";
  }
}

type Json = unknown;
type JsonObject = Record<string, Json>;

function isObject(v: Json): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** RFC 7386: objects merge recursively, `null` deletes, everything else (arrays too) replaces. */
export function applyMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

/** One RFC 6902 operation. */
export interface JsonPatchOp {
  op: "add" | "remove" | "replace" | "move" | "copy" | "test";
  path: string;
  value?: unknown;
  from?: string;
}

function parsePointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw new PatchError(`invalid JSON pointer ${JSON.stringify(path)}: must start with "/"`);
  return path.slice(1).split("/").map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function getAt(doc: Json, tokens: string[], path: string): Json {
  let cur = doc;
  for (const t of tokens) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined) throw new PatchError(`path ${path} does not exist`);
  }
  return cur;
}

/** RFC 6902 on a copy of `doc`. @throws PatchError for a missing path, a bad index or a failed `test`. */
export function applyJsonPatch(doc: Json, ops: readonly JsonPatchOp[]): Json {
  let root = structuredClone(doc);
  for (const op of ops) {
    const tokens = parsePointer(op.path);
    const set = (value: Json, insert: boolean): void => {
      if (tokens.length === 0) {
        root = value;
        return;
      }
      const parent = getAt(root, tokens.slice(0, -1), op.path);
      const last = tokens.at(-1)!;
      if (Array.isArray(parent)) {
        const i = last === "-" ? parent.length : Number(last);
        if (!Number.isInteger(i) || i < 0 || i > parent.length || (!insert && i >= parent.length)) throw new PatchError(`index ${last} out of range at ${op.path}`);
        if (insert) parent.splice(i, 0, value);
        else parent[i] = value;
      } else if (isObject(parent)) {
        if (!insert && !(last in parent)) throw new PatchError(`path ${op.path} does not exist`);
        parent[last] = value;
      } else throw new PatchError(`path ${op.path} has no parent object`);
    };
    const remove = (ts: string[], path: string): Json => {
      const parent = getAt(root, ts.slice(0, -1), path);
      const last = ts.at(-1)!;
      if (Array.isArray(parent)) {
        const i = Number(last);
        if (!Number.isInteger(i) || i < 0 || i >= parent.length) throw new PatchError(`index ${last} out of range at ${path}`);
        return parent.splice(i, 1)[0];
      }
      if (isObject(parent) && last in parent) {
        const v = parent[last];
        delete parent[last];
        return v;
      }
      throw new PatchError(`path ${path} does not exist`);
    };
    switch (op.op) {
      case "add": set(structuredClone(op.value), true); break;
      case "replace": set(structuredClone(op.value), false); break;
      case "remove": remove(tokens, op.path); break;
      case "move": {
        const from = parsePointer(op.from ?? "");
        set(remove(from, op.from ?? ""), true);
        break;
      }
      case "copy": set(structuredClone(getAt(root, parsePointer(op.from ?? ""), op.from ?? "")), true); break;
      case "test": {
        const actual = getAt(root, tokens, op.path);
        if (JSON.stringify(actual) !== JSON.stringify(op.value)) throw new PatchError(`test operation failed at ${op.path}`);
        break;
      }
      default: throw new PatchError(`unknown JSON patch operation ${JSON.stringify((op as { op: unknown }).op)}`);
    }
  }
  return root;
}

/**
 * Merge keys of lists under a field name, as the built-in types declare them
 * (`patchMergeKey`): lists of objects merge item by item on this key; `finalizers` merges as a set.
 */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  ownerReferences: "uid",
  conditions: "type",
  containers: "name",
  initContainers: "name",
  ephemeralContainers: "name",
  volumes: "name",
  env: "name",
  ports: "containerPort",
  containerStatuses: "name",
  initContainerStatuses: "name",
  tolerations: "key",
};
const SET_LISTS: ReadonlySet<string> = new Set(["finalizers"]);

/**
 * A strategic merge patch as apimachinery applies it for the lists in `MERGE_KEYS` and
 * `finalizers`; other lists replace, objects merge, `null` deletes, `$patch: delete` removes a
 * list item, `$patch: replace` replaces an object, `$deleteFromPrimitiveList/<field>` removes set
 * items; `$setElementOrder` and `$retainKeys` directives are ignored.
 */
export function applyStrategicMergePatch(target: Json, patch: Json): Json {
  return smp(target, patch);
}

function smp(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  if (patch["$patch"] === "replace") {
    const { $patch: _, ...rest } = patch;
    return structuredClone(rest);
  }
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === "$patch" || k.startsWith("$setElementOrder/") || k === "$retainKeys") continue;
    if (k.startsWith("$deleteFromPrimitiveList/")) {
      const field = k.slice("$deleteFromPrimitiveList/".length);
      const drop = new Set((Array.isArray(v) ? v : []).map((x) => JSON.stringify(x)));
      const cur = out[field];
      if (Array.isArray(cur)) out[field] = cur.filter((x) => !drop.has(JSON.stringify(x)));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    const mergeKey = MERGE_KEYS[k];
    if (Array.isArray(v) && mergeKey) {
      out[k] = mergeList(Array.isArray(out[k]) ? (out[k] as Json[]) : [], v, mergeKey);
    } else if (Array.isArray(v) && SET_LISTS.has(k)) {
      const cur = Array.isArray(out[k]) ? [...(out[k] as Json[])] : [];
      for (const item of v) if (!cur.some((c) => JSON.stringify(c) === JSON.stringify(item))) cur.push(structuredClone(item));
      out[k] = cur;
    } else {
      out[k] = smp(out[k], v);
    }
  }
  return out;
}

function mergeList(current: Json[], patch: Json[], key: string): Json[] {
  const out = current.map((x) => x);
  for (const item of patch) {
    if (!isObject(item)) {
      out.push(structuredClone(item));
      continue;
    }
    const id = item[key];
    const at = out.findIndex((x) => isObject(x) && x[key] === id);
    if (item["$patch"] === "delete") {
      if (at >= 0) out.splice(at, 1);
      continue;
    }
    if (at >= 0) out[at] = smp(out[at], item);
    else {
      const { $patch: _, ...rest } = item;
      out.push(structuredClone(rest));
    }
  }
  return out;
}
