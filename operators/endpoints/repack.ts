import type { EndpointAddress, EndpointPort, EndpointSubset } from "./api.ts";

/** The sentinel port of addresses that came without ports (headless Services without ports). */
const NO_PORT = "\u0000no-port";

function portKey(p: EndpointPort): string {
  return JSON.stringify([p.name ?? "", p.port, p.protocol ?? "", p.appProtocol ?? null]);
}

function addressKey(a: EndpointAddress): string {
  return `${a.ip}\u0000${a.targetRef?.uid ?? ""}`;
}

/**
 * Regroups subsets so that each address appears once per port, an address that is not ready
 * on a port stays not ready there (not-ready trumps ready), and addresses exposing the same set
 * of ports (with the same readiness) share one subset; addresses without ports are kept under a
 * sentinel. Mirrors `k8s.io/kubernetes/pkg/api/v1/endpoints.RepackSubsets` v1.36: addresses are
 * identified by IP and target UID, the first copy of an address is kept.
 * The result is sorted by `sortSubsets`.
 */
export function repackSubsets(subsets: readonly EndpointSubset[]): EndpointSubset[] {
  const allAddrs = new Map<string, EndpointAddress>();
  // port key -> (address key -> ready)
  const portToAddrReady = new Map<string, { port: EndpointPort | undefined; addrs: Map<string, boolean> }>();
  const mapAddress = (addr: EndpointAddress, port: EndpointPort | undefined, ready: boolean): void => {
    const key = addressKey(addr);
    if (!allAddrs.has(key)) allAddrs.set(key, { ...addr });
    const pk = port ? portKey(port) : NO_PORT;
    let entry = portToAddrReady.get(pk);
    if (!entry) portToAddrReady.set(pk, (entry = { port, addrs: new Map() }));
    const was = entry.addrs.get(key);
    if (was === undefined || was) entry.addrs.set(key, ready);
  };
  for (const subset of subsets) {
    const ports = subset.ports && subset.ports.length > 0 ? subset.ports : [undefined];
    for (const port of ports) {
      for (const a of subset.addresses ?? []) mapAddress(a, port, true);
      for (const a of subset.notReadyAddresses ?? []) mapAddress(a, port, false);
    }
  }
  // Group the ports by their identical (address, readiness) sets.
  const groups = new Map<string, { addrs: Map<string, boolean>; ports: EndpointPort[] }>();
  for (const { port, addrs } of portToAddrReady.values()) {
    const key = [...addrs.entries()].map(([k, r]) => `${k}\u0000${r ? 1 : 0}`).sort().join("\u0001");
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { addrs, ports: [] }));
    if (port && port.port > 0) g.ports.push(port);
  }
  const final: EndpointSubset[] = [];
  for (const { addrs, ports } of groups.values()) {
    const ready: EndpointAddress[] = [];
    const notReady: EndpointAddress[] = [];
    for (const [k, r] of addrs) (r ? ready : notReady).push(allAddrs.get(k)!);
    final.push({
      ...(ready.length ? { addresses: ready } : {}),
      ...(notReady.length ? { notReadyAddresses: notReady } : {}),
      ...(ports.length ? { ports } : {}),
    });
  }
  return sortSubsets(final);
}

/**
 * Orders addresses as upstream `LessEndpointAddress`: the IP *strings* byte by byte
 * (`bytes.Compare([]byte(a.IP), []byte(b.IP))`, so "10.0.0.10" < "10.0.0.9"), then an address
 * without a target before one with, then target UIDs. Truncation keeps the first 1000 in this
 * order, so it decides which addresses survive.
 */
export function compareAddresses(a: EndpointAddress, b: EndpointAddress): number {
  if (a.ip !== b.ip) return a.ip < b.ip ? -1 : 1;
  if (!b.targetRef) return a.targetRef ? 1 : 0;
  if (!a.targetRef) return -1;
  const ua = a.targetRef.uid ?? "";
  const ub = b.targetRef.uid ?? "";
  return ua < ub ? -1 : ua > ub ? 1 : 0;
}

/** Orders ports by name, number, protocol, appProtocol. */
export function comparePorts(a: EndpointPort, b: EndpointPort): number {
  const ka = portKey(a);
  const kb = portKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * Sorts addresses within each subset by IP string then UID (as upstream), ports by name, number
 * and protocol, and subsets by their first port then first address. Upstream orders ports and
 * subsets by an FNV hash of a go-spew dump, an order with no meaning that only the truncation
 * of more than 1000 addresses spread over several subsets can observe (see README).
 */
export function sortSubsets(subsets: EndpointSubset[]): EndpointSubset[] {
  for (const s of subsets) {
    s.addresses?.sort(compareAddresses);
    s.notReadyAddresses?.sort(compareAddresses);
    s.ports?.sort(comparePorts);
  }
  const keyOf = (s: EndpointSubset): string => JSON.stringify([
    (s.ports ?? []).map(portKey),
    [...(s.addresses ?? []), ...(s.notReadyAddresses ?? [])].map(addressKey),
  ]);
  return subsets.sort((a, b) => {
    const ka = keyOf(a);
    const kb = keyOf(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/** Maximum addresses (ready + not ready) one Endpoints holds (upstream `maxCapacity`). */
export const MAX_ENDPOINTS_CAPACITY = 1000;
/** Annotation set on a truncated Endpoints. */
export const OVER_CAPACITY_ANNOTATION = "endpoints.kubernetes.io/over-capacity";
/** Its value. */
export const TRUNCATED = "truncated";

/**
 * Truncates the subsets in place to `MAX_ENDPOINTS_CAPACITY` addresses: ready ones first;
 * not-ready (or, when the ready ones alone are too many, ready) slots are shared among subsets
 * in proportion to their size, rounded up, capped by what is left. Returns whether anything
 * had to be cut. Mirrors `truncateEndpoints` in `pkg/controller/endpoint` v1.36.
 */
export function truncateSubsets(subsets: EndpointSubset[], maxCapacity = MAX_ENDPOINTS_CAPACITY): boolean {
  let totalReady = 0;
  let totalNotReady = 0;
  for (const s of subsets) {
    totalReady += s.addresses?.length ?? 0;
    totalNotReady += s.notReadyAddresses?.length ?? 0;
  }
  if (totalReady + totalNotReady <= maxCapacity) return false;
  const truncateReady = totalReady > maxCapacity;
  const max = truncateReady ? maxCapacity : maxCapacity - totalReady;
  const numTotal = truncateReady ? totalReady : totalNotReady;
  let canBeAdded = max;
  for (const s of subsets) {
    const numInSubset = truncateReady ? s.addresses?.length ?? 0 : s.notReadyAddresses?.length ?? 0;
    const toBeAdded = Math.min(Math.ceil((numInSubset / numTotal) * max), canBeAdded);
    if (truncateReady) {
      if (s.addresses) s.addresses = s.addresses.slice(0, toBeAdded);
      delete s.notReadyAddresses;
      canBeAdded -= s.addresses?.length ?? 0;
    } else {
      if (s.notReadyAddresses) s.notReadyAddresses = s.notReadyAddresses.slice(0, toBeAdded);
      canBeAdded -= s.notReadyAddresses?.length ?? 0;
    }
    if (s.addresses?.length === 0) delete s.addresses;
    if (s.notReadyAddresses?.length === 0) delete s.notReadyAddresses;
  }
  return true;
}

/**
 * Whether the over-capacity annotation is consistent with `subsets`: false when they exceed
 * the capacity (they must be truncated), else true iff the annotation is absent (upstream
 * `capacityAnnotationSetCorrectly`).
 */
export function capacityAnnotationSetCorrectly(annotations: Readonly<Record<string, string>> | undefined, subsets: readonly EndpointSubset[] | undefined): boolean {
  let n = 0;
  for (const s of subsets ?? []) n += (s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0);
  if (n > MAX_ENDPOINTS_CAPACITY) return false;
  return annotations?.[OVER_CAPACITY_ANNOTATION] === undefined;
}
