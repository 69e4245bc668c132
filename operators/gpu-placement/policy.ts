/**
 * A GPUPlacementPolicy as the scheduler and the inventory use it: its pod selector compiled, the
 * policy that governs a pod chosen among overlapping ones, and whether a node meets the policy's
 * GPU requirements (required products, minimum GPU memory).
 */
import { labelSelectorAsSelector, type DeepReadonly, type LabelSet, type Selector } from "../../framework/meta/index.ts";
import { GPU_MEMORY_LABEL, GPU_PRODUCT_LABEL, type GPUPlacementPolicy } from "./api.ts";

/** Placement strategy of a policy (`spec.strategy`). */
export type Strategy = "BinPack" | "Spread";

/** A policy ready for matching: everything the scheduler and the inventory read, parsed once. */
export interface CompiledPolicy {
  readonly name: string;
  readonly generation: number;
  readonly strategy: Strategy;
  /** Selects the pods the policy governs; `nothing()` when the selector does not parse (see `selectorError`). */
  readonly selector: Selector;
  /** Why `spec.selector` did not parse, when it did not. */
  readonly selectorError?: string;
  /** Allowed values of `nvidia.com/gpu.product`; undefined allows any node. */
  readonly requiredProducts?: ReadonlySet<string>;
  /** Products in preference order (index 0 best); empty when none. */
  readonly preferredProducts: readonly string[];
  /** Minimum `nvidia.com/gpu.memory` (MiB per GPU); undefined for none. */
  readonly minGPUMemoryMiB?: number;
  /** 1..MAX_POLICY_WEIGHT. */
  readonly weight: number;
}

/**
 * Compiles a policy object. Never throws: a selector the API server accepted but the label
 * library refuses makes the policy select nothing, with the reason in `selectorError`.
 */
export function compilePolicy(policy: DeepReadonly<GPUPlacementPolicy>): CompiledPolicy {
  const spec = policy.spec;
  let selector: Selector;
  let selectorError: string | undefined;
  try {
    selector = labelSelectorAsSelector(spec.selector);
  } catch (err) {
    selector = labelSelectorAsSelector(undefined);
    selectorError = err instanceof Error ? err.message : String(err);
  }
  return {
    name: policy.metadata?.name ?? "",
    generation: policy.metadata?.generation ?? 0,
    strategy: spec.strategy,
    selector,
    ...(selectorError !== undefined ? { selectorError } : {}),
    ...(spec.requiredProducts?.length ? { requiredProducts: new Set(spec.requiredProducts) } : {}),
    preferredProducts: spec.preferredProducts ?? [],
    ...(spec.minGPUMemoryMiB !== undefined ? { minGPUMemoryMiB: spec.minGPUMemoryMiB } : {}),
    weight: spec.weight,
  };
}

/**
 * The policy that governs a pod with these labels: among the policies whose selector matches,
 * the one with the highest weight, ties broken by the first name in alphabetical order. Undefined
 * when none matches.
 */
export function policyFor(podLabels: LabelSet | undefined, policies: readonly CompiledPolicy[]): CompiledPolicy | undefined {
  let best: CompiledPolicy | undefined;
  for (const p of policies) {
    if (!p.selector.matches(podLabels)) continue;
    if (!best || p.weight > best.weight || (p.weight === best.weight && p.name < best.name)) best = p;
  }
  return best;
}

/** The node's `nvidia.com/gpu.product` label, or undefined. */
export function productOf(nodeLabels: LabelSet | undefined): string | undefined {
  const v = nodeLabels?.[GPU_PRODUCT_LABEL];
  return v === undefined || v === "" ? undefined : v;
}

/** The node's `nvidia.com/gpu.memory` label as MiB per GPU, or undefined when absent or not a non-negative integer. */
export function memoryMiBOf(nodeLabels: LabelSet | undefined): number | undefined {
  const v = nodeLabels?.[GPU_MEMORY_LABEL];
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

/** Why a node does not meet a policy's GPU requirements. */
export type Unmet = "product" | "memory";

/**
 * Checks a node's GPU product and memory against the policy's requirements: `"product"` when
 * `requiredProducts` is set and does not list the node's product (a node without the label
 * fails), `"memory"` when `minGPUMemoryMiB` is set and the node's memory label is lower or absent,
 * undefined when the node qualifies.
 */
export function unmetRequirement(policy: CompiledPolicy, product: string | undefined, memoryMiB: number | undefined): Unmet | undefined {
  if (policy.requiredProducts && (product === undefined || !policy.requiredProducts.has(product))) return "product";
  if (policy.minGPUMemoryMiB !== undefined && policy.minGPUMemoryMiB > 0 && (memoryMiB === undefined || memoryMiB < policy.minGPUMemoryMiB)) return "memory";
  return undefined;
}

/**
 * The bonus, 0..`max`, of a node's product under `preferredProducts`: `max` for the first,
 * decreasing linearly, 0 for products not listed (and for every node when the list is empty).
 */
export function preferenceBonus(policy: CompiledPolicy, product: string | undefined, max: number): number {
  const n = policy.preferredProducts.length;
  if (n === 0 || product === undefined) return 0;
  const i = policy.preferredProducts.indexOf(product);
  return i < 0 ? 0 : Math.floor((max * (n - i)) / n);
}
