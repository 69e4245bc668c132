/**
 * What read-only cached objects cost, for 5000 pods: freezing at ingest (what InformerCache
 * does) against copying on every read (what controller-runtime's cache reader does), in time per
 * object stored, per get and per list, and in heap.
 *
 *   ./node_modules/.bin/node --expose-gc test/bench/reader.ts [pods=5000]
 */
import { performance } from "node:perf_hooks";
import { Store, getFromStore, listFromStore } from "../../framework/cache/index.ts";
import { deepFreeze, Pods, type Pod } from "../../framework/meta/index.ts";

const N = Number(process.argv[2] ?? 5000);
const NAMESPACES = 10;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc");

/** A pod as a ReplicaSet creates it and kwok runs it (managedFields stripped, as the cache does). */
function makePod(i: number): Pod {
  const ns = `ns-${i % NAMESPACES}`;
  const name = `web-${i.toString(36)}-${(i * 7919).toString(36)}`;
  const t = "2026-01-01T00:00:00Z";
  return {
    apiVersion: "v1", kind: "Pod",
    metadata: {
      name, namespace: ns, uid: `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`, resourceVersion: String(1000 + i),
      generateName: "web-", creationTimestamp: t, labels: { app: i % 3 ? "web" : "db", "pod-template-hash": "5d8c9f7b6" },
      ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-5d8c9f7b6", uid: "rs-uid", controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      nodeName: `node-${i % 3}`, restartPolicy: "Always", schedulerName: "default-scheduler", serviceAccountName: "default", terminationGracePeriodSeconds: 30,
      dnsPolicy: "ClusterFirst", enableServiceLinks: true, preemptionPolicy: "PreemptLowerPriority", priority: 0,
      containers: [{
        name: "web", image: "registry.k8s.io/nginx:1.27", imagePullPolicy: "IfNotPresent", ports: [{ containerPort: 80, protocol: "TCP" }],
        resources: { requests: { cpu: "100m", memory: "64Mi" } }, terminationMessagePath: "/dev/termination-log", terminationMessagePolicy: "File",
        volumeMounts: [{ name: "kube-api-access", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true }],
      }],
      volumes: [{ name: "kube-api-access", projected: { defaultMode: 420, sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: "token" } }, { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } }] } }],
      tolerations: [
        { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
        { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
      ],
    },
    status: {
      phase: "Running", hostIP: "10.0.0.1", podIP: `10.244.${i % 250}.${i % 251}`, startTime: t, qosClass: "Burstable",
      conditions: ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"].map((type) => ({ type, status: "True", lastProbeTime: null, lastTransitionTime: t })) as never,
      containerStatuses: [{ name: "web", image: "registry.k8s.io/nginx:1.27", imageID: "", containerID: `containerd://${i}`, ready: true, started: true, restartCount: 0, state: { running: { startedAt: t } } }],
    },
  };
}

function heapAfterGc(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

function timeIt(fn: () => void, rounds: number): number {
  fn(); // warm up
  const start = performance.now();
  for (let i = 0; i < rounds; i++) fn();
  return (performance.now() - start) / rounds;
}

function fill(freeze: boolean): { store: Store<Pod>; ingestMsPerPod: number; heapBytes: number } {
  const before = heapAfterGc();
  const raw = Array.from({ length: N }, (_, i) => makePod(i));
  const store = new Store<Pod>();
  const start = performance.now();
  for (const pod of raw) store.upsert(freeze ? (deepFreeze(pod) as Pod) : pod);
  const ingestMsPerPod = (performance.now() - start) / N;
  raw.length = 0; // the store holds them now
  return { store, ingestMsPerPod, heapBytes: heapAfterGc() - before };
}

const us = (ms: number): string => `${(ms * 1000).toFixed(2)} µs`;

const frozen = fill(true);
const plain = fill(false);
const keys = frozen.store.keys();
let k = 0;
const nextKey = (): { namespace: string; name: string } => {
  const [namespace, name] = keys[k++ % keys.length]!.split("/") as [string, string];
  return { namespace, name };
};

const rows: Array<[string, string, string]> = [];
rows.push(["store a pod (upsert; frozen: deepFreeze first)", us(frozen.ingestMsPerPod), us(plain.ingestMsPerPod)]);
rows.push([`heap for ${N} pods`, `${(frozen.heapBytes / 1024 / 1024).toFixed(1)} MiB`, `${(plain.heapBytes / 1024 / 1024).toFixed(1)} MiB`]);
rows.push(["get (frozen: shared object; copy: structuredClone)",
  us(timeIt(() => void getFromStore(frozen.store, Pods, nextKey()), 20_000)),
  us(timeIt(() => void structuredClone(getFromStore(plain.store, Pods, nextKey())), 20_000))]);
rows.push([`list one namespace (${N / NAMESPACES} pods)`,
  us(timeIt(() => void listFromStore(frozen.store, Pods, { namespace: "ns-3" }), 200)),
  us(timeIt(() => void listFromStore(plain.store, Pods, { namespace: "ns-3" }).map((p) => structuredClone(p)), 50))]);
rows.push([`list one namespace, app=web (${Math.round((N / NAMESPACES) * 2 / 3)} pods)`,
  us(timeIt(() => void listFromStore(frozen.store, Pods, { namespace: "ns-3", labelSelector: "app=web" }), 200)),
  us(timeIt(() => void listFromStore(plain.store, Pods, { namespace: "ns-3", labelSelector: "app=web" }).map((p) => structuredClone(p)), 50))]);
rows.push([`list all (${N} pods)`,
  us(timeIt(() => void listFromStore(frozen.store, Pods), 50)),
  us(timeIt(() => void listFromStore(plain.store, Pods).map((p) => structuredClone(p)), 5))]);

console.log(`node ${process.version}, ${N} pods in ${NAMESPACES} namespaces`);
console.log("| | frozen at ingest (ours) | copied on read |");
console.log("| --- | --- | --- |");
for (const [what, a, b] of rows) console.log(`| ${what} | ${a} | ${b} |`);
