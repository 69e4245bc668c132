import type { DeepReadonly, Node } from "../../framework/meta/index.ts";
import type { AddressType, SliceEndpoint, SlicePort } from "./api.ts";
import { HEADLESS_LABEL } from "./endpoints-desired.ts";
import { isServiceIpSet, shouldPodBeInEndpoints, type PodLike, type ServiceLike } from "./pods.ts";
import {
  addressTypesForService, endpointKey, endpointPortsFor, endpointsEqualBeyondKey, podToSliceEndpoint, portMapKey,
} from "./slices-desired.ts";

/** Label naming the Service of a slice. */
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
/** Label naming the controller that manages a slice. */
export const SLICE_MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
/** Default and bounds of endpoints per slice (kube-controller-manager `--max-endpoints-per-slice`). */
export const DEFAULT_MAX_ENDPOINTS_PER_SLICE = 100;

/** A slice as the planner sees it: what the controller reads from and writes to one object. */
export interface SliceState {
  /** Name; absent for a slice still to be created (`generateName: <service>-`). */
  name?: string;
  addressType: AddressType;
  ports: SlicePort[];
  endpoints: SliceEndpoint[];
  labels: Record<string, string>;
  /** Whether the slice has an owner reference to this very Service (kind Service, v1, its UID). */
  ownedByService: boolean;
}

/** What to write: slices to create (no name), to update (named) and the names to delete. */
export interface SlicePlan {
  create: SliceState[];
  update: SliceState[];
  delete: string[];
  /** Nodes named by pods that were skipped because the node is not known (the sync must be retried). */
  missingNodes: string[];
}

/** What `planSlices` needs. */
export interface PlanInput {
  service: ServiceLike;
  /** Pods the Service's selector matches. */
  pods: readonly PodLike[];
  /** The node of that name, or undefined when it does not exist. */
  nodeOf(name: string): Node | DeepReadonly<Node> | undefined;
  /** The Service's current slices (by label), as `SliceState`s (deep copies: the planner changes them). */
  existing: SliceState[];
  maxEndpointsPerSlice: number;
  /** The value of `SLICE_MANAGED_BY_LABEL` on our slices. */
  controllerName: string;
}

const RESERVED = new Set([SERVICE_NAME_LABEL, SLICE_MANAGED_BY_LABEL, HEADLESS_LABEL]);

/**
 * The labels of a slice of `service` and whether they differ from `current` in anything but the
 * reserved keys: the Service's labels (reserved keys dropped), the headless label when the
 * Service has no cluster IP, the service name and managed-by labels. Mirrors
 * `setEndpointSliceLabels`.
 */
export function sliceLabels(current: Readonly<Record<string, string>>, service: ServiceLike, controllerName: string): { labels: Record<string, string>; changed: boolean } {
  const cur = Object.entries(current).filter(([k]) => !RESERVED.has(k));
  const svc = Object.entries(service.metadata?.labels ?? {}).filter(([k]) => !RESERVED.has(k));
  const curMap = new Map(cur);
  const changed = cur.length !== svc.length || svc.some(([k, v]) => curMap.get(k) !== v);
  const labels: Record<string, string> = Object.fromEntries(svc);
  if (!isServiceIpSet(service)) labels[HEADLESS_LABEL] = "";
  labels[SERVICE_NAME_LABEL] = service.metadata?.name ?? "";
  labels[SLICE_MANAGED_BY_LABEL] = controllerName;
  return { labels, changed };
}

/**
 * The slice among `slices` that ends closest to full once `numEndpoints` are added, without
 * going over `maxEndpoints`; undefined when none has room. Mirrors `getSliceToFill`.
 */
export function getSliceToFill<S extends { endpoints: readonly unknown[] }>(slices: readonly S[], numEndpoints: number, maxEndpoints: number): S | undefined {
  let closestDiff = maxEndpoints;
  let closest: S | undefined;
  for (const s of slices) {
    const diff = maxEndpoints - (numEndpoints + s.endpoints.length);
    if (diff >= 0 && diff < closestDiff) {
      closestDiff = diff;
      closest = s;
      if (diff === 0) return s;
    }
  }
  return closest;
}

/** Takes one endpoint out of `set` (upstream `PopAny`; insertion order here). */
function popAny(set: Map<string, SliceEndpoint>): SliceEndpoint {
  const [key, ep] = set.entries().next().value as [string, SliceEndpoint];
  set.delete(key);
  return ep;
}

/**
 * Places the desired endpoints of one port list into slices, changing as few as possible:
 * (1) each endpoint stays in the slice that has it (slices that lose or change endpoints, or
 * whose labels changed, are updated; emptied ones deleted); (2) the remaining ones fill the
 * slices being updated, fullest first; (3) what is still left goes into the unchanged slice
 * that ends closest to full when fewer than a slice's worth remain, else into new slices.
 * Mirrors `reconcileByPortMapping` in `k8s.io/endpointslice` v0.36.
 */
export function reconcileByPortMapping(
  service: ServiceLike, existing: SliceState[], desired: Map<string, SliceEndpoint>, meta: { addressType: AddressType; ports: SlicePort[] },
  maxEndpointsPerSlice: number, controllerName: string,
): { create: SliceState[]; update: SliceState[]; delete: SliceState[] } {
  const unchanged: SliceState[] = [];
  const toUpdate: SliceState[] = [];
  const toDelete: SliceState[] = [];
  for (const slice of existing) {
    const kept: SliceEndpoint[] = [];
    let endpointUpdated = false;
    for (const ep of slice.endpoints) {
      const key = endpointKey(ep);
      const got = desired.get(key);
      if (!got) continue;
      kept.push(got);
      if (!endpointsEqualBeyondKey(got, ep)) endpointUpdated = true;
      desired.delete(key);
    }
    const { labels, changed } = sliceLabels(slice.labels, service, controllerName);
    if (endpointUpdated || kept.length !== slice.endpoints.length) {
      if (kept.length === 0) toDelete.push(slice);
      else toUpdate.push({ ...slice, endpoints: kept, labels });
    } else if (changed) {
      toUpdate.push({ ...slice, labels });
    } else {
      unchanged.push(slice);
    }
  }
  if (desired.size > 0 && toUpdate.length > 0) {
    const byFullness = [...toUpdate].sort((a, b) => b.endpoints.length - a.endpoints.length);
    for (const slice of byFullness) {
      while (desired.size > 0 && slice.endpoints.length < maxEndpointsPerSlice) slice.endpoints.push(popAny(desired));
    }
  }
  const toCreate: SliceState[] = [];
  while (desired.size > 0) {
    let fill: SliceState | undefined;
    if (desired.size < maxEndpointsPerSlice && unchanged.length > 0) {
      const found = getSliceToFill(unchanged, desired.size, maxEndpointsPerSlice);
      if (found) {
        unchanged.splice(unchanged.indexOf(found), 1);
        fill = { ...found, endpoints: [...found.endpoints] };
        toUpdate.push(fill);
      }
    }
    if (!fill) {
      fill = newSlice(service, meta, controllerName);
      toCreate.push(fill);
    }
    while (desired.size > 0 && fill.endpoints.length < maxEndpointsPerSlice) fill.endpoints.push(popAny(desired));
  }
  return { create: toCreate, update: toUpdate, delete: toDelete };
}

/** A new, unnamed slice of `service` (upstream `newEndpointSlice`). */
export function newSlice(service: ServiceLike, meta: { addressType: AddressType; ports: SlicePort[] }, controllerName: string): SliceState {
  return { addressType: meta.addressType, ports: meta.ports, endpoints: [], labels: sliceLabels({}, service, controllerName).labels, ownedByService: true };
}

/** The trafficDistribution the hints follow, or undefined (no hints). The topology annotation disables it, as upstream. */
function trafficDistributionOf(service: ServiceLike): "zone" | "node" | undefined {
  const annotations = service.metadata?.annotations ?? {};
  const mode = annotations["service.kubernetes.io/topology-aware-hints"] ?? annotations["service.kubernetes.io/topology-mode"];
  if (mode === "Auto" || mode === "auto") return undefined;
  switch (service.spec?.trafficDistribution) {
    case "PreferClose":
    case "PreferSameZone": return "zone";
    case "PreferSameNode": return "node";
    default: return undefined;
  }
}

/** Whether a slice's hints are not what the trafficDistribution asks for (upstream `preferCloseHeuristic.needsUpdate` / `defaultHeuristic`). */
function hintsNeedUpdate(slice: SliceState, mode: "zone" | "node" | undefined): boolean {
  for (const ep of slice.endpoints) {
    if (mode === undefined) {
      if (ep.hints) return true;
      continue;
    }
    if (ep.conditions?.ready !== true) continue;
    const zones = ep.hints?.forZones ?? [];
    const nodes = ep.hints?.forNodes ?? [];
    if (ep.zone !== undefined) {
      if (zones.length !== 1 || zones[0]!.name !== ep.zone) return true;
    } else if (zones.length > 0) return true;
    if (ep.nodeName !== undefined && mode === "node") {
      if (nodes.length !== 1 || nodes[0]!.name !== ep.nodeName) return true;
    } else if (nodes.length > 0) return true;
  }
  return false;
}

/** Sets the hints of the endpoints of a slice being written (upstream heuristics' `update`). */
function applyHints(slice: SliceState, mode: "zone" | "node" | undefined): void {
  slice.endpoints = slice.endpoints.map((ep) => {
    if (mode === undefined) {
      const { hints: _, ...rest } = ep;
      return rest;
    }
    if (ep.conditions?.ready !== true) return ep;
    const forZones = ep.zone !== undefined ? [{ name: ep.zone }] : undefined;
    const forNodes = ep.nodeName !== undefined && mode === "node" ? [{ name: ep.nodeName }] : undefined;
    const { hints: _, ...rest } = ep;
    return forZones || forNodes ? { ...rest, hints: { ...(forZones ? { forZones } : {}), ...(forNodes ? { forNodes } : {}) } } : rest;
  });
}

function isPlaceholderOf(slice: SliceState, placeholder: SliceState): boolean {
  if (slice.addressType !== placeholder.addressType || !slice.ownedByService) return false;
  if (slice.endpoints.length > 0 || slice.ports.length > 0) return false;
  const a = Object.entries(slice.labels);
  return a.length === Object.keys(placeholder.labels).length && a.every(([k, v]) => placeholder.labels[k] === v);
}

/**
 * Plans the writes that bring a Service's slices to the desired state: the EndpointSlice
 * reconciler of `k8s.io/endpointslice` v0.36 (`Reconcile`, `reconcileByAddressType`,
 * `finalize`): slices of address types the Service no longer has, or not owned by it, are
 * deleted; per address type, pods go in when `shouldPodBeInEndpoints` (terminating included)
 * and their node exists (or the Service publishes not-ready addresses), grouped by their port
 * list and placed by `reconcileByPortMapping`; an address type without any endpoint keeps (or
 * gets) one empty placeholder slice; hints follow `spec.trafficDistribution`; creates paired
 * with deletes become updates of the deleted slice; nothing is created while the Service is
 * being deleted.
 */
export function planSlices(input: PlanInput): SlicePlan {
  const { service, controllerName } = input;
  const max = input.maxEndpointsPerSlice;
  const types = addressTypesForService(service);
  const plan: SlicePlan = { create: [], update: [], delete: [], missingNodes: [] };
  const missing = new Set<string>();
  const mode = trafficDistributionOf(service);
  for (const slice of input.existing) if (!types.includes(slice.addressType)) plan.delete.push(slice.name!);
  for (const addressType of types) {
    const existing = input.existing.filter((s) => s.addressType === addressType);
    const create: SliceState[] = [];
    const update: SliceState[] = [];
    const del: SliceState[] = [];
    const byPorts = new Map<string, SliceState[]>();
    for (const s of existing) {
      if (!s.ownedByService) {
        del.push(s);
        continue;
      }
      const k = portMapKey(s.ports);
      byPorts.set(k, [...byPorts.get(k) ?? [], s]);
    }
    const desired = new Map<string, { ports: SlicePort[]; endpoints: Map<string, SliceEndpoint> }>();
    for (const pod of input.pods) {
      if (!shouldPodBeInEndpoints(pod, true)) continue;
      const ports = endpointPortsFor(service, pod);
      const k = portMapKey(ports);
      let group = desired.get(k);
      if (!group) desired.set(k, (group = { ports, endpoints: new Map() }));
      const nodeName = pod.spec?.nodeName ?? "";
      const node = input.nodeOf(nodeName);
      if (!node && !service.spec?.publishNotReadyAddresses) {
        missing.add(nodeName);
        continue;
      }
      const ep = podToSliceEndpoint(pod, node, service, addressType);
      if (ep.addresses.length > 0) group.endpoints.set(endpointKey(ep), ep);
    }
    for (const [k, group] of desired) {
      const r = reconcileByPortMapping(service, byPorts.get(k) ?? [], group.endpoints, { addressType, ports: group.ports }, max, controllerName);
      create.push(...r.create);
      update.push(...r.update);
      del.push(...r.delete);
    }
    for (const [k, slices] of byPorts) if (!desired.has(k)) del.push(...slices);
    if (existing.length === del.length && create.length < 1) {
      const placeholder = newSlice(service, { addressType, ports: [] }, controllerName);
      const only = del.length === 1 ? del[0]! : undefined;
      if (only && isPlaceholderOf(only, placeholder)) del.length = 0;
      else create.push(placeholder);
    }
    // Hints: unchanged slices with wrong hints are updated too (with no trafficDistribution, any
    // hint is wrong: upstream `RemoveHintsFromSlices`); every slice written gets them.
    const changed = new Set([...update, ...del].map((s) => s.name));
    for (const s of existing) if (s.ownedByService && !changed.has(s.name) && hintsNeedUpdate(s, mode)) update.push({ ...s, endpoints: [...s.endpoints] });
    for (const s of [...create, ...update]) applyHints(s, mode);
    // finalize: turn creates into updates of slices that would be deleted.
    for (let i = 0; i < del.length && create.length > 0;) {
      const victim = del[i]!;
      if (victim.addressType === addressType && victim.ownedByService) {
        const slice = create.pop()!;
        update.push({ ...slice, name: victim.name! });
        del.splice(i, 1);
      } else i++;
    }
    if (!service.metadata?.deletionTimestamp) plan.create.push(...create);
    plan.update.push(...update);
    plan.delete.push(...del.map((s) => s.name!));
  }
  plan.missingNodes = [...missing];
  return plan;
}
