import { isInvalid, isNotFound, type Client } from "../../framework/client/index.ts";
import { controllerOf, keyOf, type Pod, type ResourceType } from "../../framework/meta/index.ts";
import { Pods } from "../../framework/meta/index.ts";
import { controllerRefFor } from "./pods.ts";
import type { ReplicaSetShape } from "./types.ts";

/**
 * What a ReplicaSet does with one pod it sees in its namespace:
 * - `keep`: it controls the pod and the labels still match;
 * - `release`: it controls the pod but the labels no longer match (remove its controller ref);
 * - `adopt`: an orphan whose labels match (add a controller ref);
 * - `ignore`: controlled by someone else, or nothing to do.
 */
export type ClaimAction = "keep" | "release" | "adopt" | "ignore";

/**
 * Decides what `owner` does with `pod` (mirrors `controller_ref_manager.go`
 * `BaseControllerRefManager.ClaimObject`). A pod controlled by another UID is ignored; an owner
 * being deleted releases nothing and adopts nothing; a pod being deleted or in another namespace
 * is not adopted.
 */
export function claimActionFor(owner: ReplicaSetShape, pod: Pod, selectorMatches: boolean): ClaimAction {
  const ref = controllerOf(pod);
  const ownerDeleting = Boolean(owner.metadata?.deletionTimestamp);
  if (ref) {
    if (ref.uid !== owner.metadata?.uid) return "ignore";
    if (selectorMatches) return "keep";
    return ownerDeleting ? "ignore" : "release";
  }
  if (ownerDeleting || !selectorMatches) return "ignore";
  if (pod.metadata?.deletionTimestamp) return "ignore";
  if (pod.metadata?.namespace !== owner.metadata?.namespace) return "ignore";
  return "adopt";
}

/** What `claimPods` needs: an uncached client and the owner's resource type. */
export interface ClaimContext<T extends ReplicaSetShape> {
  client: Pick<Client, "get" | "patch">;
  ownerType: ResourceType<T>;
  signal?: AbortSignal;
  /** Called for each pod adopted or released (for logs). */
  onChange?: (action: "adopt" | "release", pod: Pod) => void;
}

/** Thrown by `claimPods` when some adoptions or releases failed; `claimed` is still valid. */
export class ClaimError extends Error {
  readonly errors: unknown[];
  constructor(owner: string, errors: unknown[]) {
    super(`claiming pods for ${owner} failed (${errors.length} error${errors.length === 1 ? "" : "s"}): ${errors.map((e) => (e instanceof Error ? e.message : String(e))).join("; ")}`);
    this.name = "ClaimError";
    this.errors = errors;
  }
}

/**
 * Adopts and releases pods so that the result is exactly the pods `owner` controls and selects
 * (mirrors `PodControllerRefManager.ClaimPods`). Before the first adoption the owner is read
 * once from the API server, not the cache, to confirm it still exists with the same UID and is
 * not being deleted (`RecheckDeletionTimestamp`): a stale cache must not adopt for a dead owner.
 * Adoption is a strategic merge patch adding the controller ref; release one deleting it by UID.
 * Both carry the pod's UID as a precondition. A release that finds the pod gone (404) or changed
 * (422) is ignored, as is an adoption of a pod that is gone.
 * @returns the claimed pods (adopted ones as returned by the patch).
 * @throws ClaimError when any adoption or release failed for another reason.
 */
export async function claimPods<T extends ReplicaSetShape>(
  owner: T,
  pods: Pod[],
  matches: (pod: Pod) => boolean,
  ctx: ClaimContext<T>,
): Promise<Pod[]> {
  const claimed: Pod[] = [];
  const errors: unknown[] = [];
  let canAdopt: Promise<void> | undefined;
  const ownerDesc = `${ctx.ownerType.kind} ${keyOf(owner)}`;

  for (const pod of pods) {
    const action = claimActionFor(owner, pod, matches(pod));
    if (action === "keep") {
      claimed.push(pod);
    } else if (action === "adopt") {
      canAdopt ??= recheckOwner(owner, ctx);
      try {
        await canAdopt;
        const patched = await ctx.client.patch(Pods, { namespace: pod.metadata!.namespace!, name: pod.metadata!.name! }, {
          type: "strategic",
          body: { metadata: { ownerReferences: [controllerRefFor(owner, ctx.ownerType)], uid: pod.metadata?.uid } },
        }, { signal: ctx.signal });
        ctx.onChange?.("adopt", pod);
        claimed.push(patched);
      } catch (err) {
        if (!isNotFound(err)) errors.push(err);
      }
    } else if (action === "release") {
      try {
        await ctx.client.patch(Pods, { namespace: pod.metadata!.namespace!, name: pod.metadata!.name! }, {
          type: "strategic",
          body: { metadata: { ownerReferences: [{ $patch: "delete", uid: owner.metadata?.uid }], uid: pod.metadata?.uid } },
        }, { signal: ctx.signal });
        ctx.onChange?.("release", pod);
      } catch (err) {
        // 404: the pod is gone. 422: it no longer has the reference, or it was recreated with
        // another UID. Either way there is nothing left to release.
        if (!isNotFound(err) && !isInvalid(err)) errors.push(err);
      }
    }
  }
  if (errors.length > 0) throw new ClaimError(ownerDesc, errors);
  return claimed;
}

async function recheckOwner<T extends ReplicaSetShape>(owner: T, ctx: ClaimContext<T>): Promise<void> {
  const key = { namespace: owner.metadata?.namespace, name: owner.metadata?.name ?? "" };
  const fresh = await ctx.client.get(ctx.ownerType, key, { signal: ctx.signal });
  const desc = `${ctx.ownerType.kind} ${keyOf(owner)}`;
  if (fresh.metadata?.uid !== owner.metadata?.uid) {
    throw new Error(`${desc} was recreated (uid ${fresh.metadata?.uid}, cached ${owner.metadata?.uid}): not adopting for the old one`);
  }
  if (fresh.metadata?.deletionTimestamp) {
    throw new Error(`${desc} is being deleted (deletionTimestamp ${fresh.metadata.deletionTimestamp}): not adopting`);
  }
}
