/**
 * DefaultBinder: binds the pod by creating its `pods/binding` subresource.
 *
 * Mirrors `pkg/scheduler/framework/plugins/defaultbinder/default_binder.go` in Kubernetes v1.36:
 * a `Binding` with the pod's namespace, name and UID and target `Node/<nodeName>`; an API error
 * becomes an `Error` status carrying its message (the pod is unreserved and retried).
 */
import type { BindPlugin, CycleState, PodInfo, Status } from "../framework.ts";
import { status, SUCCESS } from "../framework.ts";

/** The plugin's registry name. */
export const DEFAULT_BINDER = "DefaultBinder";

/** What DefaultBinder needs of a client; kubeloop's `KubeClient.bind` has this shape. */
export interface PodBinder {
  /** POSTs `pods/<name>/binding`; rejects with the API error. */
  bind(key: { namespace: string; name: string }, nodeName: string, opts?: { uid?: string; signal?: AbortSignal }): Promise<void>;
}

/** The DefaultBinder plugin (Bind). */
export class DefaultBinder implements BindPlugin {
  readonly name = DEFAULT_BINDER;
  readonly #client: PodBinder;

  constructor(client: PodBinder) {
    this.#client = client;
  }

  async bind(_state: CycleState, pod: PodInfo, nodeName: string, signal: AbortSignal): Promise<Status> {
    const meta = pod.pod.metadata;
    const uid = meta?.uid;
    try {
      await this.#client.bind({ namespace: meta?.namespace ?? "default", name: meta?.name ?? "" }, nodeName, { ...(uid ? { uid } : {}), signal });
      return SUCCESS;
    } catch (err) {
      return status("Error", err instanceof Error ? err.message : String(err));
    }
  }
}
