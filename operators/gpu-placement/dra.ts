/**
 * GPUs published through Dynamic Resource Allocation (`resource.k8s.io/v1`): the devices of
 * node-local ResourceSlices of a GPU driver, and which of them ResourceClaims have allocated.
 *
 * Mirrors the shapes of `k8s.io/api/resource/v1` in Kubernetes v1.36 (`ResourceSlice.spec{driver,
 * pool{name, generation}, nodeName, devices[]{name, attributes, capacity}}`,
 * `ResourceClaim.status.allocation.devices.results[]{driver, pool, device}`) and the NVIDIA DRA
 * driver's device attributes (`type: gpu`, `productName`, capacity `memory`). As the scheduler's
 * `pkg/scheduler/framework/plugins/dynamicresources` does, only the slices of a pool's newest
 * generation count.
 */
import type { IResourceSlice } from "kubernetes-models/resource.k8s.io/v1/ResourceSlice";
import type { IResourceClaim } from "kubernetes-models/resource.k8s.io/v1/ResourceClaim";
import { resourceType, type DeepReadonly } from "../../framework/meta/index.ts";
import { parseQuantityNanos } from "../../framework/scheduling/resources.ts";

/** A `resource.k8s.io/v1` ResourceSlice. */
export type ResourceSlice = IResourceSlice;
/** A `resource.k8s.io/v1` ResourceClaim. */
export type ResourceClaim = IResourceClaim;

/** `resource.k8s.io/v1` ResourceSlices (cluster-scoped). */
export const ResourceSlices = resourceType<ResourceSlice>({ group: "resource.k8s.io", version: "v1", kind: "ResourceSlice", plural: "resourceslices", namespaced: false });
/** `resource.k8s.io/v1` ResourceClaims. */
export const ResourceClaims = resourceType<ResourceClaim>({ group: "resource.k8s.io", version: "v1", kind: "ResourceClaim", plural: "resourceclaims", namespaced: true });

/** The NVIDIA DRA driver's name (`k8s-dra-driver-gpu`), the default GPU driver. */
export const NVIDIA_DRA_DRIVER = "gpu.nvidia.com";

/** One GPU device published in a ResourceSlice. */
export interface DraGpu {
  readonly node: string;
  readonly driver: string;
  readonly pool: string;
  readonly device: string;
  /** `productName` attribute; undefined when the driver does not publish one. */
  readonly product?: string;
  /** `memory` capacity in MiB; undefined when absent. */
  readonly memoryMiB?: number;
}

type Attributes = NonNullable<NonNullable<ResourceSlice["spec"]["devices"]>[number]["attributes"]>;

/** An attribute by its short name or its driver-qualified name (`<driver>/<name>`), as DRA's CEL `device.attributes` resolves it. */
function attribute(attributes: DeepReadonly<Attributes> | undefined, driver: string, name: string) {
  return attributes?.[name] ?? attributes?.[`${driver}/${name}`];
}

/**
 * The GPU devices of node-local slices (`spec.nodeName` set) whose driver is in `drivers`; a
 * device whose `type` attribute is set and not `gpu` (e.g. a MIG partition: `mig`) is left out.
 * Slices of an older pool generation than the newest seen for that pool are ignored.
 */
export function draGpus(slices: ReadonlyArray<DeepReadonly<ResourceSlice>>, drivers: ReadonlySet<string>): DraGpu[] {
  const newest = new Map<string, number>();
  for (const s of slices) {
    if (!drivers.has(s.spec.driver)) continue;
    const key = `${s.spec.driver}/${s.spec.pool.name}`;
    newest.set(key, Math.max(newest.get(key) ?? 0, s.spec.pool.generation));
  }
  const out: DraGpu[] = [];
  for (const s of slices) {
    const { driver, pool, nodeName } = s.spec;
    if (!drivers.has(driver) || !nodeName || pool.generation !== newest.get(`${driver}/${pool.name}`)) continue;
    for (const d of s.spec.devices ?? []) {
      const type = attribute(d.attributes, driver, "type")?.string;
      if (type !== undefined && type !== "gpu") continue;
      const product = attribute(d.attributes, driver, "productName")?.string;
      const memory = d.capacity?.memory?.value ?? d.capacity?.[`${driver}/memory`]?.value;
      let memoryMiB: number | undefined;
      if (memory !== undefined) {
        try {
          memoryMiB = Number(parseQuantityNanos(memory) / (1_000_000_000n * 1024n * 1024n));
        } catch {
          memoryMiB = undefined;
        }
      }
      out.push({
        node: nodeName, driver, pool: pool.name, device: d.name,
        ...(product ? { product } : {}), ...(memoryMiB !== undefined ? { memoryMiB } : {}),
      });
    }
  }
  return out;
}

/** `driver/pool/device` of every device allocated by a claim (`status.allocation.devices.results`). */
export function allocatedDevices(claims: ReadonlyArray<DeepReadonly<ResourceClaim>>): Set<string> {
  const out = new Set<string>();
  for (const c of claims) {
    for (const r of c.status?.allocation?.devices?.results ?? []) out.add(`${r.driver}/${r.pool}/${r.device}`);
  }
  return out;
}
