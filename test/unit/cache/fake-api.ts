// The vocabulary the informer tests speak (create/update/remove a Thing by name, the LIST and
// WATCH calls made, a LIST that fails once), mapped onto the public FakeClient and InMemoryApi
// from framework/testing, which hold the objects, the resourceVersions, the watch history,
// compaction (410), bookmarks and WatchList. Nothing here models the API server itself.
import { resourceType, type KubeObject } from "../../../framework/meta/index.ts";
import type { ListOptions, ObjectList, Status, WatchEvent, WatchOptions } from "../../../framework/client/index.ts";
import { ApiError } from "../../../framework/client/index.ts";
import { listerWatcherFor, type ListerWatcher } from "../../../framework/cache/index.ts";
import { FakeClient, InMemoryApi } from "../../../framework/testing/index.ts";

export interface TestObject extends KubeObject {
  spec?: { value?: number };
}

/** The test resource type: namespaced `things.test/v1`. */
export const Things = resourceType<TestObject>({ group: "test", version: "v1", kind: "Thing", plural: "things", namespaced: true });

export class FakeApi implements ListerWatcher<TestObject> {
  readonly server = new InMemoryApi();
  readonly client = new FakeClient(this.server);
  readonly #things = this.server.objects(Things);
  readonly #lw = listerWatcherFor(this.client, Things);

  /** The current resourceVersion; setting it moves the server on without a write here. */
  get rv(): number {
    return this.server.resourceVersion;
  }

  set rv(rv: number) {
    this.server.resourceVersion = rv;
  }

  /** The stored objects by `namespace/name`. */
  get objects(): Map<string, TestObject> {
    return new Map(this.#things.list().map((o) => [keyOf(o), o]));
  }

  get listCalls(): ListOptions[] {
    return this.client.actionsOf("list").map((a) => a.options ?? {});
  }

  get watchCalls(): WatchOptions[] {
    return this.client.actionsOf("watch").map((a) => a.options ?? {});
  }

  /** The next LIST fails with this error. */
  set failNextList(err: Error | undefined) {
    if (err) this.client.prependReactor({ verb: "list", once: true }, () => err);
  }

  /** The next WATCH yields this Status as an ERROR event and ends. */
  set errorNextWatch(status: Status | undefined) {
    if (!status) return;
    const events = async function* (): AsyncGenerator<WatchEvent<TestObject>> {
      yield { type: "ERROR", object: status };
    };
    this.client.prependReactor({ verb: "watch", once: true }, () => ({ result: events() }));
  }

  get servesWatchList(): boolean {
    return this.server.servesWatchList;
  }

  set servesWatchList(on: boolean) {
    this.server.servesWatchList = on;
  }

  /** Every watch from a resourceVersion below this gets 410 Gone. */
  set compactedRv(rv: number) {
    this.server.compact(rv);
  }

  create(name: string, value = 0, extra: Partial<NonNullable<TestObject["metadata"]>> = {}, namespace = "ns"): TestObject {
    return this.#things.add({ apiVersion: "test/v1", kind: "Thing", metadata: { name, namespace, uid: `uid-${name}`, ...extra }, spec: { value } }) as TestObject;
  }

  update(name: string, value: number, namespace = "ns"): TestObject {
    const old = this.#things.get(`${namespace}/${name}`);
    if (!old) throw new Error(`no ${name}`);
    return this.#things.add({ ...old, spec: { value } }) as TestObject;
  }

  remove(name: string, namespace = "ns"): void {
    if (!this.#things.remove(`${namespace}/${name}`)) throw new Error(`no ${name}`);
  }

  compact(): void {
    this.server.compact();
  }

  bookmark(): void {
    this.server.bookmark();
  }

  endWatches(): void {
    this.server.endWatches();
  }

  breakWatches(message = "ECONNRESET"): void {
    this.server.breakWatches(message);
  }

  get openWatches(): number {
    return this.server.openWatches;
  }

  list(opts: ListOptions): Promise<ObjectList<TestObject>> {
    return this.#lw.list(opts);
  }

  watch(opts: WatchOptions): AsyncIterable<WatchEvent<TestObject>> {
    return this.#lw.watch(opts);
  }
}

export function keyOf(obj: KubeObject): string {
  return `${obj.metadata?.namespace}/${obj.metadata?.name}`;
}

export { ApiError };
export { until } from "../support/until.ts";
