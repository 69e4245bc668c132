import { ApiError } from "../client/errors.ts";
import type {
  Client, DeleteOptions, ListOptions, ObjectList, Patch, RequestOptions, Status, WatchEvent, WatchOptions, WriteOptions,
} from "../client/types.ts";
import type { KubeObject, ObjectKey, ResourceType } from "../meta/index.ts";
import { InMemoryApi } from "./in-memory-api.ts";

/** The verbs a `FakeClient` records (the Kubernetes verb of each `Client` method). */
export type Verb = "get" | "list" | "watch" | "create" | "update" | "patch" | "delete";

/** One request a `FakeClient` received (client-go `testing.Action`). Objects are copies taken at call time. */
export interface Action {
  verb: Verb;
  type: ResourceType;
  /** Namespace of the object, or of a list/watch (absent: all namespaces or cluster-scoped). */
  namespace?: string;
  /** Name of the object (create: its name or generateName). */
  name?: string;
  /** `status` for updateStatus and status patches. */
  subresource?: string;
  /** The body of create and update. */
  object?: KubeObject;
  patch?: Patch;
  /** The request options without `signal`. */
  options?: Omit<ListOptions & WatchOptions & WriteOptions & DeleteOptions, "signal">;
  /** Set once the request failed (by a reactor or the API): what it threw. */
  error?: unknown;
}

/**
 * What a reactor decides: `undefined` lets the request through to the in-memory API; an `Error`
 * fails it with that error; `{ result }` answers it with `result` and skips the API.
 */
export type Reaction = Error | { result: unknown } | undefined | void;

/** Which actions a reactor sees; absent fields match everything. */
export interface ReactorFilter {
  verb?: Verb;
  /** The resource kind, e.g. `Pod`. */
  kind?: string;
  subresource?: string;
  /** Remove the reactor after the first action it answers (returns an Error or a result). */
  once?: boolean;
}

/** A reactor: sees an action before the in-memory API and may answer it (client-go `testing.ReactionFunc`). */
export type Reactor = (action: Action) => Reaction | Promise<Reaction>;

interface RegisteredReactor {
  filter: ReactorFilter;
  fn: Reactor;
}

/**
 * Builds an `ApiError` as the API server would send it: `apiError(409, "Conflict")`,
 * `apiError(403, "Forbidden", "exceeded quota")`. Handy as a reactor's answer.
 */
export function apiError(code: number, reason?: string, message = reason ?? "fake error", verb = "request"): ApiError {
  const status: Status = { apiVersion: "v1", kind: "Status", status: "Failure", code, message, ...(reason ? { reason } : {}) };
  return new ApiError(code, status, { verb });
}

/**
 * A `Client` for unit tests over an `InMemoryApi` (its own by default; share one between several
 * clients, e.g. two leader-election candidates). Every request is recorded as an `Action`;
 * reactors can fail or answer requests before they reach the API (`prependReactor`), as in
 * client-go's fake clientset, whose `Actions()` and `PrependReactor` these mirror. Requests
 * settle asynchronously, like real ones.
 *
 * ```ts
 * const client = new FakeClient();
 * await client.create(ConfigMaps, { metadata: { name: "a", namespace: "ns" }, data: { k: "v" } });
 * client.prependReactor({ verb: "create", kind: "Pod" }, () => apiError(403, "Forbidden", "exceeded quota"));
 * ```
 */
export class FakeClient implements Client {
  /** The API this client talks to. */
  readonly api: InMemoryApi;
  readonly #actions: Action[] = [];
  readonly #reactors: RegisteredReactor[] = [];

  constructor(api: InMemoryApi = new InMemoryApi()) {
    this.api = api;
  }

  /** Every request so far, oldest first. */
  get actions(): readonly Action[] {
    return this.#actions;
  }

  /** The recorded actions of one verb (and kind). */
  actionsOf(verb: Verb, kind?: string): Action[] {
    return this.#actions.filter((a) => a.verb === verb && (kind === undefined || a.type.kind === kind));
  }

  /** The recorded actions of one verb (and kind) that succeeded. */
  succeeded(verb: Verb, kind?: string): Action[] {
    return this.actionsOf(verb, kind).filter((a) => !("error" in a));
  }

  /** Forgets the recorded actions. */
  clearActions(): void {
    this.#actions.length = 0;
  }

  /**
   * Adds a reactor that sees matching actions before the ones added earlier and before the API.
   * Returns a function that removes it.
   */
  prependReactor(filter: ReactorFilter, fn: Reactor): () => void {
    const entry = { filter, fn };
    this.#reactors.unshift(entry);
    return () => {
      const i = this.#reactors.indexOf(entry);
      if (i >= 0) this.#reactors.splice(i, 1);
    };
  }

  async get<T extends KubeObject>(type: ResourceType<T>, key: ObjectKey, opts?: RequestOptions): Promise<T> {
    return this.#do({ verb: "get", type, ...keyParts(key) }, opts, () => this.api.get(type, key));
  }

  async list<T extends KubeObject>(type: ResourceType<T>, opts: ListOptions = {}): Promise<ObjectList<T>> {
    return this.#do({ verb: "list", type, ...(opts.namespace ? { namespace: opts.namespace } : {}), options: withoutSignal(opts) }, opts, () => this.api.list(type, opts));
  }

  async create<T extends KubeObject>(type: ResourceType<T>, obj: T, opts: WriteOptions = {}): Promise<T> {
    const name = obj.metadata?.name ?? obj.metadata?.generateName;
    return this.#do(
      { verb: "create", type, ...(obj.metadata?.namespace ? { namespace: obj.metadata.namespace } : {}), ...(name ? { name } : {}), object: structuredClone(obj), options: withoutSignal(opts) },
      opts, () => this.api.create(type, obj, opts),
    );
  }

  async update<T extends KubeObject>(type: ResourceType<T>, obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.#do({ verb: "update", type, ...objectKeyParts(obj), object: structuredClone(obj), options: withoutSignal(opts) }, opts, () => this.api.update(type, obj, opts));
  }

  async updateStatus<T extends KubeObject>(type: ResourceType<T>, obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.#do(
      { verb: "update", type, ...objectKeyParts(obj), subresource: "status", object: structuredClone(obj), options: withoutSignal(opts) },
      opts, () => this.api.update(type, obj, { ...opts, subresource: "status" }),
    );
  }

  async patch<T extends KubeObject>(type: ResourceType<T>, key: ObjectKey, patch: Patch, opts: WriteOptions & { subresource?: string } = {}): Promise<T> {
    const { subresource, ...rest } = opts;
    return this.#do(
      { verb: "patch", type, ...keyParts(key), ...(subresource ? { subresource } : {}), patch: structuredClone(patch), options: withoutSignal(rest) },
      opts, () => this.api.patch(type, key, patch, opts),
    );
  }

  async delete<T extends KubeObject>(type: ResourceType<T>, key: ObjectKey, opts: DeleteOptions = {}): Promise<void> {
    await this.#do({ verb: "delete", type, ...keyParts(key), options: withoutSignal(opts) }, opts, () => this.api.delete(type, key, opts));
  }

  watch<T extends KubeObject>(type: ResourceType<T>, opts: WatchOptions = {}): AsyncIterable<WatchEvent<T>> {
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        const action: Action = { verb: "watch", type, ...(opts.namespace ? { namespace: opts.namespace } : {}), options: withoutSignal(opts) };
        self.#actions.push(action);
        const reaction = await self.#react(action);
        if (reaction instanceof Error) throw reaction;
        if (reaction) {
          yield* reaction.result as AsyncIterable<WatchEvent<T>>;
          return;
        }
        yield* self.api.watch(type, opts);
      },
    };
  }

  async #do<R>(action: Action, opts: RequestOptions | undefined, run: () => R): Promise<R> {
    this.#actions.push(action);
    try {
      const reaction = await this.#react(action);
      if (reaction instanceof Error) throw reaction;
      if (reaction) return reaction.result as R;
      if (opts?.signal?.aborted) throw opts.signal.reason ?? new Error("aborted");
      return run();
    } catch (err) {
      action.error = err;
      throw err;
    }
  }

  async #react(action: Action): Promise<Exclude<Reaction, void | undefined> | undefined> {
    for (const entry of [...this.#reactors]) {
      const f = entry.filter;
      if (f.verb !== undefined && f.verb !== action.verb) continue;
      if (f.kind !== undefined && f.kind !== action.type.kind) continue;
      if (f.subresource !== undefined && f.subresource !== action.subresource) continue;
      const reaction = await entry.fn(action);
      if (reaction === undefined || reaction === null) continue;
      if (f.once) {
        const i = this.#reactors.indexOf(entry);
        if (i >= 0) this.#reactors.splice(i, 1);
      }
      return reaction;
    }
    return undefined;
  }
}

function keyParts(key: ObjectKey): { namespace?: string; name: string } {
  return key.namespace ? { namespace: key.namespace, name: key.name } : { name: key.name };
}

function objectKeyParts(obj: KubeObject): { namespace?: string; name?: string } {
  return {
    ...(obj.metadata?.namespace ? { namespace: obj.metadata.namespace } : {}),
    ...(obj.metadata?.name ? { name: obj.metadata.name } : {}),
  };
}

function withoutSignal<O extends RequestOptions>(opts: O): Omit<O, "signal"> {
  const { signal: _, ...rest } = opts;
  return rest;
}
