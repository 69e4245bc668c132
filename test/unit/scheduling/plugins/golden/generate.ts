/**
 * Generates the golden cases of `../upstream-golden.test.ts`: seeded random pods and nodes, run
 * through kube-scheduler v1.36.3's own plugin code by `oracle.go` (a small Go program built in
 * a copy of `framework/testing/toolchain/kubernetes`, whose module pins k8s.io/kubernetes v1.36.3).
 *
 *     cp framework/testing/toolchain/kubernetes/go.{mod,sum} /tmp/oracle/ && cp test/unit/scheduling/plugins/golden/oracle.go /tmp/oracle/main.go
 *     (cd /tmp/oracle && GOFLAGS=-mod=mod GOPROXY=off go build -o oracle .)
 *     node test/unit/scheduling/plugins/golden/generate.ts /tmp/oracle/oracle
 *
 * writes `cases.json` (plugin cases), `quantities.json` (quantity strings with apimachinery's
 * `ParseQuantity` verdict, `MilliValue()` and `Value()`), `node-hints.json` (node add/update
 * events: would kube-scheduler requeue a pod each filter plugin rejected) and `pod-hints.json`
 * (the same for pod deletes and updates, of other pods or of the pod itself) next to this file.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { seededRandom } from "../../../../../framework/testing/index.ts";


const rand = seededRandom(20261203);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const chance = (p: number) => rand() < p;
const some = <T>(xs: readonly T[], p: number): T[] => xs.filter(() => chance(p));
type J = Record<string, unknown>;

const CPU = ["100m", "250m", "0.5", "1", "1500m", "2", "3.3", "0.1005", "1m", "2500u", "0"];
const MEM = ["64Mi", "128Mi", "1Gi", "1.5Gi", "200M", "123456789", "0.5Gi", "1e9", "1Ki", "0", "2Gi"];
const GPU = ["0", "1", "2", "4", "8"];
const EPH = ["1Gi", "10Gi", "500Mi"];
const FOO = ["1", "3"];

function requests(): J {
  const r: J = {};
  if (chance(0.7)) r["cpu"] = pick(CPU);
  if (chance(0.6)) r["memory"] = pick(MEM);
  if (chance(0.3)) r["nvidia.com/gpu"] = pick(GPU);
  if (chance(0.15)) r["ephemeral-storage"] = pick(EPH);
  if (chance(0.1)) r["example.com/foo"] = pick(FOO);
  if (chance(0.05)) r["hugepages-2Mi"] = pick(["2Mi", "4Mi"]);
  return r;
}

function container(name: string, withPorts: boolean, sidecar = false): J {
  const c: J = { name };
  if (chance(0.8)) c["resources"] = { requests: requests() };
  if (sidecar) c["restartPolicy"] = "Always";
  if (withPorts && chance(0.4)) {
    c["ports"] = [{ containerPort: 80, hostPort: pick([80, 8080, 9090]), ...(chance(0.3) ? { hostIP: pick(["10.0.0.1", "10.0.0.2"]) } : {}), ...(chance(0.3) ? { protocol: "UDP" } : {}) }];
  }
  return c;
}

const TOLERATIONS: J[] = [
  { key: "gpu", operator: "Exists" },
  { key: "gpu", operator: "Equal", value: "true", effect: "NoSchedule" },
  { key: "dedicated", value: "ml" },
  { key: "soft", operator: "Exists", effect: "PreferNoSchedule" },
  { operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
];
const TAINTS: J[] = [
  { key: "gpu", value: "true", effect: "NoSchedule" },
  { key: "dedicated", value: "ml", effect: "NoExecute" },
  { key: "soft", value: "1", effect: "PreferNoSchedule" },
  { key: "soft2", effect: "PreferNoSchedule" },
  { key: "other", effect: "NoSchedule" },
];
const LABELS: Record<string, string[]> = { zone: ["a", "b"], "gpu-type": ["nvidia-a100", "nvidia-h100"], cores: ["8", "16", "x"] };

function expr(): J {
  const key = pick([...Object.keys(LABELS), "missing"]);
  const op = pick(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]);
  if (op === "Exists" || op === "DoesNotExist") return { key, operator: op };
  if (op === "Gt" || op === "Lt") return { key, operator: op, values: [pick(["4", "8", "16", "20"])] };
  return { key, operator: op, values: some(LABELS[key] ?? ["v"], 0.6).concat(pick(LABELS[key] ?? ["v"])) };
}

function term(nodeNames: string[]): J {
  const t: J = {};
  if (chance(0.85)) t["matchExpressions"] = Array.from({ length: 1 + Math.floor(rand() * 2) }, expr);
  if (chance(0.2)) t["matchFields"] = [{ key: "metadata.name", operator: pick(["In", "NotIn"]), values: [pick(nodeNames)] }];
  return t;
}

function pod(name: string, nodeNames: string[], nodeName?: string): J {
  const spec: J = { containers: Array.from({ length: Math.floor(rand() * 3) }, (_, i) => container(`c${i}`, true)) };
  if (chance(0.3)) spec["initContainers"] = Array.from({ length: 1 + Math.floor(rand() * 2) }, (_, i) => container(`i${i}`, true, chance(0.5)));
  if (chance(0.1)) spec["overhead"] = { cpu: pick(["100m", "250m"]), memory: pick(["64Mi", "120Mi"]) };
  if (chance(0.1)) spec["resources"] = { requests: { ...(chance(0.7) ? { cpu: pick(["1", "2500m"]) } : {}), ...(chance(0.7) ? { memory: pick(["1Gi", "3Gi"]) } : {}) } };
  if (nodeName) {
    spec["nodeName"] = nodeName;
  } else {
    if (chance(0.4)) spec["tolerations"] = some(TOLERATIONS, 0.3);
    if (chance(0.25)) spec["nodeSelector"] = Object.fromEntries(some(Object.keys(LABELS), 0.4).map((k) => [k, pick(LABELS[k]!)]));
    const affinity: J = {};
    if (chance(0.3)) affinity["requiredDuringSchedulingIgnoredDuringExecution"] = { nodeSelectorTerms: Array.from({ length: 1 + Math.floor(rand() * 2) }, () => term(nodeNames)) };
    if (chance(0.3)) affinity["preferredDuringSchedulingIgnoredDuringExecution"] = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => ({ weight: 1 + Math.floor(rand() * 100), preference: term(nodeNames) }));
    if (Object.keys(affinity).length > 0) spec["affinity"] = { nodeAffinity: affinity };
    if (chance(0.05)) spec["nodeName"] = pick(nodeNames);
  }
  const containers = spec["containers"] as J[];
  const status: J = {};
  if (containers.length > 0 && chance(nodeName ? 0.25 : 0.1)) {
    // an in-place resize: status resources count (UseStatusResources), except in NodeResourcesFit's scorer
    status["containerStatuses"] = [{ name: "c0", ...(chance(0.8) ? { resources: { requests: requests() } } : {}), ...(chance(0.5) ? { allocatedResources: requests() } : {}) }];
    if (chance(0.3)) status["conditions"] = [{ type: "PodResizePending", status: "True", reason: pick(["Infeasible", "Deferred"]) }];
  }
  return { metadata: { name, namespace: "ns", uid: `uid-${name}` }, spec, ...(Object.keys(status).length ? { status } : {}) };
}

function node(name: string): J {
  const allocatable: J = { cpu: pick(["2", "4", "8", "3500m", "64"]), memory: pick(["4Gi", "8Gi", "16Gi", "7.5Gi", "10000"]), pods: pick(["2", "3", "10", "110"]) };
  if (chance(0.5)) allocatable["nvidia.com/gpu"] = pick(["0", "4", "8"]);
  if (chance(0.3)) allocatable["ephemeral-storage"] = pick(["10Gi", "100Gi"]);
  if (chance(0.2)) allocatable["example.com/foo"] = pick(["0", "2", "4"]);
  if (chance(0.1)) allocatable["hugepages-2Mi"] = pick(["0", "8Mi"]);
  const labels = Object.fromEntries(some(Object.keys(LABELS), 0.6).map((k) => [k, pick(LABELS[k]!)]));
  const spec: J = {};
  if (chance(0.4)) spec["taints"] = some(TAINTS, 0.35);
  if (chance(0.1)) spec["unschedulable"] = true;
  return { metadata: { name, labels }, spec, status: { allocatable } };
}

function strategy(): J | undefined {
  if (chance(0.25)) return undefined;
  const type = pick(["LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"]);
  const names = some(["cpu", "memory", "nvidia.com/gpu", "ephemeral-storage", "example.com/foo", "pods", "hugepages-2Mi"], 0.5);
  const resources = (names.length ? names : ["cpu"]).map((name) => ({ name, weight: 1 + Math.floor(rand() * 5) }));
  const s: J = { type, resources };
  if (type === "RequestedToCapacityRatio") {
    const pts = [...new Set([0, ...some([10, 25, 50, 75, 90], 0.4), 100])].sort((a, b) => a - b);
    s["requestedToCapacityRatio"] = { shape: pts.map((utilization) => ({ utilization, score: Math.floor(rand() * 11) })) };
  }
  return s;
}

const cases: J[] = [];
for (let i = 0; i < 300; i++) {
  const names = Array.from({ length: 2 + Math.floor(rand() * 4) }, (_, j) => `n${j}`);
  const nodes = names.map((n) => ({ node: node(n), pods: Array.from({ length: Math.floor(rand() * 4) }, (_, k) => pod(`e${i}-${n}-${k}`, names, n)) }));
  const s = strategy();
  cases.push({ pod: pod(`p${i}`, names), nodes, ...(s ? { strategy: s } : {}) });
}
const oracle = process.argv[2];
if (!oracle) throw new Error("usage: generate.ts <path to the built oracle>");
const expected = JSON.parse(execFileSync(oracle, { input: JSON.stringify(cases), maxBuffer: 1 << 28 }).toString()) as unknown[];
writeFileSync(new URL("./cases.json", import.meta.url), JSON.stringify(cases.map((c, i) => ({ ...c, expected: expected[i] }))) + "\n");

// Quantity strings: well-formed and not, every suffix, fractions, exponents, signs, sub-nano values.
const SUFFIXES = ["", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "e3", "E-2", "e+2", "e", "K", "mi", "x", "i"];
const digits = () => String(Math.floor(rand() * 10 ** (1 + Math.floor(rand() * 5))));
const quantities = new Set<string>(["", ".", "+", "-", "0", "-0", "00", "1.", ".5", "+1", "-1m", "1 ", " 1", "1.5.5", "0.0000000001", "1e-10", "0.1n", "1.5n"]);
while (quantities.size < 1500) {
  const sign = pick(["", "", "", "+", "-"]);
  const whole = chance(0.15) ? "" : digits();
  const frac = chance(0.4) ? `.${chance(0.1) ? "" : digits()}` : "";
  quantities.add(`${sign}${whole}${frac}${pick(SUFFIXES)}`);
}
const qs = [...quantities];
const verdicts = JSON.parse(execFileSync(oracle, ["quantities"], { input: JSON.stringify(qs) }).toString()) as unknown[];
writeFileSync(new URL("./quantities.json", import.meta.url), JSON.stringify(qs.map((q, i) => ({ q, ...(verdicts[i] as object) }))) + "\n");

// Node events: a node added, or updated in one or two of the ways kube-scheduler tells apart.
function mutate(n: J): J {
  const m = JSON.parse(JSON.stringify(n)) as { metadata: J; spec: J; status: J };
  const kinds = some(["unschedulable", "labels", "taints", "allocatable", "annotations", "conditions"], 0.35);
  for (const k of kinds.length ? kinds : [pick(["labels", "taints", "allocatable", "unschedulable", "none"])]) {
    if (k === "unschedulable") m.spec["unschedulable"] = !m.spec["unschedulable"];
    if (k === "labels") m.metadata["labels"] = Object.fromEntries(some(Object.keys(LABELS), 0.6).map((key) => [key, pick(LABELS[key]!)]));
    if (k === "taints") m.spec["taints"] = some(TAINTS, 0.35);
    if (k === "allocatable") m.status = (node("x") as { status: J }).status;
    if (k === "annotations") m.metadata["annotations"] = { a: String(rand()) };
    if (k === "conditions") m.status["conditions"] = [{ type: "Ready", status: pick(["True", "False"]) }];
  }
  return m;
}
const hintCases: J[] = [];
for (let i = 0; i < 800; i++) {
  const names = ["n0", "n1"];
  const before = chance(0.25) ? undefined : node("n0");
  hintCases.push({ pod: pod(`h${i}`, names), ...(before ? { old: before } : {}), new: before ? mutate(before) : node("n0") });
}
const hints = JSON.parse(execFileSync(oracle, ["nodehints"], { input: JSON.stringify(hintCases), maxBuffer: 1 << 28 }).toString()) as unknown[];
writeFileSync(new URL("./node-hints.json", import.meta.url), JSON.stringify(hintCases.map((c, i) => ({ ...c, queue: hints[i] }))) + "\n");

// Pod events: a delete (bound, nominated or pending pod), an update of a bound pod (resized,
// relabelled), or an update of the rejected pod itself (tolerations added, labels, gates removed, resized).
function mutatePod(p: J, self: boolean): J {
  const m = JSON.parse(JSON.stringify(p)) as { metadata: J; spec: J; status?: J };
  for (const k of some(["labels", "resize", "tolerations", "gates"], 0.5).concat(pick(["labels", "resize", "tolerations"]))) {
    if (k === "labels") m.metadata["labels"] = { app: String(Math.floor(rand() * 3)) };
    if (k === "resize") {
      const containers = m.spec["containers"] as J[];
      if (containers.length > 0) m.status = { containerStatuses: [{ name: "c0", resources: { requests: requests() } }] };
    }
    if (k === "tolerations" && self) m.spec["tolerations"] = [...((m.spec["tolerations"] as J[] | undefined) ?? []), pick(TOLERATIONS)];
    if (k === "gates" && self) delete m.spec["schedulingGates"];
  }
  return m;
}
const podHintCases: J[] = [];
for (let i = 0; i < 800; i++) {
  const names = ["n0", "n1"];
  const target = pod(`t${i}`, names);
  if (chance(0.2)) (target["spec"] as J)["schedulingGates"] = [{ name: "g" }];
  const kind = pick(["delete", "update-other", "update-self"]);
  if (kind === "delete") {
    const bound = chance(0.6);
    const other = pod(`o${i}`, names, bound ? "n0" : undefined);
    if (!bound && chance(0.3)) other["status"] = { nominatedNodeName: "n1" };
    podHintCases.push({ pod: target, kind: "delete", old: other });
  } else if (kind === "update-other") {
    const other = pod(`o${i}`, names, "n0");
    podHintCases.push({ pod: target, kind: "update", old: other, new: mutatePod(other, false) });
  } else {
    const updated = mutatePod(target, true);
    podHintCases.push({ pod: updated, kind: "update", old: target, new: updated });
  }
}
const podHints = JSON.parse(execFileSync(oracle, ["podhints"], { input: JSON.stringify(podHintCases), maxBuffer: 1 << 28 }).toString()) as unknown[];
writeFileSync(new URL("./pod-hints.json", import.meta.url), JSON.stringify(podHintCases.map((c, i) => ({ ...c, queue: podHints[i] }))) + "\n");
