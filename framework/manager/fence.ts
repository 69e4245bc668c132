import type { Client } from "../client/index.ts";

/** Where each client method takes its options (the argument that may carry a `signal`). */
const OPTIONS_ARGUMENT: Readonly<Record<string, number>> = {
  get: 2, list: 1, create: 2, update: 2, updateStatus: 2, patch: 3, delete: 2, watch: 1,
  getScale: 2, bind: 2, evict: 1, serverVersion: 0, resourcesFor: 1, resourceTypeFor: 1,
};

/**
 * Wraps `client` so that nothing is sent once `fence` has aborted: every call then rejects at
 * once with the fence's reason (a watch ends with it), and every call made before is bound to
 * the fence as well as to its own `signal`, so a request still waiting (on the rate limiter,
 * a Retry-After, or a connection) is abandoned when the fence aborts. The manager fences the
 * client it hands to reconcilers with its leadership: a process that lost the lease writes
 * nothing more, even from code that ignores `ctx.signal`.
 */
export function fencedClient<C extends Client>(client: C, fence: AbortSignal): C {
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof prop !== "string" || typeof value !== "function" || !(prop in OPTIONS_ARGUMENT)) {
        return typeof value === "function" ? value.bind(target) : value;
      }
      const at = OPTIONS_ARGUMENT[prop]!;
      const method = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        if (fence.aborted) {
          if (prop === "watch") {
            return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(fence.reason) }) };
          }
          return Promise.reject(fence.reason);
        }
        const opts = (args[at] ?? {}) as { signal?: AbortSignal };
        const bound = [...args];
        while (bound.length < at) bound.push(undefined);
        bound[at] = { ...opts, signal: opts.signal ? AbortSignal.any([opts.signal, fence]) : fence };
        return method.apply(target, bound);
      };
    },
  });
}
