import { join } from "node:path";

/** The long-running processes of a local control plane, in start order. */
export type ProcessName = "etcd" | "kube-apiserver" | "kube-controller-manager" | "kube-scheduler" | "kwok";

/** Start order; stop goes the other way. */
export const processNames: readonly ProcessName[] = [
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kwok",
];

/** Loopback ports, one per listener. All bound on 127.0.0.1 only. */
export interface ControlPlanePorts {
  etcdClient: number;
  etcdPeer: number;
  kubeApiserver: number;
  kubeControllerManager: number;
  kubeScheduler: number;
  kwok: number;
}

/** Tunables of a local control plane; every field has the upstream default unless stated. */
export interface ControlPlaneSettings {
  /** kube-controller-manager `--kube-api-qps` (upstream default 20). */
  kubeApiQps: number;
  /** kube-controller-manager `--kube-api-burst` (upstream default 30). */
  kubeApiBurst: number;
  /** kube-scheduler client QPS toward the API server (upstream default 50). */
  schedulerApiQps: number;
  /** kube-scheduler client burst (upstream default 100). */
  schedulerApiBurst: number;
  /** kube-controller-manager `--controllers` (upstream default `*`: all default controllers). */
  controllers: string;
  /**
   * kube-apiserver `--etcd-compaction-interval` in seconds (upstream 300). Default here 60, so
   * tests can provoke `410 Gone` on an old resourceVersion within minutes.
   */
  etcdCompactionIntervalSeconds: number;
  /**
   * Serve the native gang-scheduling API: kube-apiserver gets
   * `--runtime-config=scheduling.k8s.io/v1alpha2=true`, and kube-apiserver, kube-scheduler and
   * kube-controller-manager get `--feature-gates=GenericWorkload=true,GangScheduling=true`
   * (alpha in v1.36, off upstream). Default false. Optional so older `state.json` files still read.
   */
  gangScheduling?: boolean;
}

/** The feature gates `gangScheduling` turns on in every component (GangScheduling depends on GenericWorkload). */
export const GANG_SCHEDULING_FEATURE_GATES = "GenericWorkload=true,GangScheduling=true";

/** The kube-apiserver `--runtime-config` that serves `scheduling.k8s.io/v1alpha2` (Workload, PodGroup). */
export const GANG_SCHEDULING_RUNTIME_CONFIG = "scheduling.k8s.io/v1alpha2=true";

function gangArgs(settings: ControlPlaneSettings, apiserver: boolean): string[] {
  if (!settings.gangScheduling) return [];
  return [...(apiserver ? [`--runtime-config=${GANG_SCHEDULING_RUNTIME_CONFIG}`] : []), `--feature-gates=${GANG_SCHEDULING_FEATURE_GATES}`];
}

/** Upstream defaults, except the shorter etcd compaction interval. */
export const defaultSettings: ControlPlaneSettings = {
  kubeApiQps: 20,
  kubeApiBurst: 30,
  schedulerApiQps: 50,
  schedulerApiBurst: 100,
  controllers: "*",
  etcdCompactionIntervalSeconds: 60,
  gangScheduling: false,
};

/** Files in the cluster directory that the flags refer to. */
export interface ClusterPaths {
  dir: string;
  etcdData: string;
  logs: string;
  pki: string;
  tokenAuthFile: string;
  serviceAccountKey: string;
  serviceAccountPublicKey: string;
  /** kube-apiserver writes its self-signed serving cert (cert + its CA) here as apiserver.crt. */
  apiserverCertDir: string;
  apiserverCert: string;
  adminKubeconfig: string;
  componentKubeconfig: (name: "kube-controller-manager" | "kube-scheduler" | "kwok") => string;
  componentCertDir: (name: "kube-controller-manager" | "kube-scheduler") => string;
  stagesDir: string;
  stateFile: string;
  /** kube-apiserver's audit policy (`auditPolicyContent`). */
  auditPolicy: string;
  /** kube-apiserver's audit log: JSON lines, one `audit.k8s.io/v1` Event each. */
  auditLog: string;
}

/** The layout of a cluster directory. */
export function clusterPaths(dir: string): ClusterPaths {
  const pki = join(dir, "pki");
  return {
    dir,
    etcdData: join(dir, "etcd"),
    logs: join(dir, "logs"),
    pki,
    tokenAuthFile: join(pki, "tokens.csv"),
    serviceAccountKey: join(pki, "service-account.key"),
    serviceAccountPublicKey: join(pki, "service-account.pub"),
    apiserverCertDir: join(pki, "kube-apiserver"),
    apiserverCert: join(pki, "kube-apiserver", "apiserver.crt"),
    adminKubeconfig: join(dir, "kubeconfig"),
    componentKubeconfig: (name) => join(dir, "kubeconfigs", `${name}.kubeconfig`),
    componentCertDir: (name) => join(pki, name),
    stagesDir: join(dir, "kwok-stages"),
    stateFile: join(dir, "state.json"),
    auditPolicy: join(dir, "audit-policy.yaml"),
    auditLog: join(dir, "logs", "audit.log"),
  };
}

/**
 * The namespace whose service accounts the local control plane audits: requests made by them
 * (directly, or by them impersonating another user) are logged at the Metadata level, nothing
 * else is, so the log stays small. Tests that check RBAC rules against the requests an operator
 * really made run their clients as a service account of this namespace.
 */
export const AUDITED_NAMESPACE = "kubeloop-rbac-audit";

/** The audit policy of the local control plane: Metadata for `AUDITED_NAMESPACE`'s service accounts, None for the rest. */
export function auditPolicyContent(): string {
  return [
    "apiVersion: audit.k8s.io/v1",
    "kind: Policy",
    "omitStages: [RequestReceived]",
    "rules:",
    "  - level: Metadata",
    `    userGroups: ["system:serviceaccounts:${AUDITED_NAMESPACE}"]`,
    "  - level: None",
    "",
  ].join("\n");
}

/** Health endpoint each process answers when ready (all on 127.0.0.1). */
export function healthUrl(name: ProcessName, ports: ControlPlanePorts): string {
  switch (name) {
    case "etcd":
      return `http://127.0.0.1:${ports.etcdClient}/readyz`;
    case "kube-apiserver":
      return `https://127.0.0.1:${ports.kubeApiserver}/readyz`;
    case "kube-controller-manager":
      return `https://127.0.0.1:${ports.kubeControllerManager}/healthz`; // it serves no /readyz
    case "kube-scheduler":
      return `https://127.0.0.1:${ports.kubeScheduler}/readyz`;
    case "kwok":
      return `http://127.0.0.1:${ports.kwok}/readyz`;
  }
}

/** etcd: one member on loopback, no fsync (test data only). */
export function etcdArgs(paths: ClusterPaths, ports: ControlPlanePorts): string[] {
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  return [
    "--name=kubeloop",
    `--data-dir=${paths.etcdData}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=kubeloop=${peer}`,
    "--initial-cluster-state=new",
    "--unsafe-no-fsync",
    "--log-level=warn",
  ];
}

/**
 * kube-apiserver: RBAC, admin by static token, service-account tokens signed with the
 * generated RSA key, self-signed serving cert in its cert dir, no endpoint reconciler (there
 * is no routable address; `kubernetes` Service endpoints stay empty).
 */
export function kubeApiserverArgs(paths: ClusterPaths, ports: ControlPlanePorts, settings: ControlPlaneSettings): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
    `--etcd-compaction-interval=${settings.etcdCompactionIntervalSeconds}s`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--secure-port=${ports.kubeApiserver}`,
    `--cert-dir=${paths.apiserverCertDir}`,
    `--token-auth-file=${paths.tokenAuthFile}`,
    "--authorization-mode=RBAC",
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${paths.serviceAccountPublicKey}`,
    `--service-account-signing-key-file=${paths.serviceAccountKey}`,
    "--service-cluster-ip-range=10.96.0.0/16",
    "--allow-privileged=true",
    "--endpoint-reconciler-type=none",
    `--audit-policy-file=${paths.auditPolicy}`,
    `--audit-log-path=${paths.auditLog}`,
    "--audit-log-maxsize=200",
    "--audit-log-maxbackup=1",
    ...gangArgs(settings, true),
  ];
}

/** kube-controller-manager: all default controllers (garbage collector, namespace, serviceaccount, node lifecycle, ...). */
export function kubeControllerManagerArgs(paths: ClusterPaths, ports: ControlPlanePorts, settings: ControlPlaneSettings): string[] {
  return [
    `--kubeconfig=${paths.componentKubeconfig("kube-controller-manager")}`,
    "--bind-address=127.0.0.1",
    `--secure-port=${ports.kubeControllerManager}`,
    `--cert-dir=${paths.componentCertDir("kube-controller-manager")}`,
    "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
    "--leader-elect=false",
    `--controllers=${settings.controllers}`,
    `--kube-api-qps=${settings.kubeApiQps}`,
    `--kube-api-burst=${settings.kubeApiBurst}`,
    `--root-ca-file=${paths.apiserverCert}`,
    `--service-account-private-key-file=${paths.serviceAccountKey}`,
    "--use-service-account-credentials=false",
    ...gangArgs(settings, false),
  ];
}

/** kube-scheduler: default profile, no leader election. */
export function kubeSchedulerArgs(paths: ClusterPaths, ports: ControlPlanePorts, settings: ControlPlaneSettings = defaultSettings): string[] {
  return [
    // Deprecated flags, still honoured without --config: the client limits a benchmark must state.
    `--kube-api-qps=${settings.schedulerApiQps}`,
    `--kube-api-burst=${settings.schedulerApiBurst}`,
    `--kubeconfig=${paths.componentKubeconfig("kube-scheduler")}`,
    "--bind-address=127.0.0.1",
    `--secure-port=${ports.kubeScheduler}`,
    `--cert-dir=${paths.componentCertDir("kube-scheduler")}`,
    "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
    "--leader-elect=false",
    ...gangArgs(settings, false),
  ];
}

/** Annotation that puts a node under kwok's control. */
export const kwokNodeAnnotation = { key: "kwok.x-k8s.io/node", value: "fake" } as const;

/** kwok controller: manages only nodes annotated `kwok.x-k8s.io/node=fake`, with the given Stage files. */
export function kwokArgs(paths: ClusterPaths, ports: ControlPlanePorts, stageFiles: readonly string[]): string[] {
  return [
    `--kubeconfig=${paths.componentKubeconfig("kwok")}`,
    `--manage-nodes-with-annotation-selector=${kwokNodeAnnotation.key}=${kwokNodeAnnotation.value}`,
    `--server-address=127.0.0.1:${ports.kwok}`,
    "--cidr=10.244.0.0/16",
    "--node-ip=10.240.0.1",
    ...stageFiles.map((file) => `--config=${file}`),
  ];
}
