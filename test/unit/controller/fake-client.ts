import { ApiError } from "../../../framework/client/index.ts";
import type { Client, Patch } from "../../../framework/client/types.ts";
import type { KubeObject, ObjectKey, ResourceType } from "../../../framework/meta/index.ts";

/** Records writes; `fail` makes the next calls of a verb throw. */
export class FakeClient {
  readonly created: Array<{ type: ResourceType; obj: KubeObject }> = [];
  readonly patched: Array<{ type: ResourceType; key: ObjectKey; patch: Patch }> = [];
  failCreate: ((obj: KubeObject) => Error | undefined) | undefined;
  failPatch: (() => Error | undefined) | undefined;
  patchResult: (key: ObjectKey, patch: Patch) => KubeObject = (key, patch) => ({ metadata: { ...key, ...((patch as { body?: { metadata?: object } }).body?.metadata ?? {}) } });

  asClient(): Client {
    const notImplemented = () => { throw new Error("not implemented in the fake client"); };
    return {
      create: async <T extends KubeObject>(type: ResourceType<T>, obj: T) => {
        const err = this.failCreate?.(obj);
        if (err) throw err;
        this.created.push({ type, obj });
        return obj;
      },
      patch: async <T extends KubeObject>(type: ResourceType<T>, key: ObjectKey, patch: Patch) => {
        const err = this.failPatch?.();
        if (err) throw err;
        this.patched.push({ type, key, patch });
        return this.patchResult(key, patch) as T;
      },
      get: notImplemented, list: notImplemented, update: notImplemented, updateStatus: notImplemented, delete: notImplemented, watch: notImplemented,
    };
  }
}

export function apiError(code: number, message = "fake"): Error {
  return new ApiError(code, { code, message }, { verb: "patch" });
}
