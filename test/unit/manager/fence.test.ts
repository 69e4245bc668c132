import { test } from "node:test";
import assert from "node:assert/strict";
import type { Client, RequestOptions } from "../../../framework/client/index.ts";
import { fencedClient } from "../../../framework/manager/index.ts";
import { ConfigMaps, type KubeObject, type ObjectKey, type ResourceType } from "../../../framework/meta/index.ts";
import { FakeClient } from "../../../framework/testing/index.ts";

test("a fenced client binds every call to the fence, and refuses every call once it has aborted", async () => {
  const api = new FakeClient();
  const signals: Array<AbortSignal | undefined> = [];
  const get = api.get.bind(api);
  api.get = (<T extends KubeObject>(type: ResourceType<T>, key: ObjectKey, opts?: RequestOptions) => {
    signals.push(opts?.signal);
    return get(type, key);
  }) as FakeClient["get"];
  const fence = new AbortController();
  const client: Client = fencedClient(api, fence.signal);
  await client.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a", namespace: "ns" } });
  const own = new AbortController();
  await client.get(ConfigMaps, { namespace: "ns", name: "a" }, { signal: own.signal });
  await client.get(ConfigMaps, { namespace: "ns", name: "a" });
  assert.equal(signals.length, 2);
  assert.equal(signals[1], fence.signal, "a call without a signal gets the fence");
  assert.notEqual(signals[0], own.signal, "a call with a signal gets one that follows both");
  assert.equal(signals[0]!.aborted, false);
  fence.abort(new Error("lease lost"));
  assert.equal(signals[0]!.aborted, true, "an earlier call's signal aborts with the fence");
  assert.equal(signals[0]!.reason.message, "lease lost");

  let reached = 0;
  api.create = (async () => {
    reached++;
    throw new Error("must not be called");
  }) as FakeClient["create"];
  await assert.rejects(client.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "b", namespace: "ns" } }), /lease lost/);
  await assert.rejects(client.list(ConfigMaps), /lease lost/);
  await assert.rejects(async () => {
    for await (const _ of client.watch(ConfigMaps, {})) assert.fail("no event after the fence");
  }, /lease lost/);
  assert.equal(reached, 0, "nothing reached the API after the fence");
});
