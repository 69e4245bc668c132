import type { DeepReadonly, Node } from "../../framework/meta/index.ts";
import type { AddressType, SliceEndpoint, SlicePort } from "./api.ts";
import { canonicalIp, findPort, isIpv6String, isPodReady, isServiceIpSet, podIps, shouldSetHostname, type PodLike, type ServiceLike } from "./pods.ts";

/** Node label giving an endpoint its zone. */
export const ZONE_LABEL = "topology.kubernetes.io/zone";

/**
 * The address types of `service`'s slices: one per `spec.ipFamilies` entry; without families,
 * the family of the cluster IP, or both for a headless Service. Mirrors
 * `getAddressTypesForService` in `k8s.io/endpointslice` v0.36.
 */
export function addressTypesForService(service: ServiceLike): AddressType[] {
  const out: AddressType[] = [];
  for (const f of service.spec?.ipFamilies ?? []) {
    if (f === "IPv4" && !out.includes("IPv4")) out.push("IPv4");
    if (f === "IPv6" && !out.includes("IPv6")) out.push("IPv6");
  }
  if (out.length > 0) return out;
  if (isServiceIpSet(service)) return [isIpv6String(service.spec!.clusterIP!) ? "IPv6" : "IPv4"];
  return ["IPv4", "IPv6"];
}

/**
 * The ports of `pod`'s endpoint: one per Service port whose target resolves on the pod (none,
 * and no error, for a headless Service without ports). Mirrors `getEndpointPorts`.
 */
export function endpointPortsFor(service: ServiceLike, pod: PodLike): SlicePort[] {
  const out: SlicePort[] = [];
  const ports = service.spec?.ports ?? [];
  if (ports.length === 0 && service.spec?.clusterIP === "None") return out;
  for (const sp of ports) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    out.push({
      name: sp.name ?? "",
      port,
      protocol: sp.protocol ?? "TCP",
      ...(sp.appProtocol !== undefined ? { appProtocol: sp.appProtocol } : {}),
    });
  }
  return out;
}

/** A key that is equal for equal port lists in any order (upstream `NewPortMapKey`, which hashes the sorted list). */
export function portMapKey(ports: readonly SlicePort[] | undefined): string {
  return JSON.stringify((ports ?? []).map((p) => [p.name ?? "", p.port ?? null, p.protocol ?? "", p.appProtocol ?? null]).sort((a, b) => {
    const x = JSON.stringify(a);
    const y = JSON.stringify(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }));
}

/**
 * The endpoint of `pod` in a slice of `addressType`: its addresses of that family
 * (re-stringified), conditions `serving` = Ready, `terminating` = being deleted, `ready` =
 * `publishNotReadyAddresses || (serving && !terminating)`, the target reference, `nodeName`
 * when set, `zone` from the node's `topology.kubernetes.io/zone`, `hostname` when the pod's
 * subdomain is the Service's name. Mirrors `podToEndpoint`.
 */
export function podToSliceEndpoint(pod: PodLike, node: Node | DeepReadonly<Node> | undefined, service: ServiceLike, addressType: AddressType): SliceEndpoint {
  const serving = isPodReady(pod);
  const terminating = !!pod.metadata?.deletionTimestamp;
  const ready = (service.spec?.publishNotReadyAddresses ?? false) || (serving && !terminating);
  const addresses = podIps(pod).filter((ip) => isIpv6String(ip) === (addressType === "IPv6")).map(canonicalIp);
  const zone = node?.metadata?.labels?.[ZONE_LABEL];
  return {
    addresses,
    conditions: { ready, serving, terminating },
    ...(shouldSetHostname(pod, service) ? { hostname: pod.spec!.hostname! } : {}),
    targetRef: { kind: "Pod", namespace: pod.metadata?.namespace ?? "", name: pod.metadata?.name ?? "", uid: pod.metadata?.uid ?? "" },
    ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
    ...(zone ? { zone } : {}),
  };
}

/** What identifies an endpoint across syncs: sorted addresses, hostname, target namespace and name (upstream `hashEndpoint`). */
export function endpointKey(ep: DeepReadonly<SliceEndpoint> | SliceEndpoint): string {
  return JSON.stringify([[...ep.addresses].sort(), ep.hostname ?? "", ep.targetRef?.namespace ?? "", ep.targetRef?.name ?? ""]);
}

/**
 * Whether two endpoints with the same `endpointKey` are equal in everything else that the
 * controller sets (nodeName, zone, conditions, targetRef without resourceVersion); hints are
 * not compared. Mirrors `EndpointsEqualBeyondHash`.
 */
export function endpointsEqualBeyondKey(a: DeepReadonly<SliceEndpoint> | SliceEndpoint, b: DeepReadonly<SliceEndpoint> | SliceEndpoint): boolean {
  if (a.nodeName !== b.nodeName || a.zone !== b.zone) return false;
  const ca = a.conditions ?? {};
  const cb = b.conditions ?? {};
  if (ca.ready !== cb.ready || ca.serving !== cb.serving || ca.terminating !== cb.terminating) return false;
  const ra = a.targetRef;
  const rb = b.targetRef;
  if (!ra || !rb) return !ra && !rb;
  const fields = ["kind", "namespace", "name", "uid", "apiVersion", "fieldPath"] as const;
  return fields.every((f) => (ra[f] ?? "") === (rb[f] ?? ""));
}
