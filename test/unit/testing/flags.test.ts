import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  clusterPaths,
  defaultSettings,
  etcdArgs,
  healthUrl,
  kubeApiserverArgs,
  kubeControllerManagerArgs,
  kubeSchedulerArgs,
  kwokArgs,
  processNames,
  type ControlPlanePorts,
} from "../../../framework/testing/flags.ts";

const ports: ControlPlanePorts = {
  etcdClient: 20001,
  etcdPeer: 20002,
  kubeApiserver: 20003,
  kubeControllerManager: 20004,
  kubeScheduler: 20005,
  kwok: 20006,
};
const paths = clusterPaths("/tmp/cluster");

function flag(args: string[], name: string): string | undefined {
  const prefix = `--${name}=`;
  return args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

describe("control plane flags", () => {
  it("binds every listener to 127.0.0.1 only", () => {
    const all = [
      ...etcdArgs(paths, ports),
      ...kubeApiserverArgs(paths, ports, defaultSettings),
      ...kubeControllerManagerArgs(paths, ports, defaultSettings),
      ...kubeSchedulerArgs(paths, ports),
      ...kwokArgs(paths, ports, []),
    ];
    assert.ok(!all.some((a) => a.includes("0.0.0.0")), "no flag may mention 0.0.0.0");
    for (const name of processNames) assert.match(healthUrl(name, ports), /^https?:\/\/127\.0\.0\.1:\d+\//);
    assert.equal(flag(kubeSchedulerArgs(paths, ports), "bind-address"), "127.0.0.1");
    assert.equal(flag(kubeControllerManagerArgs(paths, ports, defaultSettings), "bind-address"), "127.0.0.1");
    assert.equal(flag(kwokArgs(paths, ports, []), "server-address"), "127.0.0.1:20006");
  });

  it("runs etcd as one member without fsync on its own ports", () => {
    const args = etcdArgs(paths, ports);
    assert.ok(args.includes("--unsafe-no-fsync"));
    assert.equal(flag(args, "listen-client-urls"), "http://127.0.0.1:20001");
    assert.equal(flag(args, "listen-peer-urls"), "http://127.0.0.1:20002");
    assert.equal(flag(args, "data-dir"), "/tmp/cluster/etcd");
  });

  it("gives kube-apiserver RBAC, token auth, service account keys and no endpoint reconciler", () => {
    const args = kubeApiserverArgs(paths, ports, { ...defaultSettings, etcdCompactionIntervalSeconds: 30 });
    assert.equal(flag(args, "etcd-servers"), "http://127.0.0.1:20001");
    assert.equal(flag(args, "secure-port"), "20003");
    assert.equal(flag(args, "advertise-address"), "127.0.0.1");
    assert.equal(flag(args, "authorization-mode"), "RBAC");
    assert.equal(flag(args, "endpoint-reconciler-type"), "none");
    assert.equal(flag(args, "etcd-compaction-interval"), "30s");
    assert.equal(flag(args, "token-auth-file"), paths.tokenAuthFile);
    assert.equal(flag(args, "service-account-signing-key-file"), paths.serviceAccountKey);
    assert.equal(flag(args, "service-account-key-file"), paths.serviceAccountPublicKey);
  });

  it("passes client limits and the controller list to kube-controller-manager, upstream defaults 20/30", () => {
    assert.equal(defaultSettings.kubeApiQps, 20);
    assert.equal(defaultSettings.kubeApiBurst, 30);
    const args = kubeControllerManagerArgs(paths, ports, { ...defaultSettings, kubeApiQps: 100, kubeApiBurst: 200, controllers: "*,-replicaset-controller" });
    assert.equal(flag(args, "kube-api-qps"), "100");
    assert.equal(flag(args, "kube-api-burst"), "200");
    assert.equal(flag(args, "controllers"), "*,-replicaset-controller");
    assert.equal(flag(args, "leader-elect"), "false");
    assert.equal(flag(args, "service-account-private-key-file"), paths.serviceAccountKey);
  });

  it("has kwok manage only annotated nodes, with one --config per Stage file", () => {
    const args = kwokArgs(paths, ports, ["/a.yaml", "/b.yaml"]);
    assert.equal(flag(args, "manage-nodes-with-annotation-selector"), "kwok.x-k8s.io/node=fake");
    assert.ok(!args.some((a) => a.startsWith("--manage-all-nodes")));
    assert.deepEqual(args.filter((a) => a.startsWith("--config=")), ["--config=/a.yaml", "--config=/b.yaml"]);
  });
});
