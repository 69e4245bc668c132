/** Who the API server says a client is, and comparing in-process answers with the API server's until they agree. */
import type { KubeClient } from "../../../framework/client/index.ts";
import { resourceType, type KubeObject } from "../../../framework/meta/index.ts";
import { waitFor } from "../../../framework/testing/index.ts";

/** The caller as the API server authenticated it (`request.userInfo` of admission). */
export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
}

type SelfSubjectReview = KubeObject & { status?: { userInfo?: { username?: string; uid?: string; groups?: string[] } } };
const SelfSubjectReviews = resourceType<SelfSubjectReview>({
  group: "authentication.k8s.io", version: "v1", kind: "SelfSubjectReview", plural: "selfsubjectreviews", namespaced: false,
});

/**
 * `authentication.k8s.io/v1` SelfSubjectReview: who the API server takes `client`'s requests to
 * come from (any authenticated user may ask; an impersonating client gets the impersonated user).
 * @throws ApiError when the request fails; Error when the answer names no user.
 */
export async function selfSubject(client: KubeClient): Promise<UserInfo> {
  const review = await client.create(SelfSubjectReviews, { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" });
  const info = review.status?.userInfo;
  if (!info?.username) throw new Error(`SelfSubjectReview named no user: ${JSON.stringify(review.status)}`);
  return { username: info.username, groups: info.groups ?? [], ...(info.uid ? { uid: info.uid } : {}) };
}

/**
 * Runs `compare` (one pass over a corpus, in-process against the API server) until it finds no
 * differences or `timeoutMs` (default 60 000) passes, and returns the last pass: the API server
 * enforces a new admission policy once its own informer has it, each policy on its own schedule.
 * @throws what `compare` throws.
 */
export async function compareUntilAgreed<T extends { differences: string[] }>(compare: () => Promise<T>, description: string, timeoutMs = 60_000): Promise<T> {
  let last: T | undefined;
  let failure: unknown;
  await waitFor(async () => {
    try {
      last = await compare();
    } catch (err) {
      failure = err;
      throw err;
    }
    return last.differences.length === 0;
  }, { timeoutMs, intervalMs: 500, description }).catch(() => undefined);
  if (failure !== undefined) throw failure;
  if (!last) throw new Error(`${description}: the corpus was never compared`);
  return last;
}
