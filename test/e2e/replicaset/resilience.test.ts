/**
 * The ReplicaSet operator across a kube-apiserver restart: its watches break, the restarted API
 * server's watch cache starts afresh (a resume from an old resourceVersion may be answered with
 * 410 Gone and relist), and changes made right after the restart are still acted on, with no
 * duplicate pod and no lost event. Needs the local control plane (`KUBELOOP_CLUSTER_DIR`, set by
 * `test/run.ts`); on a cluster that is not ours (`KUBECONFIG` only) it is skipped, saying so.
 */
import { before, test } from "node:test";
import { Pods } from "../../../framework/meta/index.ts";
import { testControlPlane, type ControlPlane } from "../../../framework/testing/index.ts";
import { ReplicaSets } from "../../../operators/replicaset/api.ts";
import {
  assert, eventually, getPods, newRS, updateRS, useOperatorSuite, waitOperatorSeesPods, waitRSStable,
} from "./harness.ts";

const cluster = useOperatorSuite();
let plane: ControlPlane;
let ns: string | undefined;

before(async () => {
  plane = await testControlPlane();
});

/** Exactly `count` active pods of the ReplicaSet, every one controlled by it. */
async function expectPods(count: number): Promise<void> {
  const pods = (await getPods(cluster.client, ns!)).filter((p) => !p.metadata?.deletionTimestamp);
  assert.equal(pods.length, count, `want ${count} pods, have ${pods.map((p) => p.metadata?.name).join(", ")}`);
}

test("after a kube-apiserver restart the operator scales and heals without a duplicate pod", { timeout: 300_000 }, async (t) => {
  if (!plane.local) {
    t.skip("the cluster is not the local control plane (KUBECONFIG only), so kube-apiserver cannot be restarted");
    return;
  }
  ns = await cluster.namespace("rs-apiserver-restart");
  const op = await cluster.operator(ns);
  await cluster.client.create(ReplicaSets, newRS("survivor", ns, 3));
  await waitRSStable(cluster.client, ns, "survivor");
  await expectPods(3);

  await plane.restart("kube-apiserver");

  // Right after the restart, while the operator's watches reconnect (or relist).
  await updateRS(cluster.client, ns, "survivor", (rs) => { rs.spec.replicas = 5; });
  await eventually("5 pods after scaling up across the restart", () => expectPods(5));
  // Delete only a pod the operator has seen, as upstream's tests do (waitToObservePods): a pod
  // created and deleted while the pod watch is still reconnecting never reaches the cache (the
  // relist no longer holds it), so its creation expectation holds syncs back until it expires
  // after 5 minutes, in kube-controller-manager as here.
  await waitOperatorSeesPods(op, ns, 5);
  const victim = (await getPods(cluster.client, ns))[0]!;
  await cluster.client.delete(Pods, { namespace: ns, name: victim.metadata!.name! }, { gracePeriodSeconds: 0 });
  await eventually("the deleted pod replaced", async () => {
    const pods = await getPods(cluster.client, ns!);
    assert.ok(!pods.some((p) => p.metadata?.uid === victim.metadata?.uid), "the deleted pod is gone");
    await expectPods(5);
  });
  const rs = await waitRSStable(cluster.client, ns, "survivor");
  assert.equal(rs.status?.replicas, 5);

  // Settled: no late duplicate from a replayed or missed event.
  await new Promise((r) => setTimeout(r, 3_000));
  await expectPods(5);
  const cached = op.cache.informerFor(Pods).store.list(ns).filter((p) => !p.metadata?.deletionTimestamp);
  assert.equal(cached.length, 5, "the operator's cache agrees with the API server");
});
