/**
 * The compiled policies of an informer's store, compiled again only when an object's
 * resourceVersion changes, so the scheduler's per-pod lookups do not parse selectors.
 */
import type { DeepReadonly } from "../../framework/meta/index.ts";
import type { GPUPlacementPolicy } from "./api.ts";
import { compilePolicy, type CompiledPolicy } from "./policy.ts";

/** Where policies come from: an informer's store (`CacheReader`) fits. */
export interface PolicyReader {
  list(): ReadonlyArray<DeepReadonly<GPUPlacementPolicy>>;
}

/** Something that can list the current policies, compiled. */
export interface PolicySource {
  /** Every policy, compiled, sorted by name. */
  policies(): readonly CompiledPolicy[];
}

/** A `PolicySource` over a `PolicyReader`, compiling each policy once per resourceVersion. */
export class PolicyCache implements PolicySource {
  readonly #reader: PolicyReader;
  #compiled = new Map<string, { resourceVersion: string; policy: CompiledPolicy }>();

  constructor(reader: PolicyReader) {
    this.#reader = reader;
  }

  policies(): readonly CompiledPolicy[] {
    const next = new Map<string, { resourceVersion: string; policy: CompiledPolicy }>();
    for (const obj of this.#reader.list()) {
      const uid = obj.metadata?.uid ?? obj.metadata?.name ?? "";
      const rv = obj.metadata?.resourceVersion ?? "";
      const known = this.#compiled.get(uid);
      next.set(uid, known && known.resourceVersion === rv && rv !== "" ? known : { resourceVersion: rv, policy: compilePolicy(obj) });
    }
    this.#compiled = next;
    return [...next.values()].map((e) => e.policy).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}

/** A fixed list of policies (tests, simulations). */
export function staticPolicies(policies: ReadonlyArray<DeepReadonly<GPUPlacementPolicy>>): PolicySource {
  const compiled = policies.map(compilePolicy);
  return { policies: () => compiled };
}
