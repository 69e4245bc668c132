import { isIPv6 } from "node:net";
import type { DeepReadonly, Pod, Service } from "../../framework/meta/index.ts";

/** A pod as the cache hands it out, or a plain one. */
export type PodLike = Pod | DeepReadonly<Pod>;
/** A Service as the cache hands it out, or a plain one. */
export type ServiceLike = Service | DeepReadonly<Service>;
/** One port of a Service's spec. */
export type ServicePortLike = NonNullable<NonNullable<ServiceLike["spec"]>["ports"]>[number];

/** Whether the pod's `Ready` condition is `True` (upstream `podutil.IsPodReady`). */
export function isPodReady(pod: PodLike): boolean {
  return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/** The `lastTransitionTime` of the pod's Ready condition, or undefined. */
export function readyTransitionTime(pod: PodLike): string | undefined {
  const t = pod.status?.conditions?.find((c) => c.type === "Ready")?.lastTransitionTime;
  return t ? String(t) : undefined;
}

/**
 * Whether the pod belongs in an Endpoints or EndpointSlice: not `Failed`/`Succeeded`, with an
 * IP, and, unless `includeTerminating`, not being deleted. Mirrors
 * `k8s.io/endpointslice/util.ShouldPodBeInEndpoints` v0.36 (the Endpoints controller passes
 * `publishNotReadyAddresses`, the EndpointSlice controller `true`).
 */
export function shouldPodBeInEndpoints(pod: PodLike, includeTerminating: boolean): boolean {
  const phase = pod.status?.phase;
  if (phase === "Failed" || phase === "Succeeded") return false;
  if (!pod.status?.podIP && (pod.status?.podIPs?.length ?? 0) === 0) return false;
  if (!includeTerminating && pod.metadata?.deletionTimestamp) return false;
  return true;
}

/** Whether the address gets the pod's hostname: set, and the pod's subdomain is the Service's name (upstream `ShouldSetHostname`). */
export function shouldSetHostname(pod: PodLike, service: ServiceLike): boolean {
  return !!pod.spec?.hostname && pod.spec?.subdomain === service.metadata?.name && service.metadata?.namespace === pod.metadata?.namespace;
}

/**
 * The container port a Service port targets on this pod, or undefined when a named target port
 * has no container port of that name and protocol (in the containers, then in the restartable
 * init containers). A numeric target port is taken as is; an absent one defaults to the
 * Service port (the API server defaults it so). Mirrors `podutil.FindPort` / endpointslice
 * `FindPort` v1.36.
 */
export function findPort(pod: PodLike, servicePort: ServicePortLike): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  const protocol = servicePort.protocol ?? "TCP";
  if (typeof target === "number") return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? "TCP") === protocol) return p.containerPort;
  }
  for (const c of pod.spec?.initContainers ?? []) {
    if (c.restartPolicy !== "Always") continue;
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? "TCP") === protocol) return p.containerPort;
  }
  return undefined;
}

/** True for a Service with a cluster IP (not headless; upstream `IsServiceIPSet`). */
export function isServiceIpSet(service: ServiceLike): boolean {
  const ip = service.spec?.clusterIP;
  return !!ip && ip !== "None";
}

/**
 * An IP in Go's `net.IP.String()` form (upstream re-stringifies with `ParseIPSloppy`): IPv4
 * without leading zeros, IPv6 compressed and lower case, an IPv4-mapped IPv6 as dotted IPv4.
 * Returns the input when it does not parse.
 */
export function canonicalIp(ip: string): string {
  const v4 = parseIpv4Sloppy(ip);
  if (v4) return v4.join(".");
  const bytes = ipv6Bytes(ip);
  if (!bytes) return ip;
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // Longest run of zero groups (length >= 2) becomes "::", as Go does.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

function parseIpv4Sloppy(ip: string): number[] | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p))) return undefined;
  const nums = parts.map(Number);
  return nums.every((n) => n <= 255) ? nums : undefined;
}

/** The 16 bytes of an IPv6 address (with an optional dotted IPv4 tail), or undefined. */
function ipv6Bytes(ip: string): number[] | undefined {
  if (!isIPv6(ip)) return undefined;
  let text = ip;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    const v4 = parseIpv4Sloppy(text.slice(lastColon + 1));
    if (!v4) return undefined;
    tail.push(...v4);
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [head, rest] = text.includes("::") ? text.split("::") as [string, string] : [text, undefined];
  const hs = head ? head.split(":") : [];
  const rs = rest !== undefined && rest !== "" ? rest.split(":") : [];
  const fill = rest !== undefined ? 8 - hs.length - rs.length : 0;
  const groups = [...hs, ...Array<string>(fill).fill("0"), ...rs].map((g) => parseInt(g, 16));
  if (groups.length !== 8) return undefined;
  const bytes = groups.flatMap((g) => [g >> 8, g & 0xff]);
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

/** True when `ip` is an IPv6 address (an IPv4-mapped one counts as IPv4, as `utilnet.IsIPv6String`). */
export function isIpv6String(ip: string): boolean {
  const bytes = ipv6Bytes(ip);
  if (!bytes) return false;
  return !(bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff);
}

/** The pod's IPs as `status.podIPs` lists them (upstream reads only that list when building addresses). */
export function podIps(pod: PodLike): string[] {
  return (pod.status?.podIPs ?? []).map((p) => p.ip).filter((ip): ip is string => !!ip);
}

/**
 * Whether a pod update can change endpoints (`podChanged`) and which Services select it
 * (`membershipChanged`: labels, hostname or subdomain). Mirrors
 * `k8s.io/endpointslice/util.podEndpointsChanged` v0.36: deletionTimestamp, readiness and the
 * podIPs are what can change an endpoint; name, namespace, uid and nodeName cannot change
 * once the pod has an IP.
 */
export function podEndpointsChanged(oldPod: PodLike, newPod: PodLike): { podChanged: boolean; membershipChanged: boolean } {
  const membershipChanged = !sameLabels(oldPod.metadata?.labels, newPod.metadata?.labels) ||
    (oldPod.spec?.hostname ?? "") !== (newPod.spec?.hostname ?? "") ||
    (oldPod.spec?.subdomain ?? "") !== (newPod.spec?.subdomain ?? "");
  // Upstream compares the two *metav1.Time pointers: two decoded pods never share one, so any
  // update of a pod that is (or was) being deleted counts as a change.
  if (oldPod.metadata?.deletionTimestamp || newPod.metadata?.deletionTimestamp) return { podChanged: true, membershipChanged };
  if (isPodReady(oldPod) !== isPodReady(newPod)) return { podChanged: true, membershipChanged };
  const a = oldPod.status?.podIPs ?? [];
  const b = newPod.status?.podIPs ?? [];
  if (a.length !== b.length || a.some((ip, i) => ip.ip !== b[i]?.ip)) return { podChanged: true, membershipChanged };
  return { podChanged: false, membershipChanged };
}

function sameLabels(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => (a ?? {})[k] === (b ?? {})[k]);
}
