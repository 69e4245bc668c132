import { sleep } from "../flowcontrol/index.ts";
import type { Client } from "../client/index.ts";
import { CustomResourceDefinitions, resourceType, type CustomResourceDefinition } from "../meta/index.ts";

/** Options of `installCustomResourceDefinitions`. */
export interface InstallOptions {
  /** Field manager of the server-side apply. Default `kubeloop`. */
  fieldManager?: string;
  /** How long to wait for every CRD to be Established and served, in milliseconds. Default 60000. */
  timeoutMs?: number;
  /** Time between checks, in milliseconds. Default 250. */
  intervalMs?: number;
  /**
   * Also wait until every CRD has been Established for 2 s. kube-apiserver holds each create of
   * a custom resource made within 2 s of its CRD's Established transition for 2 s
   * (`customresource_handler.go`, for HA servers that have not seen the CRD yet); timing-sensitive
   * tests use this so their first creates are not the slow ones. Default false.
   */
  waitPastCreateDelay?: boolean;
  signal?: AbortSignal;
}

/** kube-apiserver's window after a CRD's Established transition in which creates sleep, in milliseconds. */
const JUST_ESTABLISHED_MS = 2_000;

/**
 * Installs CustomResourceDefinitions by server-side apply (creates them, or brings existing ones
 * to this content) and resolves once each is Established and its resource answers a LIST, so a
 * caller can create objects at once. Mirrors envtest's `InstallCRDs` + `WaitForCRDs`.
 * @throws ApiError when the API server refuses a CRD (the message names it);
 *   Error when one is not served within `timeoutMs` (naming it and its last conditions).
 */
export async function installCustomResourceDefinitions(
  client: Client,
  crds: readonly CustomResourceDefinition[],
  opts: InstallOptions = {},
): Promise<void> {
  const fieldManager = opts.fieldManager ?? "kubeloop";
  const signal = AbortSignal.any([AbortSignal.timeout(opts.timeoutMs ?? 60_000), ...(opts.signal ? [opts.signal] : [])]);
  for (const crd of crds) {
    const name = crd.metadata?.name;
    if (!name) throw new Error("a CustomResourceDefinition to install has no metadata.name");
    await client.patch(CustomResourceDefinitions, { name }, { type: "apply", body: crd, fieldManager, force: true }, { signal });
  }
  let establishedMs = 0;
  for (const crd of crds) establishedMs = Math.max(establishedMs, await waitUntilServed(client, crd, opts.intervalMs ?? 250, signal));
  // lastTransitionTime has whole seconds and is rounded down: the server's window ends earlier
  // than this, never later.
  if (opts.waitPastCreateDelay) await sleep(Math.max(0, establishedMs + JUST_ESTABLISHED_MS + 1_000 - Date.now()), signal);
}

/** Waits until the CRD is Established and its resource answers a LIST; resolves with the Established transition time (ms since the epoch). */
async function waitUntilServed(client: Client, crd: CustomResourceDefinition, intervalMs: number, signal: AbortSignal): Promise<number> {
  const name = crd.metadata!.name!;
  const version = crd.spec.versions.find((v) => v.served)?.name ?? crd.spec.versions[0]!.name;
  const served = resourceType({
    group: crd.spec.group, version, kind: crd.spec.names.kind, plural: crd.spec.names.plural,
    namespaced: crd.spec.scope === "Namespaced",
  });
  let last = "not read yet";
  for (;;) {
    try {
      const got = await client.get(CustomResourceDefinitions, { name }, { signal });
      const conditions = got.status?.conditions ?? [];
      last = JSON.stringify(conditions.map((c) => `${c.type}=${c.status}${c.message ? ` (${c.message})` : ""}`));
      const established = conditions.find((c) => c.type === "Established" && c.status === "True");
      if (established) {
        // Established can precede the first successful request by a moment.
        await client.list(served, { limit: 1, signal });
        return Date.parse(established.lastTransitionTime ?? "") || 0;
      }
    } catch (err) {
      if (signal.aborted) break;
      last = (err as Error).message;
    }
    await sleep(intervalMs, signal);
    if (signal.aborted) break;
  }
  throw new Error(`CustomResourceDefinition ${name} was not Established and served in time; last seen: ${last}`);
}
