import assert from "node:assert/strict";
import { test } from "node:test";
import {
  clusterPaths, defaultSettings, GANG_SCHEDULING_FEATURE_GATES, kubeApiserverArgs, kubeControllerManagerArgs, kubeSchedulerArgs, type ControlPlanePorts,
} from "../../../framework/testing/flags.ts";

const ports: ControlPlanePorts = { etcdClient: 1, etcdPeer: 2, kubeApiserver: 3, kubeControllerManager: 4, kubeScheduler: 5, kwok: 6 };
const paths = clusterPaths("/tmp/cluster");

test("the native gang API is off by default and on for all three components with gangScheduling", () => {
  const off = [...kubeApiserverArgs(paths, ports, defaultSettings), ...kubeControllerManagerArgs(paths, ports, defaultSettings), ...kubeSchedulerArgs(paths, ports)];
  assert.ok(!off.some((a) => a.startsWith("--feature-gates") || a.startsWith("--runtime-config")));
  const on = { ...defaultSettings, gangScheduling: true };
  const apiserver = kubeApiserverArgs(paths, ports, on);
  assert.ok(apiserver.includes("--runtime-config=scheduling.k8s.io/v1alpha2=true"));
  assert.equal(GANG_SCHEDULING_FEATURE_GATES, "GenericWorkload=true,GangScheduling=true");
  for (const args of [apiserver, kubeControllerManagerArgs(paths, ports, on), kubeSchedulerArgs(paths, ports, on)]) {
    assert.ok(args.includes("--feature-gates=GenericWorkload=true,GangScheduling=true"), args.join(" "));
  }
  assert.ok(!kubeSchedulerArgs(paths, ports, on).some((a) => a.startsWith("--runtime-config")));
});
