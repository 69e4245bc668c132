import { keyOf, type KubeObject, type ResourceType } from "../meta/index.ts";
import { ApiError, isGone } from "../client/index.ts";
import type { Client, ListOptions, ObjectList, WatchEvent, WatchOptions } from "../client/index.ts";
import { rootLogger, type Logger } from "../log/index.ts";
import { sleep } from "../flowcontrol/index.ts";
import { Backoff } from "./backoff.ts";

/** The two calls a reflector makes. `listerWatcherFor` builds one from a `Client`. */
export interface ListerWatcher<T extends KubeObject> {
  list(opts: ListOptions): Promise<ObjectList<T>>;
  watch(opts: WatchOptions): AsyncIterable<WatchEvent<T>>;
}

/** Scope of a lister-watcher: one namespace (or all) and selectors. */
export interface ListWatchScope {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** A `ListerWatcher` for one resource type and scope through `client`. */
export function listerWatcherFor<T extends KubeObject>(client: Client, type: ResourceType<T>, scope: ListWatchScope = {}): ListerWatcher<T> {
  const fixed: ListWatchScope = {};
  if (scope.namespace && type.namespaced) fixed.namespace = scope.namespace;
  if (scope.labelSelector) fixed.labelSelector = scope.labelSelector;
  if (scope.fieldSelector) fixed.fieldSelector = scope.fieldSelector;
  return {
    list: (opts) => client.list(type, { ...opts, ...fixed }),
    watch: (opts) => client.watch(type, { ...opts, ...fixed }),
  };
}

/** Where a reflector delivers what it learns (client-go's DeltaFIFO role). */
export interface ReflectorSink<T extends KubeObject> {
  /** The complete state after a LIST (or a WatchList's initial events): replaces everything known. */
  replace(items: T[], resourceVersion: string): void;
  added(obj: T): void;
  modified(obj: T): void;
  deleted(obj: T): void;
}

/** Options of `Reflector`. */
export interface ReflectorOptions {
  /** For logs and errors, e.g. `Pod.v1 in ns-a`. */
  name: string;
  logger?: Logger;
  /** LIST page size (`limit`, default 500). */
  pageSize?: number;
  /** Backoff between failed attempts (default: 800 ms to 30 s, reset after 2 min of health). */
  backoff?: Backoff;
  /** Lower bound of the randomised watch `timeoutSeconds`; the watch asks for between this and twice this (default 300). */
  minWatchTimeoutSeconds?: number;
  /** A watch with no event for its timeout plus this margin is deemed stalled, aborted and restarted (default 30 000). */
  stallMarginMs?: number;
  /** Random source in [0, 1), for tests. */
  random?: () => number;
  /**
   * Stream the initial state with WatchList (`sendInitialEvents=true`) instead of a LIST (client-go
   * does by default since 1.35); falls back to paged LIST for good when the server refuses it or
   * ends the stream without the initial-events-end bookmark. Default false: a server or fake that
   * silently ignores `sendInitialEvents` would otherwise keep the informer unsynced until the
   * watch times out.
   */
  useWatchList?: boolean;
}

/** Thrown inside the reflector when a watch delivered an event it cannot use. */
class WatchProtocolError extends Error {}

const INITIAL_EVENTS_END_ANNOTATION = "k8s.io/initial-events-end";

/**
 * Keeps a sink in step with the API server: LIST (paged) then WATCH from the list's
 * resourceVersion with bookmarks; a watch that ends is resumed from the last resourceVersion
 * seen (event or bookmark); 410 Gone relists, and the sink's `replace` then reports what
 * vanished or changed. Failures back off (800 ms to 30 s with jitter, reset after 2 min of
 * health); watch timeouts are randomised between 5 and 10 min; a watch silent for longer than
 * its timeout plus a margin is aborted and restarted. It never stops on its own: only `signal`
 * ends `run`. Mirrors client-go `tools/cache/reflector.go` (ListAndWatch).
 */
export class Reflector<T extends KubeObject> {
  readonly #lw: ListerWatcher<T>;
  readonly #sink: ReflectorSink<T>;
  readonly #name: string;
  readonly #log: Logger;
  readonly #pageSize: number;
  readonly #backoff: Backoff;
  readonly #minWatchTimeoutSeconds: number;
  readonly #stallMarginMs: number;
  readonly #random: () => number;
  #useWatchList: boolean;
  #lastSyncResourceVersion = "";
  #needList = true;
  #listCount = 0;
  #pagesOfLastList = 0;

  constructor(lw: ListerWatcher<T>, sink: ReflectorSink<T>, opts: ReflectorOptions) {
    this.#lw = lw;
    this.#sink = sink;
    this.#name = opts.name;
    this.#log = (opts.logger ?? rootLogger).child({ reflector: opts.name });
    this.#pageSize = opts.pageSize ?? 500;
    this.#backoff = opts.backoff ?? new Backoff();
    this.#minWatchTimeoutSeconds = opts.minWatchTimeoutSeconds ?? 300;
    this.#stallMarginMs = opts.stallMarginMs ?? 30_000;
    this.#random = opts.random ?? Math.random;
    this.#useWatchList = opts.useWatchList ?? false;
  }

  /** The resourceVersion of the last LIST, event or bookmark ("" before the first LIST). */
  get lastSyncResourceVersion(): string {
    return this.#lastSyncResourceVersion;
  }

  /** How many times the reflector has listed (the first LIST included). */
  get listCount(): number {
    return this.#listCount;
  }

  /** Pages the last LIST took. */
  get pagesOfLastList(): number {
    return this.#pagesOfLastList;
  }

  /** Lists and watches until `signal` aborts; resolves then. Never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    let goneInARow = 0;
    while (!signal.aborted) {
      try {
        if (this.#needList) {
          if (this.#useWatchList) await this.#watchList(signal);
          else await this.#list(signal);
          this.#needList = false;
          if (signal.aborted) break;
        }
        const cleanEnd = await this.#watch(signal);
        if (cleanEnd) goneInARow = 0;
        if (!cleanEnd && !signal.aborted) await sleep(this.#backoff.nextDelayMs(), signal);
      } catch (err) {
        if (signal.aborted) break;
        if (isGone(err)) {
          // 410: our resourceVersion is compacted away. Relist at once (a failing LIST backs off).
          this.#log.info({ resourceVersion: this.#lastSyncResourceVersion, err: (err as Error).message }, "resourceVersion too old, relisting");
          this.#needList = true;
          // A second 410 without progress in between (an expiring continue token, a server
          // that keeps answering 410) backs off instead of spinning.
          if (++goneInARow > 1) await sleep(this.#backoff.nextDelayMs(), signal);
          continue;
        }
        const delayMs = this.#backoff.nextDelayMs();
        this.#log.warn({ err: (err as Error).message, retryInMs: delayMs, relist: this.#needList }, `list/watch of ${this.#name} failed; retrying`);
        await sleep(delayMs, signal);
      }
    }
  }

  /** Paged LIST; on success replaces the sink's content. */
  async #list(signal: AbortSignal): Promise<void> {
    const items: T[] = [];
    let continueToken: string | undefined;
    let resourceVersion = "";
    let pages = 0;
    do {
      // No resourceVersion: a consistent read, paged by the server (a 410 on an expired continue token lists afresh).
      const page = await this.#lw.list({ limit: this.#pageSize, signal, ...(continueToken ? { continue: continueToken } : {}) });
      pages++;
      for (const item of page.items) items.push(item);
      continueToken = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion ?? resourceVersion;
    } while (continueToken && !signal.aborted);
    if (signal.aborted) return;
    this.#listCount++;
    this.#pagesOfLastList = pages;
    this.#lastSyncResourceVersion = resourceVersion;
    this.#sink.replace(items, resourceVersion);
    this.#log.debug({ items: items.length, pages, resourceVersion }, "listed");
  }

  /**
   * WatchList: the initial state as ADDED events up to the bookmark annotated
   * `k8s.io/initial-events-end`; that stream is then closed and the regular watch resumes from
   * the bookmark's resourceVersion.
   */
  async #watchList(signal: AbortSignal): Promise<void> {
    const items = new Map<string, T>();
    let ended = false;
    try {
      await this.#consumeWatch(signal, { sendInitialEvents: true, resourceVersionMatch: "NotOlderThan", resourceVersion: "" }, (event) => {
        if (ended) return false;
        if (event.type === "BOOKMARK") {
          const rv = event.object.metadata?.resourceVersion ?? "";
          if (event.object.metadata?.annotations?.[INITIAL_EVENTS_END_ANNOTATION] === "true") {
            ended = true;
            this.#listCount++;
            this.#pagesOfLastList = 0;
            this.#lastSyncResourceVersion = rv;
            this.#sink.replace([...items.values()], rv);
            return false; // stop; the regular watch resumes from rv
          }
          return true;
        }
        if (event.type === "ADDED" || event.type === "MODIFIED") items.set(keyOf(event.object), event.object);
        else if (event.type === "DELETED") items.delete(keyOf(event.object));
        return true;
      });
    } catch (err) {
      if (signal.aborted) return;
      // A 4xx other than 410 and 429 means this server (or our identity) does not do WatchList.
      if (err instanceof ApiError && !isGone(err) && err.statusCode !== 429 && err.statusCode >= 400 && err.statusCode < 500) {
        this.#log.info({ err: err.message }, "WatchList refused by the server; using LIST from now on");
        this.#useWatchList = false;
        return this.#list(signal);
      }
      throw err;
    }
    if (!ended && !signal.aborted) {
      this.#log.info("WatchList ended without the initial-events-end bookmark; using LIST from now on");
      this.#useWatchList = false;
      await this.#list(signal);
    }
  }

  /**
   * One WATCH from the last resourceVersion. Returns true when the server ended it normally (the
   * caller resumes at once), false after a stall or a suspiciously short empty watch (the caller
   * backs off). @throws ApiError (410 Gone means relist) and connection errors.
   */
  async #watch(signal: AbortSignal): Promise<boolean> {
    const started = performance.now();
    let events = 0;
    const outcome = await this.#consumeWatch(signal, { resourceVersion: this.#lastSyncResourceVersion }, (event) => {
      events++;
      switch (event.type) {
        case "ADDED": this.#sink.added(event.object); break;
        case "MODIFIED": this.#sink.modified(event.object); break;
        case "DELETED": this.#sink.deleted(event.object); break;
        case "BOOKMARK": break;
      }
      return true;
    });
    if (outcome === "stalled") return false;
    if (events === 0 && performance.now() - started < 1000) {
      this.#log.debug("watch ended at once without events");
      return false;
    }
    return true;
  }

  /**
   * Runs one watch, passing ADDED/MODIFIED/DELETED/BOOKMARK events to `onEvent` after recording
   * their resourceVersion; `onEvent` returns false to stop. Resolves "ended" when the stream ends
   * or `onEvent` stops it, "stalled" when it was silent too long.
   */
  async #consumeWatch(
    signal: AbortSignal, extra: Partial<WatchOptions>, onEvent: (event: Exclude<WatchEvent<T>, { type: "ERROR" }>) => boolean,
  ): Promise<"ended" | "stalled"> {
    const timeoutSeconds = Math.floor(this.#minWatchTimeoutSeconds * (1 + this.#random()));
    const stallAfterMs = timeoutSeconds * 1000 + this.#stallMarginMs;
    const watchAbort = new AbortController();
    const onParentAbort = (): void => watchAbort.abort(signal.reason);
    signal.addEventListener("abort", onParentAbort, { once: true });
    let stalled = false;
    let timer = setTimeout(onStall, stallAfterMs);
    function onStall(): void {
      stalled = true;
      watchAbort.abort(new Error("watch stalled"));
    }
    try {
      const stream = this.#lw.watch({
        allowWatchBookmarks: true, timeoutSeconds, signal: watchAbort.signal,
        resourceVersion: this.#lastSyncResourceVersion, ...extra,
      });
      for await (const event of stream) {
        clearTimeout(timer);
        timer = setTimeout(onStall, stallAfterMs);
        if (event.type === "ERROR") throw new ApiError(event.object.code ?? 500, event.object, { verb: `watch ${this.#name}` });
        const rv = event.object?.metadata?.resourceVersion;
        if (!rv) throw new WatchProtocolError(`watch of ${this.#name}: ${event.type} event without metadata.resourceVersion`);
        if (event.type !== "BOOKMARK" && !event.object.metadata?.name) {
          throw new WatchProtocolError(`watch of ${this.#name}: ${event.type} event without metadata.name`);
        }
        const proceed = onEvent(event);
        // During WatchList's initial events the resourceVersions are the objects' own, not a stream position.
        if (!extra.sendInitialEvents) this.#lastSyncResourceVersion = rv;
        if (!proceed) break;
      }
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onParentAbort);
      watchAbort.abort();
    }
    if (stalled) {
      this.#log.warn({ silentForMs: stallAfterMs, resourceVersion: this.#lastSyncResourceVersion }, `watch of ${this.#name} stalled; restarting it`);
      return "stalled";
    }
    return "ended";
  }
}
