/**
 * A seeded randomized run of competing gangs (issue 6 §4): 50 kubeloop PodGroups of 2..6 pods of
 * 1..3 CPUs each, created interleaved in a seeded order on a pool of 4 kwok nodes x 8 CPUs (room
 * for a few gangs at a time). Observed every 250 ms: no group is ever partially bound (0 < bound <
 * minMember). Whenever the placements stop changing, the bound gangs "finish" (their pods are
 * deleted), which frees room; every gang must eventually be bound: zero deadlocks. The run is
 * `runCompetingGangs` of the scheduling benchmark, which measures the same sequence against
 * kube-scheduler.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { runCompetingGangs } from "../../../bench/scheduling-gangs.ts";
import { useGangSuite } from "./harness.ts";

const SEED = 20261203;
const GANGS = 50;

const suite = useGangSuite({ namespacePrefix: "gang-random", controllerName: "podgroup-random-e2e", nodePrefix: "gang-rand" });

test(`${GANGS} seeded competing gangs: never a partial group, every gang eventually bound (seed ${SEED})`, { timeout: 480_000 }, async () => {
  const say = (line: string) => process.stderr.write(`[randomized] ${line.trim()}\n`);
  const result = await runCompetingGangs(suite.client, suite.kubeconfigPath, {
    side: "kubeloop", api: "kubeloop", schedulerName: "kubeloop-scheduler", namespace: suite.ns, poolId: `gang-rand-${randomBytes(3).toString("hex")}`,
    seed: SEED, count: GANGS, deadlineMs: 420_000, say,
  });
  suite.nodes.push(...result.nodes);
  assert.equal(result.partialGroups, 0, "a PodGroup stayed partially bound");
  assert.equal(result.deadlocked, 0, "gangs never bound (deadlock)");
  assert.equal(result.bound, GANGS);
  say(`${GANGS} gangs bound, 0 partial, ${result.transientObservations} observations between the binds of one group, ${result.seconds.toFixed(1)} s`);
});
