import type { EndpointSubset, SliceEndpoint, SlicePort } from "./api.ts";
import { compareAddresses, comparePorts } from "./repack.ts";

/** JSON with object keys sorted, `undefined` dropped: equal for equal data whatever the key order. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

function dropRv<T extends { targetRef?: { resourceVersion?: string | undefined } | undefined }>(x: T): T {
  if (!x.targetRef || x.targetRef.resourceVersion === undefined) return x;
  const { resourceVersion: _, ...ref } = x.targetRef;
  return { ...x, targetRef: ref };
}

/**
 * Subsets in a canonical form: `targetRef.resourceVersion` and empty `nodeName`s dropped,
 * addresses sorted by IP then UID, ports by name/number/protocol, subsets by their content,
 * empty lists removed. Two Endpoints that mean the same have the same `stableJson` of this.
 */
export function canonicalSubsets(subsets: ReadonlyArray<EndpointSubset> | null | undefined): EndpointSubset[] {
  const out = (subsets ?? []).map((s) => {
    const addr = (list: EndpointSubset["addresses"]) => (list ?? []).map((a) => {
      const b = dropRv({ ...a });
      if (b.nodeName === "" || b.nodeName === null) delete b.nodeName;
      return b;
    }).sort(compareAddresses);
    const addresses = addr(s.addresses);
    const notReady = addr(s.notReadyAddresses);
    const ports = [...(s.ports ?? [])].map((p) => ({ ...p, name: p.name || undefined, protocol: p.protocol ?? "TCP" })).sort(comparePorts);
    return {
      ...(addresses.length ? { addresses } : {}),
      ...(notReady.length ? { notReadyAddresses: notReady } : {}),
      ...(ports.length ? { ports } : {}),
    };
  });
  return out.sort((a, b) => {
    const x = stableJson(a);
    const y = stableJson(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** One endpoint of a slice with the slice's address type and ports, for comparing slices as sets. */
export interface CanonicalSliceEndpoint {
  addressType: string;
  ports: SlicePort[];
  endpoint: SliceEndpoint | null;
}

/**
 * The endpoints of a set of slices as a sorted list of `{addressType, ports, endpoint}`
 * (`targetRef.resourceVersion` dropped, addresses and ports sorted, empty names and hints
 * normalised), plus one `endpoint: null` entry per slice without endpoints (the placeholder
 * slice). How slices split their endpoints, their names and endpoint order are left out: the
 * built-in controller picks them at random.
 */
export function canonicalSliceEndpoints(slices: ReadonlyArray<{ addressType: string; ports?: ReadonlyArray<SlicePort> | null; endpoints?: ReadonlyArray<SliceEndpoint> | null }>): string[] {
  const out: string[] = [];
  for (const s of slices) {
    const ports = [...(s.ports ?? [])].map((p) => ({ name: p.name ?? "", port: p.port ?? null, protocol: p.protocol ?? "TCP", appProtocol: p.appProtocol ?? null }))
      .sort((a, b) => stableJson(a) < stableJson(b) ? -1 : 1);
    const eps = s.endpoints ?? [];
    if (eps.length === 0) out.push(stableJson({ addressType: s.addressType, ports, endpoint: null }));
    for (const ep of eps) {
      const e = dropRv({ ...ep, addresses: [...ep.addresses].sort() });
      if (e.hints && !e.hints.forZones?.length && !e.hints.forNodes?.length) delete e.hints;
      out.push(stableJson({ addressType: s.addressType, ports, endpoint: e }));
    }
  }
  return out.sort();
}
