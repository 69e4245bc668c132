import { test } from "node:test";
import assert from "node:assert/strict";
import { Store, type EventHandler, type Informer } from "../../../../framework/cache/index.ts";
import type { Pod } from "../../../../framework/meta/index.ts";
import { unscheduledMemberSource } from "../../../../operators/gang-scheduling/member-events.ts";
import { pod } from "./fixtures.ts";

function fakeInformer(): Informer<Pod> & { handlers: EventHandler<Pod>[] } {
  const handlers: EventHandler<Pod>[] = [];
  return {
    handlers,
    store: new Store<Pod>(),
    addEventHandler(h) { handlers.push(h); return { remove() {}, hasSynced: () => true }; },
    addIndex() {},
    hasSynced: () => true,
    waitForSync: async () => {},
  };
}

test("UnscheduledPod events: adds of unbound group members, and updates that change an unbound pod's group; nothing else", () => {
  const inf = fakeInformer();
  const seen: string[] = [];
  unscheduledMemberSource(inf).addEventHandler({
    onAdd: (p) => seen.push(`add ${p.metadata?.name}`),
    onUpdate: (_o, n) => seen.push(`update ${n.metadata?.name}`),
    onDelete: (p) => seen.push(`delete ${p.metadata?.name}`),
  });
  const h = inf.handlers[0]!;
  h.onAdd!(pod("member", { group: "g" }), false);
  h.onAdd!(pod("native", { native: "n" }), false);
  h.onAdd!(pod("solo"), false);
  h.onAdd!(pod("bound", { group: "g", nodeName: "n1" }), false);
  h.onUpdate!(pod("solo"), pod("solo", { group: "g" }));
  h.onUpdate!(pod("member", { group: "g" }), pod("member", { group: "g", phase: "Running" }));
  assert.equal(h.onDelete, undefined, "deletes are not UnscheduledPod events");
  assert.deepEqual(seen, ["add member", "add native", "update solo"]);
});
