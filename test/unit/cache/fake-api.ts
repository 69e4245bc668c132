// An in-memory API server for one resource type: objects, a resourceVersion counter, an event
// history that can be compacted (so old watches get 410), paged LIST, and watches the test can
// end or break. Implements the reflector's ListerWatcher.
import type { KubeObject } from "../../../framework/meta/index.ts";
import type { ListOptions, ObjectList, Status, WatchEvent, WatchOptions } from "../../../framework/client/index.ts";
import { ApiError } from "../../../framework/client/index.ts";
import type { ListerWatcher } from "../../../framework/cache/index.ts";

export interface TestObject extends KubeObject {
  spec?: { value?: number };
}

type Change = { rv: number; type: "ADDED" | "MODIFIED" | "DELETED"; object: TestObject };

interface ActiveWatch {
  push(event: WatchEvent<TestObject>): void;
  end(): void;
  fail(err: Error): void;
}

export class FakeApi implements ListerWatcher<TestObject> {
  rv = 1;
  readonly objects = new Map<string, TestObject>();
  history: Change[] = [];
  compactedRv = 0;
  listCalls: ListOptions[] = [];
  watchCalls: WatchOptions[] = [];
  readonly #watches = new Set<ActiveWatch>();
  /** When set, the next LIST calls fail with it (then it is cleared). */
  failNextList: Error | undefined;
  /** When set, the next WATCH yields this Status as an ERROR event and ends (then it is cleared). */
  errorNextWatch: Status | undefined;
  /** False: WatchList requests (sendInitialEvents) are refused with 400, as by a server without it. */
  servesWatchList = true;

  #commit(type: Change["type"], object: TestObject): TestObject {
    this.rv++;
    const stored = structuredClone({ ...object, metadata: { ...object.metadata, resourceVersion: String(this.rv) } });
    const key = keyOf(stored);
    if (type === "DELETED") this.objects.delete(key);
    else this.objects.set(key, stored);
    this.history.push({ rv: this.rv, type, object: stored });
    for (const watch of this.#watches) watch.push({ type, object: structuredClone(stored) });
    return stored;
  }

  create(name: string, value = 0, extra: Partial<TestObject["metadata"]> = {}, namespace = "ns"): TestObject {
    return this.#commit("ADDED", { apiVersion: "test/v1", kind: "Thing", metadata: { name, namespace, uid: `uid-${name}`, ...extra }, spec: { value } });
  }

  update(name: string, value: number, namespace = "ns"): TestObject {
    const old = this.objects.get(`${namespace}/${name}`);
    if (!old) throw new Error(`no ${name}`);
    return this.#commit("MODIFIED", { ...old, spec: { value } });
  }

  remove(name: string, namespace = "ns"): TestObject {
    const old = this.objects.get(`${namespace}/${name}`);
    if (!old) throw new Error(`no ${name}`);
    return this.#commit("DELETED", old);
  }

  /** Forgets history up to now: watches from older resourceVersions get 410 Gone. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history = [];
  }

  bookmark(): void {
    for (const watch of this.#watches) watch.push({ type: "BOOKMARK", object: { metadata: { resourceVersion: String(this.rv) } } });
  }

  /** Ends every open watch normally (as a server-side timeout does). */
  endWatches(): void {
    for (const watch of [...this.#watches]) watch.end();
  }

  /** Breaks every open watch with a connection error. */
  breakWatches(message = "ECONNRESET"): void {
    for (const watch of [...this.#watches]) watch.fail(new Error(message));
  }

  get openWatches(): number {
    return this.#watches.size;
  }

  async list(opts: ListOptions): Promise<ObjectList<TestObject>> {
    this.listCalls.push(opts);
    if (this.failNextList) {
      const err = this.failNextList;
      this.failNextList = undefined;
      throw err;
    }
    const all = [...this.objects.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
    const start = opts.continue ? Number(opts.continue) : 0;
    const limit = opts.limit ?? all.length;
    const items = all.slice(start, start + limit).map((o) => structuredClone(o));
    const next = start + limit < all.length ? String(start + limit) : undefined;
    return { metadata: { resourceVersion: String(this.rv), ...(next ? { continue: next } : {}) }, items };
  }

  watch(opts: WatchOptions): AsyncIterable<WatchEvent<TestObject>> {
    this.watchCalls.push(opts);
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        if (opts.sendInitialEvents && !self.servesWatchList) {
          throw new ApiError(400, { kind: "Status", code: 400, reason: "BadRequest", message: "sendInitialEvents is not supported" }, { verb: "watch" });
        }
        if (self.errorNextWatch) {
          const status = self.errorNextWatch;
          self.errorNextWatch = undefined;
          yield { type: "ERROR", object: status };
          return;
        }
        const initial: WatchEvent<TestObject>[] = [];
        let from = Number(opts.resourceVersion || "0");
        if (opts.sendInitialEvents) {
          for (const obj of self.objects.values()) initial.push({ type: "ADDED", object: structuredClone(obj) });
          initial.push({ type: "BOOKMARK", object: { metadata: { resourceVersion: String(self.rv), annotations: { "k8s.io/initial-events-end": "true" } } } });
          from = self.rv;
        }
        if (from < self.compactedRv) {
          yield { type: "ERROR", object: { kind: "Status", code: 410, reason: "Expired", message: `too old resource version: ${from} (${self.compactedRv})` } };
          return;
        }
        const queue: WatchEvent<TestObject>[] = [...initial, ...self.history.filter((c) => c.rv > from).map((c) => ({ type: c.type, object: structuredClone(c.object) }))];
        let ended = false;
        let failure: Error | undefined;
        let wake: (() => void) | undefined;
        const watch: ActiveWatch = {
          push: (e) => { if (!failure && !ended) queue.push(e); wake?.(); },
          end: () => { ended = true; wake?.(); },
          fail: (err) => { failure = err; queue.length = 0; wake?.(); },
        };
        const onAbort = (): void => { ended = true; wake?.(); };
        opts.signal?.addEventListener("abort", onAbort);
        self.#watches.add(watch);
        try {
          for (;;) {
            while (queue.length > 0 && !failure) yield queue.shift()!;
            if (failure) throw failure;
            if (ended || opts.signal?.aborted) return;
            await new Promise<void>((resolve) => { wake = resolve; });
            wake = undefined;
          }
        } finally {
          self.#watches.delete(watch);
          opts.signal?.removeEventListener("abort", onAbort);
        }
      },
    };
  }
}

export function keyOf(obj: KubeObject): string {
  return `${obj.metadata?.namespace}/${obj.metadata?.name}`;
}

export { ApiError };
export { until } from "../support/until.ts";
