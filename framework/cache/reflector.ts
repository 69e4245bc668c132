import { keyOf, type KubeObject, type ResourceType } from "../meta/index.ts";
import { ApiError, isGone, isTooManyRequests } from "../client/index.ts";
import type { Client, ListOptions, ObjectList, WatchEvent, WatchOptions } from "../client/index.ts";
import { rootLogger, type Logger } from "../log/index.ts";
import { realClock, type Clock } from "../flowcontrol/index.ts";
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
  /** Backoff between failed attempts (default: client-go's 800 ms doubling to 30 s, jitter up to +100 %, reset every 2 min). */
  backoff?: Backoff;
  /** Lower bound of the randomised watch `timeoutSeconds`; the watch asks for between this and twice this (default 300). */
  minWatchTimeoutSeconds?: number;
  /**
   * A watch that delivers no event and no bookmark for this many milliseconds is deemed stalled,
   * aborted and restarted from the last resourceVersion (default 150 000). The API server's watch
   * cache sends a bookmark to every watch that asked for them about once a minute
   * (`defaultBookmarkFrequency` in k8s.io/apiserver `storage/cacher`), so a healthy watch is
   * never silent that long. Two stalled watches in a row without any event relist.
   */
  stallTimeoutMs?: number;
  /**
   * Called with every error that ends a LIST or WATCH (client-go `WatchErrorHandler`), after it is
   * logged: API errors, connection errors, and `CacheApplyError` when the sink (the store) could
   * not apply a list or an event. Must return quickly and not throw (a throw is logged).
   */
  onError?: (err: unknown) => void;
  /** Time source for the stall timer, the backoff waits and the short-watch check (default the monotonic real clock). */
  clock?: Clock;
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

/**
 * The sink (the informer's store) could not apply a LIST or a watch event, for example because
 * an index function threw. The reflector then keeps its resourceVersion before that event (it
 * never claims a state its store does not hold), backs off, and relists.
 */
export class CacheApplyError extends Error {
  /** What failed to apply: `list`, `ADDED`, `MODIFIED` or `DELETED`. */
  readonly what: string;

  constructor(reflector: string, what: string, cause: unknown) {
    super(`reflector ${reflector}: could not apply ${what === "list" ? "a LIST" : `a ${what} event`} to the store: ${cause instanceof Error ? cause.message : String(cause)}; relisting after backoff`, { cause });
    this.name = "CacheApplyError";
    this.what = what;
  }
}

/**
 * True for the API server's "Too large resource version" error (504 Timeout with cause
 * `ResourceVersionTooLarge`, or that message from servers before 1.18.6): the server (its watch
 * cache) has not yet seen the requested resourceVersion. Mirrors client-go reflector.go
 * `isTooLargeResourceVersionError`.
 */
export function isTooLargeResourceVersionError(err: unknown): boolean {
  if (!(err instanceof ApiError)) return false;
  const causes = err.status.details?.causes ?? [];
  // metav1.StatusCause's type travels as "reason" on the wire.
  if (causes.some((c) => c.reason === "ResourceVersionTooLarge")) return true;
  if (err.reason !== "Timeout" && err.statusCode !== 504) return false;
  if (causes.some((c) => c.message === "Too large resource version")) return true;
  return (err.status.message ?? "").includes("Too large resource version");
}

const INITIAL_EVENTS_END_ANNOTATION = "k8s.io/initial-events-end";

/**
 * Keeps a sink in step with the API server: LIST (paged) then WATCH from the list's
 * resourceVersion with bookmarks; a watch that ends is resumed from the last resourceVersion
 * seen (event or bookmark). Errors, as client-go `tools/cache/reflector.go` (ListAndWatch,
 * `watch`, `isExpiredError`, `isTooLargeResourceVersionError`, `isWatchErrorRetriable`):
 * - 410 Gone / Expired: relist at once (a second one in a row after backoff); the sink's
 *   `replace` then reports what vanished or changed.
 * - 429, or a connection error (refused, reset, EOF): resume the watch from the same
 *   resourceVersion after backoff.
 * - any other API error, as an ERROR event or a failed WATCH request (e.g. 504 "Too large
 *   resource version", 500): relist after backoff, never re-watch the same resourceVersion.
 *   Every LIST is a consistent read (no resourceVersion), which is what client-go switches to
 *   after "Too large resource version" (`setIsLastSyncResourceVersionUnavailable`).
 * - the sink fails to apply a list or an event (`CacheApplyError`): the resourceVersion stays
 *   before it, relist after backoff.
 * Backoff: 800 ms doubling to 30 s, jitter up to +100 %, reset every 2 min. Watch timeouts are
 * random in 5-10 min; a watch with neither event nor bookmark for `stallTimeoutMs` (2.5 min) is
 * aborted and restarted from the same resourceVersion; a second one in a row that got nothing
 * at all relists (a watch from a resourceVersion the server has not reached waits silently).
 * It never stops on its own: only `signal` ends `run`.
 */
export class Reflector<T extends KubeObject> {
  readonly #lw: ListerWatcher<T>;
  readonly #sink: ReflectorSink<T>;
  readonly #name: string;
  readonly #log: Logger;
  readonly #pageSize: number;
  readonly #backoff: Backoff;
  readonly #minWatchTimeoutSeconds: number;
  readonly #stallTimeoutMs: number;
  readonly #random: () => number;
  readonly #clock: Clock;
  readonly #onError: ((err: unknown) => void) | undefined;
  #applyErrorCount = 0;
  #silentWatchesInARow = 0;
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
    this.#clock = opts.clock ?? realClock;
    this.#backoff = opts.backoff ?? new Backoff({ now: () => this.#clock.now() });
    this.#minWatchTimeoutSeconds = opts.minWatchTimeoutSeconds ?? 300;
    this.#stallTimeoutMs = opts.stallTimeoutMs ?? 150_000;
    this.#onError = opts.onError;
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

  /** How many lists and events the sink failed to apply (each one led to a relist). */
  get applyErrorCount(): number {
    return this.#applyErrorCount;
  }

  /** Lists and watches until `signal` aborts; resolves then. Never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    let goneInARow = 0;
    while (!signal.aborted) {
      try {
        if (this.#needList) {
          this.#silentWatchesInARow = 0;
          if (this.#useWatchList) await this.#watchList(signal);
          else await this.#list(signal);
          this.#needList = false;
          if (signal.aborted) break;
        }
        const cleanEnd = await this.#watch(signal);
        if (cleanEnd) goneInARow = 0;
        if (!cleanEnd && !signal.aborted) await this.#sleep(this.#backoff.nextDelayMs(), signal);
      } catch (err) {
        if (signal.aborted) break;
        try {
          await this.#recover(err, ++goneInARow, signal);
        } catch (bug) {
          // Only a throwing logger could get here; never let run() reject.
          if (!signal.aborted) await this.#sleep(this.#backoff.nextDelayMs(), signal);
          void bug;
        }
        if (!isGone(err)) goneInARow = 0;
      }
    }
  }

  /** Decides, for an error that ended a list or watch, whether to relist, and waits as client-go would. */
  async #recover(err: unknown, goneInARow: number, signal: AbortSignal): Promise<void> {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof CacheApplyError) {
      this.#applyErrorCount++;
      this.#needList = true;
    }
    if (this.#onError) {
      try {
        this.#onError(err);
      } catch (handlerErr) {
        this.#log.error({ err: handlerErr instanceof Error ? handlerErr.message : String(handlerErr) }, "onError handler threw");
      }
    }
    if (isGone(err)) {
      // 410: our resourceVersion is compacted away. Relist at once (a failing LIST backs off).
      this.#log.info({ resourceVersion: this.#lastSyncResourceVersion, err: message }, "resourceVersion too old, relisting");
      this.#needList = true;
      // A second 410 without progress in between (an expiring continue token, a server
      // that keeps answering 410) backs off instead of spinning.
      if (goneInARow > 1) await this.#sleep(this.#backoff.nextDelayMs(), signal);
      return;
    }
    if (err instanceof ApiError && !isTooManyRequests(err)) {
      // Any other API error (an ERROR event, or a WATCH/LIST refused): client-go's watch()
      // returns and ListAndWatch relists after backoff. For "Too large resource version" the
      // relist is a consistent read, as every LIST here is.
      this.#needList = true;
    } else if (err instanceof WatchProtocolError) {
      this.#needList = true;
    }
    const delayMs = this.#backoff.nextDelayMs();
    const fields = { err: message, retryInMs: delayMs, relist: this.#needList, resourceVersion: this.#lastSyncResourceVersion };
    if (err instanceof CacheApplyError) this.#log.error(fields, `store of ${this.#name} could not apply an update; relisting`);
    else if (isTooLargeResourceVersionError(err)) this.#log.warn(fields, `the API server has not reached resourceVersion ${this.#lastSyncResourceVersion} of ${this.#name}; relisting with a consistent read`);
    else this.#log.warn(fields, `list/watch of ${this.#name} failed; retrying`);
    await this.#sleep(delayMs, signal);
  }

  /** Waits `ms` on the reflector's clock, or until `signal` aborts; never rejects. */
  #sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.#clock.clearTimer(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = this.#clock.setTimer(done, ms);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /** Passes a list or an event to the sink. @throws CacheApplyError when the sink throws. */
  #apply(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      throw new CacheApplyError(this.#name, what, err);
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
    this.#apply("list", () => this.#sink.replace(items, resourceVersion));
    this.#listCount++;
    this.#pagesOfLastList = pages;
    this.#lastSyncResourceVersion = resourceVersion;
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
            this.#apply("list", () => this.#sink.replace([...items.values()], rv));
            ended = true;
            this.#listCount++;
            this.#pagesOfLastList = 0;
            this.#lastSyncResourceVersion = rv;
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
      if (err instanceof ApiError && !isGone(err) && !isTooManyRequests(err) && err.statusCode >= 400 && err.statusCode < 500) {
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
   * backs off). @throws ApiError, connection errors, and CacheApplyError (the resourceVersion
   * then stays before the event the sink could not apply).
   */
  async #watch(signal: AbortSignal): Promise<boolean> {
    const started = this.#clock.now();
    let events = 0;
    const outcome = await this.#consumeWatch(signal, { resourceVersion: this.#lastSyncResourceVersion }, (event) => {
      events++;
      switch (event.type) {
        case "ADDED": this.#apply("ADDED", () => this.#sink.added(event.object)); break;
        case "MODIFIED": this.#apply("MODIFIED", () => this.#sink.modified(event.object)); break;
        case "DELETED": this.#apply("DELETED", () => this.#sink.deleted(event.object)); break;
        case "BOOKMARK": break;
      }
      return true;
    });
    if (outcome === "stalled") {
      // Two silent watches in a row from the same resourceVersion: the server is not sending
      // bookmarks for it, most likely because it has not reached that resourceVersion (a watch
      // from the future waits silently on kube-apiserver 1.36). Relist with a consistent read
      // instead of asking for that resourceVersion forever.
      this.#silentWatchesInARow = events === 0 ? this.#silentWatchesInARow + 1 : 1;
      if (this.#silentWatchesInARow >= 2) {
        this.#log.warn({ resourceVersion: this.#lastSyncResourceVersion }, `two watches of ${this.#name} in a row got neither event nor bookmark; relisting with a consistent read`);
        this.#needList = true;
        this.#silentWatchesInARow = 0;
      }
      return false;
    }
    this.#silentWatchesInARow = 0;
    if (events === 0 && this.#clock.now() - started < 1000) {
      this.#log.debug("watch ended at once without events");
      return false;
    }
    return true;
  }

  /**
   * Runs one watch, passing ADDED/MODIFIED/DELETED/BOOKMARK events to `onEvent` after recording
   * their resourceVersion; `onEvent` returns false to stop. Resolves "ended" when the stream ends
   * or `onEvent` stops it, "stalled" when it delivered neither event nor bookmark for
   * `stallTimeoutMs`. The resourceVersion of an event is recorded only after `onEvent` returned.
   */
  async #consumeWatch(
    signal: AbortSignal, extra: Partial<WatchOptions>, onEvent: (event: Exclude<WatchEvent<T>, { type: "ERROR" }>) => boolean,
  ): Promise<"ended" | "stalled"> {
    const timeoutSeconds = Math.floor(this.#minWatchTimeoutSeconds * (1 + this.#random()));
    const stallAfterMs = this.#stallTimeoutMs;
    const clock = this.#clock;
    const watchAbort = new AbortController();
    const onParentAbort = (): void => watchAbort.abort(signal.reason);
    signal.addEventListener("abort", onParentAbort, { once: true });
    let stalled = false;
    const onStall = (): void => {
      stalled = true;
      watchAbort.abort(new Error("watch stalled"));
    };
    let timer = clock.setTimer(onStall, stallAfterMs);
    try {
      const stream = this.#lw.watch({
        allowWatchBookmarks: true, timeoutSeconds, signal: watchAbort.signal,
        resourceVersion: this.#lastSyncResourceVersion, ...extra,
      });
      for await (const event of stream) {
        clock.clearTimer(timer);
        timer = clock.setTimer(onStall, stallAfterMs);
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
      clock.clearTimer(timer);
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
