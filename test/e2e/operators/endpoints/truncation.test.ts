/**
 * 1001 pods behind one Service (upstream integration `TestEndpointTruncate`): the Endpoints
 * keep 1000 addresses and get `endpoints.kubernetes.io/over-capacity: truncated`, the
 * EndpointSlices hold all 1001 in slices of at most 100; ours equal kube-controller-manager's.
 * Then pods go not ready and some go away: the not-ready share is truncated proportionally,
 * and below capacity the annotation goes.
 */
import { test } from "node:test";
import { randomBytes } from "node:crypto";
import { Pods, Services } from "../../../../framework/meta/index.ts";
import { BuiltinEndpointSlices, KubeloopEndpointSlices } from "../../../../operators/endpoints/index.ts";
import {
  assert, createPod, expectSame, service, setPodStatus, useEndpointsSuite,
} from "./harness.ts";

const nodeName = `ep-trunc-${randomBytes(3).toString("hex")}`;
const suite = useEndpointsSuite({ namespacePrefix: "ep-trunc", nodes: [[nodeName, "zone-a"]] });

/** Runs `fn` over `items` with at most `limit` at a time. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

test("1001 pods: Endpoints truncated to 1000 with the annotation, slices of 100 hold all", { timeout: 600_000 }, async () => {
  const c = suite.client;
  await c.create(Services, service(suite.ns, "big", { app: "big" }));
  const idx = Array.from({ length: 1001 }, (_, i) => i);
  await pool(idx, 16, (i) => createPod(c, suite.ns, { name: `big-${i}`, labels: { app: "big" }, node: nodeName, ips: [`10.252.${i >> 8}.${i & 255}`], ready: true }));
  await expectSame(c, suite.ns, ["big"], (_n, b) => {
    assert.equal(b.endpoints!.overCapacity, "truncated");
    assert.equal(b.slices.length, 1001);
  }, 180_000);
  const sizes = async (type: typeof BuiltinEndpointSlices | typeof KubeloopEndpointSlices) => {
    const items = (await c.list(type as typeof BuiltinEndpointSlices, { namespace: suite.ns, labelSelector: "kubernetes.io/service-name=big" })).items as Array<{ endpoints?: unknown[]; spec?: { endpoints?: unknown[] } }>;
    return items.map((s) => (s.endpoints ?? s.spec?.endpoints ?? []).length).sort((a, b) => a - b);
  };
  const builtinSizes = (await sizes(BuiltinEndpointSlices)).filter((n) => n > 0);
  assert.ok(builtinSizes.every((n) => n <= 100));
  assert.ok((await sizes(KubeloopEndpointSlices)).every((n) => n <= 100));
  assert.equal((await sizes(KubeloopEndpointSlices)).length, 11);
  // 200 pods not ready: 1000 slots, 801 ready + 199 of the 200 not ready.
  await pool(idx.slice(0, 200), 16, (i) => setPodStatus(c, suite.ns, `big-${i}`, { ready: false }));
  await expectSame(c, suite.ns, ["big"], (_n, b) => assert.ok(b.endpoints!.subsets.includes("notReadyAddresses")), 180_000);
  // Below capacity: the annotation goes.
  await pool(idx.slice(990), 8, async (i) => { await c.delete(Pods, { namespace: suite.ns, name: `big-${i}` }, { gracePeriodSeconds: 0 }); });
  await expectSame(c, suite.ns, ["big"], (_n, b) => assert.equal(b.endpoints!.overCapacity, null), 180_000);
});
