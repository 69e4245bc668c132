/**
 * Resource accounting for the scheduler: Kubernetes quantities as the integer units of
 * `ResourceAmounts`, a pod's effective requests, host ports, and the NodeInfo of a node with
 * the pods on it.
 *
 * Mirrors, in Kubernetes v1.36:
 * - `k8s.io/apimachinery/pkg/api/resource` `ParseQuantity`, `MilliValue`, `Value` (exact decimal
 *   arithmetic, values finer than 1n rounded up to 1n, `ceil` when scaling down);
 * - `k8s.io/component-helpers/resource` `PodRequests` (sum of regular containers and restartable
 *   init (sidecar) containers, max with each init container's use, pod-level requests when set,
 *   pod overhead added; container status resources for in-place resized pods);
 * - `pkg/scheduler/framework/types.go` `PodInfo.CalculateResource`, `Resource.Add`, `NodeInfo`
 *   (`AddPodInfo`, `RemovePod`, `SetNode`) and `pkg/scheduler/util` (`GetHostPorts`,
 *   `IsScalarResourceName`, the 100m / 200Mi non-zero defaults of `pod_resources.go`).
 *
 * Quantities are summed exactly (as `Quantity.Add` does) in nano-units and converted once per
 * resource, so `0.5m + 0.5m` of CPU is 1 millicore, as upstream, not 2. The parser is ours:
 * `@kubernetes/client-node`'s `quantityToScalar` computes with floating point and throws on
 * fractional binary quantities such as `1.5Gi`. Parsed strings and resource-name answers are
 * cached (bounded), since the same few recur on every pod and node. Checked against
 * apimachinery v0.36.3 and kube-scheduler v1.36.3 on generated inputs
 * (`test/unit/scheduling/plugins/golden/`).
 */
import type { Node, Pod } from "../meta/index.ts";
import type { DeepReadonly } from "../meta/index.ts";
import type { HostPort, NodeInfo, PodInfo, ResourceAmounts } from "./framework.ts";

/** Resource names with a meaning of their own in `ResourceAmounts`. */
export const CPU = "cpu";
export const MEMORY = "memory";
export const EPHEMERAL_STORAGE = "ephemeral-storage";
export const PODS = "pods";

/** CPU counted for a container without a CPU request, for scoring only (millicores; `DefaultMilliCPURequest`). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
/** Memory counted for a container without a memory request, for scoring only (bytes; `DefaultMemoryRequest`, 200Mi). */
export const DEFAULT_MEMORY_REQUEST_BYTES = 200 * 1024 * 1024;

/** A quantity as the API carries it: a string (`"100m"`, `"1.5Gi"`) or a JSON number. */
export type QuantityInput = string | number;

/** A resource list as the API carries it (`requests`, `limits`, `allocatable`, `overhead`). */
export type ResourceList = Readonly<Record<string, QuantityInput>>;

const NANO = 1_000_000_000n;

const DECIMAL_SUFFIX_EXP: Readonly<Record<string, number>> = {
  n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18,
};
const BINARY_SUFFIX_EXP: Readonly<Record<string, number>> = {
  Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60,
};

const QUANTITY_RE = /^([+-]?)(\d*)(?:\.(\d*))?([a-zA-Z]*|[eE][+-]?\d+)$/;

/**
 * Parses a Kubernetes quantity (`"100m"`, `"1.5Gi"`, `"2"`, `"1e3"`, `"0.1"`) to its exact value in
 * nano-units (value × 10^9) as a bigint. Values finer than 1n are rounded away from zero to 1n,
 * as `ParseQuantity` does.
 * @throws Error naming the quantity when it is not in Kubernetes' quantity grammar.
 */
export function parseQuantityNanos(quantity: QuantityInput): bigint {
  const text = typeof quantity === "number" ? numberText(quantity) : quantity;
  const cached = PARSED.get(text);
  if (cached !== undefined) return cached;
  const nanos = parseText(quantity, text);
  if (PARSED.size >= PARSED_MAX) PARSED.clear();
  PARSED.set(text, nanos);
  return nanos;
}

/** Parsed quantities by text: the same few strings (`100m`, `1Gi`, `8`) recur across every pod and node. */
const PARSED = new Map<string, bigint>();
const PARSED_MAX = 4096;

function parseText(quantity: QuantityInput, text: string): bigint {
  const m = QUANTITY_RE.exec(text);
  if (text.length === 0 || m === null) throw new Error(`invalid quantity ${JSON.stringify(quantity)}: expected <number><suffix>, e.g. 100m, 1.5Gi, 2`);
  const [, sign = "", whole = "", frac = "", suffix = ""] = m;
  // digits as an integer scaled by 10^-frac.length
  const digits = BigInt((whole || "0") + frac);
  let exp10: number; // value = digits * 10^exp10 * 2^exp2
  let exp2 = 0;
  if (suffix in DECIMAL_SUFFIX_EXP) {
    exp10 = DECIMAL_SUFFIX_EXP[suffix]!;
  } else if (suffix in BINARY_SUFFIX_EXP) {
    exp10 = 0;
    exp2 = BINARY_SUFFIX_EXP[suffix]!;
  } else if (/^[eE][+-]?\d+$/.test(suffix)) {
    exp10 = Number.parseInt(suffix.slice(1), 10);
  } else {
    throw new Error(`invalid quantity ${JSON.stringify(quantity)}: unknown suffix ${JSON.stringify(suffix)} (use n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent)`);
  }
  if (!/\d/.test(whole + frac) && usesDecimalPath(whole, frac, exp10, exp2)) {
    // ParseQuantity reads such values with inf.Dec, which wants a digit ("Pi", "+Ei", ".e-20")
    throw new Error(`invalid quantity ${JSON.stringify(quantity)}: no digits`);
  }
  // nanos = digits * 10^(exp10 - frac.length + 9) * 2^exp2
  const e = exp10 - frac.length + 9;
  // Far beyond int64 either way (upstream overflows there): saturate instead of building a huge power of ten.
  if (e > MAX_NANO_EXPONENT) return digits === 0n ? 0n : sign === "-" ? -SATURATED : SATURATED;
  if (e < -MAX_NANO_EXPONENT && digits.toString().length < MAX_NANO_EXPONENT) return digits === 0n ? 0n : sign === "-" ? -1n : 1n;
  let num = digits * (1n << BigInt(exp2)); // nanos = num / den
  let den = 1n;
  if (e >= 0) num *= 10n ** BigInt(e);
  else den = 10n ** BigInt(-e);
  let nanos = num / den;
  if (num % den !== 0n) nanos += 1n; // round up to 1n, as ParseQuantity
  return sign === "-" ? -nanos : nanos;
}

/** Beyond 10^60 nano-units (10^51 units) a value is saturated; int64 ends near 10^19. */
const MAX_NANO_EXPONENT = 60;
const SATURATED = 10n ** 60n;

/**
 * True when `ParseQuantity` leaves its int64 fast path for arbitrary-precision decimals: too many
 * digits, finer than 1n, a binary suffix with a fraction or too large. Mirrors its precision test.
 */
function usesDecimalPath(whole: string, frac: string, exp10: number, exp2: number): boolean {
  const num = whole.replace(/^0+/, "") || "0";
  const fitsInt64 = (digits: string) => BigInt(digits || "0") <= 9223372036854775807n;
  if (exp2 > 0) {
    if (frac.length > 0) return true;
    const precision = 15 - num.length - (exp2 * 3) / 10 - 1;
    return precision < 0 || !fitsInt64(num) || BigInt(num) * (1n << BigInt(exp2)) > 9223372036854775807n;
  }
  const precision = 18 - (num.length + frac.length);
  return precision < 0 || exp10 - frac.length < -9 || !fitsInt64(num + frac);
}

function numberText(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`invalid quantity ${n}: not a finite number`);
  return String(n).replace("e+", "e");
}

/** `nanos / 10^6` rounded up (away from zero): `Quantity.MilliValue()`. */
function nanosToMilli(nanos: bigint): number {
  return Number(ceilDiv(nanos, 1_000_000n));
}

/** `nanos / 10^9` rounded up (away from zero): `Quantity.Value()`. */
function nanosToValue(nanos: bigint): number {
  return Number(ceilDiv(nanos, NANO));
}

/** `a / b` rounded away from zero, as apimachinery's `ScaledValue` rounds (a "ceil" of the magnitude). */
function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  if (a % b === 0n) return q;
  return a > 0n ? q + 1n : q - 1n;
}

/** `Quantity.MilliValue()` of a quantity: `ceil(q × 1000)` (`"0.1"` -> 100, `"1.0001"` -> 1001). */
export function milliValue(quantity: QuantityInput): number {
  return nanosToMilli(parseQuantityNanos(quantity));
}

/** `Quantity.Value()` of a quantity: `ceil(q)` (`"1Gi"` -> 1073741824, `"100m"` -> 1). */
export function value(quantity: QuantityInput): number {
  return nanosToValue(parseQuantityNanos(quantity));
}

const QUALIFIED_NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** `v1helper.IsNativeResource`: unprefixed, or in the `*kubernetes.io/` namespace. */
function isNativeResource(name: string): boolean {
  return !name.includes("/") || name.includes("kubernetes.io/");
}

/** `v1helper.IsExtendedResourceName`: not native, not `requests.`-prefixed, and `requests.<name>` is a qualified name. */
export function isExtendedResourceName(name: string): boolean {
  if (isNativeResource(name) || name.startsWith("requests.")) return false;
  const forQuota = `requests.${name}`;
  const slash = forQuota.indexOf("/");
  const prefix = forQuota.slice(0, slash);
  const local = forQuota.slice(slash + 1);
  if (forQuota.indexOf("/", slash + 1) !== -1) return false;
  return prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix) && local.length <= 63 && QUALIFIED_NAME_PART.test(local);
}

/**
 * `schedutil.IsScalarResourceName`: extended resources (`nvidia.com/gpu`), hugepages
 * (`hugepages-2Mi`), prefixed native resources (`*kubernetes.io/...`) and attachable volumes.
 */
export function isScalarResourceName(name: string): boolean {
  let scalar = SCALAR.get(name);
  if (scalar === undefined) {
    scalar = isExtendedResourceName(name) || name.startsWith("hugepages-") || name.includes("kubernetes.io/")
      || name.startsWith("attachable-volumes-");
    if (SCALAR.size >= PARSED_MAX) SCALAR.clear();
    SCALAR.set(name, scalar);
  }
  return scalar;
}
/** Answers by resource name (scoring asks per node per pod). */
const SCALAR = new Map<string, boolean>();

/** True for the names `Resource.Add` keeps: cpu, memory, ephemeral-storage, pods and scalar resources. */
function isTracked(name: string): boolean {
  return name === CPU || name === MEMORY || name === EPHEMERAL_STORAGE || name === PODS || isScalarResourceName(name);
}

/** Converts one resource's exact amount to its `ResourceAmounts` unit: millicores for cpu, `Value()` otherwise. */
function toUnit(name: string, nanos: bigint): number {
  return name === CPU ? nanosToMilli(nanos) : nanosToValue(nanos);
}

/**
 * A resource list in `ResourceAmounts` units (`framework.NewResource`): cpu in millicores
 * (rounded up), everything else as `Value()` (rounded up); names the scheduler does not track
 * (unprefixed non-native names) are dropped, as `Resource.Add` does.
 * @throws Error when a quantity does not parse.
 */
export function toAmounts(list: ResourceList | undefined | null): ResourceAmounts {
  const out: Record<string, number> = {};
  if (!list) return out;
  for (const [name, q] of Object.entries(list)) {
    if (isTracked(name)) out[name] = toUnit(name, parseQuantityNanos(q));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pod requests (component-helpers/resource.PodRequests)

type Exact = Map<string, bigint>;

function exactOf(list: ResourceList | undefined | null): Exact {
  const out: Exact = new Map();
  if (list) for (const [name, q] of Object.entries(list)) out.set(name, parseQuantityNanos(q));
  return out;
}

function addInto(target: Exact, add: Exact): void {
  for (const [k, v] of add) target.set(k, (target.get(k) ?? 0n) + v);
}

function maxInto(target: Exact, other: Exact): void {
  for (const [k, v] of other) {
    const cur = target.get(k);
    if (cur === undefined || v > cur) target.set(k, v);
  }
}

function maxOf(...lists: Exact[]): Exact {
  const out: Exact = new Map();
  for (const l of lists) maxInto(out, l);
  return out;
}

type ReadonlyPod = DeepReadonly<Pod>;
type ReadonlyContainer = NonNullable<NonNullable<ReadonlyPod["spec"]>["containers"]>[number];

/** `IsPodResizeInfeasible`: the `PodResizePending` condition has reason `Infeasible`. */
function isResizeInfeasible(pod: ReadonlyPod): boolean {
  for (const c of pod.status?.conditions ?? []) {
    if (c.type === "PodResizePending") return c.reason === "Infeasible";
  }
  return false;
}

/** `determineEffectiveRequests`: max(spec, actuated, allocated), or max(actuated, allocated) when a resize is infeasible. */
function effectiveRequests(pod: ReadonlyPod, spec: Exact, actuated: Exact, allocated: Exact): Exact {
  return isResizeInfeasible(pod) ? maxOf(actuated, allocated) : maxOf(spec, actuated, allocated);
}

/** Options of `podRequests`, the subset of `PodResourcesOptions` the scheduler sets. */
export interface PodRequestsOptions {
  /**
   * Amounts (ResourceAmounts units) that replace a container's missing request of these
   * resources; an explicit zero stays zero (`NonMissingContainerRequests`).
   */
  readonly nonMissingContainerRequests?: ResourceAmounts;
  /** Leave pod overhead out (`ExcludeOverhead`). */
  readonly excludeOverhead?: boolean;
  /** Ignore pod-level `spec.resources` (`SkipPodLevelResources`). */
  readonly skipPodLevelResources?: boolean;
  /** Count the status resources of in-place resized pods (`UseStatusResources`); default true, as `CalculateResource`. */
  readonly useStatusResources?: boolean;
}

/** The requests `nonZeroRequests` assumes for a container without a cpu / memory request (100m, 200Mi). */
export const DEFAULT_NON_ZERO_REQUESTS: ResourceAmounts = Object.freeze({ [CPU]: DEFAULT_MILLI_CPU_REQUEST, [MEMORY]: DEFAULT_MEMORY_REQUEST_BYTES });

/** Internal options: non-missing amounts in nano-units. */
interface ExactOptions {
  readonly nonMissing?: ReadonlyMap<string, bigint>;
  readonly excludeOverhead?: boolean;
  readonly skipPodLevelResources?: boolean;
  readonly useStatusResources?: boolean;
}

function exactOptions(opts: PodRequestsOptions): ExactOptions {
  const nonMissing = new Map<string, bigint>();
  for (const [name, amount] of Object.entries(opts.nonMissingContainerRequests ?? {})) {
    nonMissing.set(name, BigInt(amount) * (name === CPU ? 1_000_000n : NANO));
  }
  return { ...opts, nonMissing };
}

function withNonMissing(reqs: Exact, nonMissing: ReadonlyMap<string, bigint> | undefined): Exact {
  if (!nonMissing || nonMissing.size === 0) return reqs;
  const copy = new Map(reqs);
  for (const [k, v] of nonMissing) if (!reqs.has(k)) copy.set(k, v);
  return copy;
}

/** Resource names that may be set at pod level (`IsSupportedPodLevelResource`). */
function isPodLevelResource(name: string): boolean {
  return name === CPU || name === MEMORY || name.startsWith("hugepages-");
}

/** `IsPodLevelRequestsSet`: `spec.resources.requests` names cpu, memory or hugepages. */
export function isPodLevelRequestsSet(pod: ReadonlyPod): boolean {
  return Object.keys(pod.spec?.resources?.requests ?? {}).some(isPodLevelResource);
}

/** The exact requests, by resource name, per `PodRequests` with the scheduler's v1.36 options. */
function podRequestsExact(pod: ReadonlyPod, opts: ExactOptions = {}): Exact {
  const spec = pod.spec;
  const useStatus = opts.useStatusResources ?? true;
  const statuses = new Map<string, NonNullable<NonNullable<ReadonlyPod["status"]>["containerStatuses"]>[number]>();
  if (useStatus) {
    for (const cs of pod.status?.containerStatuses ?? []) statuses.set(cs.name, cs);
    for (const cs of pod.status?.initContainerStatuses ?? []) statuses.set(cs.name, cs);
  }
  // InPlacePodVerticalScaling is GA in v1.36: container status resources count (UseStatusResources).
  const containerRequests = (c: ReadonlyContainer): Exact => {
    let reqs = exactOf(c.resources?.requests as ResourceList | undefined);
    const cs = statuses.get(c.name);
    if (cs?.resources) {
      reqs = effectiveRequests(pod, reqs, exactOf(cs.resources.requests as ResourceList | undefined),
        exactOf(cs.allocatedResources as ResourceList | undefined));
    }
    return withNonMissing(reqs, opts.nonMissing);
  };

  const reqs: Exact = new Map();
  for (const c of spec?.containers ?? []) addInto(reqs, containerRequests(c));

  const restartable: Exact = new Map();
  const initMax: Exact = new Map();
  for (const c of spec?.initContainers ?? []) {
    const sidecar = c.restartPolicy === "Always";
    let cReqs: Exact;
    if (sidecar) {
      cReqs = containerRequests(c);
      addInto(reqs, cReqs);
      addInto(restartable, cReqs);
      cReqs = restartable;
    } else {
      cReqs = withNonMissing(exactOf(c.resources?.requests as ResourceList | undefined), opts.nonMissing);
      const tmp: Exact = new Map();
      addInto(tmp, cReqs);
      addInto(tmp, restartable);
      cReqs = tmp;
    }
    maxInto(initMax, cReqs);
  }
  maxInto(reqs, initMax);

  // PodLevelResources (beta, on in v1.36): pod-level cpu/memory/hugepages requests replace the aggregate.
  if (!opts.skipPodLevelResources && isPodLevelRequestsSet(pod)) {
    const specReqs = exactOf(spec?.resources?.requests as ResourceList | undefined);
    // InPlacePodLevelResourcesVerticalScaling (beta, on in v1.36) with status resources.
    const statusRes = useStatus ? pod.status?.resources : undefined;
    const effective = statusRes
      ? effectiveRequests(pod, specReqs, exactOf(statusRes.requests as ResourceList | undefined),
        exactOf(pod.status?.allocatedResources as ResourceList | undefined))
      : undefined;
    for (const [name, v] of specReqs) {
      if (isPodLevelResource(name)) reqs.set(name, effective ? (effective.get(name) ?? 0n) : v);
    }
  }

  if (!opts.excludeOverhead && spec?.overhead) addInto(reqs, exactOf(spec.overhead as ResourceList));
  return reqs;
}

function exactToAmounts(exact: Exact): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, nanos] of exact) {
    if (name === PODS || !isTracked(name)) continue;
    out[name] = toUnit(name, nanos);
  }
  return out;
}

/**
 * The pod's effective requests in `ResourceAmounts` units, as kube-scheduler v1.36 computes them
 * (`PodInfo.CalculateResource` over `resourcehelper.PodRequests`): the sum of regular and
 * restartable init (sidecar) containers, at least the largest init container's use (each init
 * container plus the sidecars started before it), pod-level `spec.resources.requests` for
 * cpu/memory/hugepages when set, plus `spec.overhead`; container status resources count for
 * in-place resized pods. Names the scheduler does not track, and `pods`, are left out.
 * @throws Error when a quantity does not parse.
 */
export function podRequests(pod: ReadonlyPod, opts: PodRequestsOptions = {}): ResourceAmounts {
  return exactToAmounts(podRequestsExact(pod, exactOptions(opts)));
}

/** True when the pod carries status resources (an in-place resize), so `useStatusResources` can change `podRequests`. */
export function hasStatusResources(pod: ReadonlyPod): boolean {
  const st = pod.status;
  if (!st) return false;
  if (st.resources || st.allocatedResources) return true;
  return (st.containerStatuses ?? []).some((c) => c.resources) || (st.initContainerStatuses ?? []).some((c) => c.resources);
}

/**
 * The requests used for scoring (`PodResource.Non0CPU` / `Non0Mem`): like `podRequests`, but a
 * container that names no cpu (memory) request counts as 100m (200Mi); an explicit `0` stays 0.
 * With pod-level requests, the default applies only when neither level sets the resource.
 * Other resources are as in `podRequests`.
 */
export function nonZeroRequests(pod: ReadonlyPod, requests: ResourceAmounts = podRequests(pod)): ResourceAmounts {
  const podLevel = isPodLevelRequestsSet(pod);
  if (!podLevel && everyContainerSetsCpuAndMemory(pod) && !hasStatusResources(pod)) {
    // no request is missing: the non-zero view equals the requests
    return { ...requests, [CPU]: requests[CPU] ?? 0, [MEMORY]: requests[MEMORY] ?? 0 };
  }
  const nonMissing = new Map<string, bigint>();
  if (!podLevel || requests[CPU] === undefined) nonMissing.set(CPU, BigInt(DEFAULT_MILLI_CPU_REQUEST) * 1_000_000n);
  if (!podLevel || requests[MEMORY] === undefined) nonMissing.set(MEMORY, BigInt(DEFAULT_MEMORY_REQUEST_BYTES) * NANO);
  const non0 = exactToAmounts(podRequestsExact(pod, { nonMissing }));
  return { ...requests, [CPU]: non0[CPU] ?? 0, [MEMORY]: non0[MEMORY] ?? 0 };
}

function everyContainerSetsCpuAndMemory(pod: ReadonlyPod): boolean {
  const sets = (c: ReadonlyContainer): boolean => {
    const r = c.resources?.requests;
    return r !== undefined && r[CPU] !== undefined && r[MEMORY] !== undefined;
  };
  return (pod.spec?.containers ?? []).every(sets) && (pod.spec?.initContainers ?? []).every(sets);
}

/** The scheduler's view of a pod, requests computed once. */
export function podInfoOf(pod: ReadonlyPod): PodInfo {
  const requests = podRequests(pod);
  return { pod, requests, nonZeroRequests: nonZeroRequests(pod, requests) };
}

/**
 * The host ports a pod uses (`schedutil.GetHostPorts`): container ports with `hostPort > 0` of
 * restartable init (sidecar) containers and regular containers; ip defaults to `0.0.0.0`,
 * protocol to `TCP` (as `HostPortInfo.Add` sanitizes them).
 */
export function hostPortsOf(pod: ReadonlyPod): HostPort[] {
  const out: HostPort[] = [];
  const collect = (c: ReadonlyContainer): void => {
    for (const p of c.ports ?? []) {
      if ((p.hostPort ?? 0) > 0) out.push({ ip: p.hostIP || "0.0.0.0", protocol: p.protocol || "TCP", port: p.hostPort! });
    }
  };
  for (const c of pod.spec?.initContainers ?? []) if (c.restartPolicy === "Always") collect(c);
  for (const c of pod.spec?.containers ?? []) collect(c);
  return out;
}

/**
 * True when `want` conflicts with a port in `used` (`HostPortInfo.CheckConflict`): same protocol
 * and port, and the same ip or either side is `0.0.0.0`.
 */
export function hostPortConflicts(used: readonly HostPort[], want: HostPort): boolean {
  for (const u of used) {
    if (u.port !== want.port || u.protocol !== want.protocol) continue;
    if (u.ip === want.ip || u.ip === "0.0.0.0" || want.ip === "0.0.0.0") return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// NodeInfo

/** The key a pod is tracked by in a NodeInfo: its UID, or `namespace/name` when it has none (`GetPodKey`). */
export function podKey(pod: ReadonlyPod): string {
  const uid = pod.metadata?.uid;
  return uid ? uid : `${pod.metadata?.namespace ?? ""}/${pod.metadata?.name ?? ""}`;
}

function addAmounts(target: Record<string, number>, add: ResourceAmounts, sign: 1 | -1): void {
  for (const k in add) {
    const next = (target[k] ?? 0) + sign * add[k]!;
    target[k] = next;
  }
}

/**
 * A mutable NodeInfo the runtime keeps per node (kube-scheduler's cache `NodeInfo`): `setNode`,
 * `addPod`, `removePod` in O(resources + ports), and `clone()` for a snapshot. It implements the
 * read-only `NodeInfo` plugins see; `generation` grows on every change so a snapshot can copy only
 * the nodes that changed. A NodeInfo may exist before its Node does (pods seen first); then
 * `node` throws until `setNode`.
 */
export class NodeInfoBuilder implements NodeInfo {
  static #nextGeneration = 0;
  #node: DeepReadonly<Node> | undefined;
  #pods: PodInfo[] = [];
  #index = new Map<string, number>();
  #allocatable: ResourceAmounts = {};
  #requested: Record<string, number> = {};
  #nonZeroRequested: Record<string, number> = {};
  #usedPorts: HostPort[] = [];
  #generation = ++NodeInfoBuilder.#nextGeneration;

  /** A NodeInfo for `node` (optional) with no pods. */
  constructor(node?: DeepReadonly<Node>) {
    if (node) this.setNode(node);
  }

  /** The node; throws when only pods have been seen so far. */
  get node(): DeepReadonly<Node> {
    if (!this.#node) throw new Error("NodeInfo has pods but no Node yet: call setNode first");
    return this.#node;
  }
  /** The node, or undefined while only pods have been seen. */
  get nodeOrUndefined(): DeepReadonly<Node> | undefined {
    return this.#node;
  }
  get pods(): readonly PodInfo[] {
    return this.#pods;
  }
  get allocatable(): ResourceAmounts {
    return this.#allocatable;
  }
  get requested(): ResourceAmounts {
    return this.#requested;
  }
  get nonZeroRequested(): ResourceAmounts {
    return this.#nonZeroRequested;
  }
  get usedPorts(): readonly HostPort[] {
    return this.#usedPorts;
  }
  /** Grows on every change (a process-wide counter, as upstream's `nextGeneration`). */
  get generation(): number {
    return this.#generation;
  }

  /** Sets or replaces the node; allocatable is read from `status.allocatable` (`SetNode`). */
  setNode(node: DeepReadonly<Node>): void {
    this.#node = node;
    this.#allocatable = Object.freeze(toAmounts(node.status?.allocatable as ResourceList | undefined));
    this.#touch();
  }

  /** Forgets the node (its pods stay until removed), as the cache does when a Node is deleted before its pods. */
  removeNode(): void {
    this.#node = undefined;
    this.#allocatable = {};
    this.#touch();
  }

  /** True when a pod with this key (UID) is on the node. */
  hasPod(key: string): boolean {
    return this.#index.has(key);
  }

  /**
   * Adds a pod (`AddPodInfo`): its requests, non-zero requests and host ports are accounted.
   * @throws Error when a pod with the same key is already there (remove it first, or use `updatePod`).
   */
  addPod(info: PodInfo): void {
    const key = podKey(info.pod);
    if (this.#index.has(key)) throw new Error(`pod ${key} is already on node ${this.#node?.metadata?.name ?? "?"}`);
    this.#index.set(key, this.#pods.length);
    this.#pods.push(info);
    this.#account(info, 1);
  }

  /** Removes the pod with this key (`RemovePod`); returns the removed PodInfo, or undefined when it was not there. */
  removePod(key: string): PodInfo | undefined {
    const i = this.#index.get(key);
    if (i === undefined) return undefined;
    const info = this.#pods[i]!;
    const last = this.#pods.pop()!;
    this.#index.delete(key);
    if (last !== info) {
      this.#pods[i] = last;
      this.#index.set(podKey(last.pod), i);
    }
    this.#account(info, -1);
    return info;
  }

  /** Replaces a pod (remove by key, then add). */
  updatePod(info: PodInfo): void {
    this.removePod(podKey(info.pod));
    this.addPod(info);
  }

  /** An independent copy (the pods' PodInfo objects are shared: they are immutable). */
  clone(): NodeInfoBuilder {
    const c = new NodeInfoBuilder();
    c.#node = this.#node;
    c.#pods = this.#pods.slice();
    c.#index = new Map(this.#index);
    c.#allocatable = this.#allocatable;
    c.#requested = { ...this.#requested };
    c.#nonZeroRequested = { ...this.#nonZeroRequested };
    c.#usedPorts = this.#usedPorts.slice();
    c.#generation = this.#generation;
    return c;
  }

  #account(info: PodInfo, sign: 1 | -1): void {
    addAmounts(this.#requested, info.requests, sign);
    addAmounts(this.#nonZeroRequested, info.nonZeroRequests, sign);
    for (const port of hostPortsOf(info.pod)) {
      if (sign > 0) {
        this.#usedPorts.push(port);
      } else {
        const j = this.#usedPorts.findIndex((u) => u.ip === port.ip && u.protocol === port.protocol && u.port === port.port);
        if (j !== -1) this.#usedPorts.splice(j, 1);
      }
    }
    this.#touch();
  }

  #touch(): void {
    this.#generation = ++NodeInfoBuilder.#nextGeneration;
  }
}

/** A NodeInfo for `node` with `pods` on it (`NewNodeInfo(pods...)` + `SetNode`); accepts Pods or PodInfos. */
export function nodeInfoOf(node: DeepReadonly<Node>, pods: ReadonlyArray<ReadonlyPod | PodInfo> = []): NodeInfoBuilder {
  const ni = new NodeInfoBuilder(node);
  for (const p of pods) ni.addPod(isPodInfo(p) ? p : podInfoOf(p));
  return ni;
}

function isPodInfo(p: ReadonlyPod | PodInfo): p is PodInfo {
  return (p as PodInfo).requests !== undefined && (p as PodInfo).pod !== undefined;
}
