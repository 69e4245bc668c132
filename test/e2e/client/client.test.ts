/**
 * The client against a real API server, over HTTP/2 and over HTTP/1.1: CRUD with typed errors,
 * the four patch types (server-side apply with conflicts and force), the status and scale
 * subresources, binding, discovery, and watch as an async iterable. Needs a cluster:
 * `KUBELOOP_CLUSTER_DIR` or `KUBECONFIG`.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import {
  ApiError, createClient, isAlreadyExists, isConflict, isForbidden, isInvalid, isNotFound, KubeConfig, type KubeClient, type TransportProtocol,
} from "../../../framework/client/index.ts";
import { AppsReplicaSets, ConfigMaps, Namespaces, Pods, type AppsReplicaSet, type Pod } from "../../../framework/meta/index.ts";
import { testControlPlane, waitFor } from "../../../framework/testing/index.ts";
import { isNamespaceTerminating } from "../../../operators/replicaset/pods.ts";
import { selfSubject } from "../support/self-subject.ts";

for (const transport of ["http2", "http1"] as const satisfies readonly TransportProtocol[]) {
  describe(`over ${transport === "http2" ? "HTTP/2" : "HTTP/1.1"}`, () => {
    const namespace = `kubeloop-client-e2e-${transport}-${randomBytes(3).toString("hex")}`;
    let client: KubeClient;
    let kubeConfig: KubeConfig;

    function configMap(name: string, data: Record<string, string> = {}, labels: Record<string, string> = {}): IConfigMap {
      return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace, labels }, data };
    }

    /** A pod no scheduler and no kwok touches (unknown scheduler name), so its status stays ours. */
    function idlePod(name: string): Pod {
      return {
        apiVersion: "v1", kind: "Pod", metadata: { name, namespace },
        spec: { schedulerName: "kubeloop-nobody", containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }] },
      };
    }

    before(async () => {
      const plane = await testControlPlane();
      kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(plane.kubeconfigPath);
      client = createClient({ kubeConfig, transport });
      await client.create(Namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
      // Pods need the namespace's default ServiceAccount (made by kube-controller-manager).
      await waitFor(async () => {
        try {
          return await client.get({ group: "", version: "v1", kind: "ServiceAccount", plural: "serviceaccounts", namespaced: true, apiVersion: "v1" }, { namespace, name: "default" });
        } catch (err) {
          if (isNotFound(err)) return undefined;
          throw err;
        }
      }, { timeoutMs: 60_000, description: `ServiceAccount ${namespace}/default` });
    });

    after(async () => {
      if (!client) return;
      await client.delete(Namespaces, { name: namespace }).catch(() => undefined);
      client.close();
    });

    test("impersonate: the API server authorizes every request as the impersonated user, each group its own header", async () => {
      const userName = "kubeloop-e2e-nobody";
      const impersonating = createClient({ kubeConfig, transport, impersonate: { userName, groups: ["kubeloop-e2e-a", "kubeloop-e2e-b"] } });
      try {
        // SelfSubjectReview answers who the API server thinks the caller is (any authenticated user may ask).
        const seen = await selfSubject(impersonating);
        assert.equal(seen.username, userName);
        assert.deepEqual(seen.groups.filter((g) => g.startsWith("kubeloop-e2e-")), ["kubeloop-e2e-a", "kubeloop-e2e-b"]);
        await assert.rejects(impersonating.list(ConfigMaps, { namespace }), (err: unknown) => {
          assert.ok(isForbidden(err), `expected 403 Forbidden, got ${String(err)}`);
          assert.match((err as Error).message, new RegExp(`User "${userName}" cannot list resource "configmaps"`));
          return true;
        });
        // The admin client is unchanged.
        assert.ok(Array.isArray((await client.list(ConfigMaps, { namespace })).items));
      } finally {
        impersonating.close();
      }
    });

    test("create, get, list by label, conditional update, delete, with typed errors", async () => {
      const created = await client.create(ConfigMaps, configMap("crud", { a: "1" }, { suite: "crud" }));
      assert.equal(created.metadata?.namespace, namespace);
      assert.ok(created.metadata?.resourceVersion);
      await assert.rejects(client.create(ConfigMaps, configMap("crud")), (err: unknown) => isAlreadyExists(err) && !isConflict(err));

      const got = await client.get(ConfigMaps, { namespace, name: "crud" });
      assert.deepEqual(got.data, { a: "1" });
      await client.create(ConfigMaps, configMap("other", {}, { suite: "other" }));
      const listed = await client.list(ConfigMaps, { namespace, labelSelector: "suite=crud" });
      assert.deepEqual(listed.items.map((i) => i.metadata?.name), ["crud"]);
      assert.equal(listed.items[0]?.kind, "ConfigMap", "list items carry their kind");
      assert.ok(listed.metadata.resourceVersion);

      const updated = await client.update(ConfigMaps, { ...got, data: { a: "2" } });
      assert.deepEqual(updated.data, { a: "2" });
      // The same stale resourceVersion again: 409 Conflict.
      await assert.rejects(client.update(ConfigMaps, { ...got, data: { a: "3" } }), (err: unknown) => {
        assert.ok(isConflict(err), String(err));
        assert.match((err as Error).message, new RegExp(`update ConfigMap\\.v1 ${namespace}/crud failed: 409 Conflict`));
        return true;
      });

      await assert.rejects(client.create(ConfigMaps, configMap("Not_A_Valid_Name")), (err: unknown) => {
        assert.ok(isInvalid(err), String(err));
        // metav1.StatusCause's type travels as "reason" on the wire.
        assert.deepEqual((err as ApiError).status.details?.causes?.map((c) => [c.reason, c.field]), [["FieldValueInvalid", "metadata.name"]]);
        return true;
      });
      await client.delete(ConfigMaps, { namespace, name: "crud" });
      await assert.rejects(client.get(ConfigMaps, { namespace, name: "crud" }), (err: unknown) => err instanceof ApiError && isNotFound(err));
      await assert.rejects(client.delete(ConfigMaps, { namespace, name: "crud" }), (err: unknown) => isNotFound(err));
    });

    test("a create in a terminating namespace: 403 whose cause reason is NamespaceTerminating (what the ReplicaSet operator counts as done)", async () => {
      const terminating = `${namespace}-terminating`;
      await client.create(Namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: terminating } });
      // A finalizer nobody removes keeps the namespace in Terminating until the test removes it.
      const held = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "held", namespace: terminating, finalizers: ["kubeloop.dev/e2e-hold"] } } as IConfigMap;
      await client.create(ConfigMaps, held);
      try {
        await client.delete(Namespaces, { name: terminating });
        const pod = { ...idlePod("late"), metadata: { name: "late", namespace: terminating } };
        const err = await waitFor(async () => {
          try {
            await client.create(Pods, pod, { dryRun: true });
            return undefined;
          } catch (e) {
            return e instanceof ApiError && isForbidden(e) ? e : undefined;
          }
        }, { timeoutMs: 30_000, description: "a create in the terminating namespace to be refused" });
        assert.deepEqual(err.status.details?.causes?.map((c) => c.reason), ["NamespaceTerminating"]);
        assert.equal(isNamespaceTerminating(err), true);
      } finally {
        await client.patch(ConfigMaps, { namespace: terminating, name: "held" }, { type: "merge", body: { metadata: { finalizers: null } } }).catch(() => {});
      }
    });

    test("fieldValidation: Strict refuses an unknown field with 400 naming it, Ignore drops it", async () => {
      const withUnknown = { ...configMap("field-validation"), unknownField: "x" } as IConfigMap;
      await assert.rejects(client.create(ConfigMaps, withUnknown, { fieldValidation: "Strict", dryRun: true }), (err: unknown) => {
        assert.ok(err instanceof ApiError && err.statusCode === 400, String(err));
        assert.match(err.status.message ?? "", /unknown field "unknownField"/);
        return true;
      });
      const created = await client.create(ConfigMaps, withUnknown, { fieldValidation: "Ignore", dryRun: true });
      assert.equal((created as unknown as Record<string, unknown>)["unknownField"], undefined);
    });

    test("merge, strategic, JSON and server-side apply patches", async () => {
      await client.create(ConfigMaps, configMap("patched", { a: "1", b: "1" }));
      const key = { namespace, name: "patched" };

      let cm = await client.patch(ConfigMaps, key, { type: "merge", body: { data: { b: null, c: "1" } } });
      assert.deepEqual(cm.data, { a: "1", c: "1" });
      cm = await client.patch(ConfigMaps, key, { type: "strategic", body: { metadata: { labels: { s: "yes" } } } });
      assert.equal(cm.metadata?.labels?.["s"], "yes");
      cm = await client.patch(ConfigMaps, key, { type: "json", ops: [{ op: "test", path: "/data/a", value: "1" }, { op: "replace", path: "/data/a", value: "2" }] });
      assert.equal(cm.data?.["a"], "2");
      await assert.rejects(
        client.patch(ConfigMaps, key, { type: "json", ops: [{ op: "test", path: "/data/a", value: "wrong" }] }),
        (err: unknown) => err instanceof ApiError && (err.statusCode === 422 || err.statusCode === 500 || err.statusCode === 409),
      );

      // Server-side apply: two managers; the second conflicts on a field it does not own unless it forces.
      const applied = await client.patch(ConfigMaps, { namespace, name: "applied" }, { type: "apply", body: configMap("applied", { owned: "first" }), fieldManager: "first" });
      assert.deepEqual(applied.data, { owned: "first" });
      assert.ok(applied.metadata?.managedFields?.some((f) => f.manager === "first" && f.operation === "Apply"));
      await assert.rejects(
        client.patch(ConfigMaps, { namespace, name: "applied" }, { type: "apply", body: configMap("applied", { owned: "second" }), fieldManager: "second" }),
        (err: unknown) => isConflict(err),
      );
      const forced = await client.patch(ConfigMaps, { namespace, name: "applied" }, { type: "apply", body: configMap("applied", { owned: "second" }), fieldManager: "second", force: true });
      assert.equal(forced.data?.["owned"], "second");

      const dry = await client.patch(ConfigMaps, key, { type: "merge", body: { data: { dry: "run" } } }, { dryRun: true });
      assert.equal(dry.data?.["dry"], "run");
      assert.equal((await client.get(ConfigMaps, key)).data?.["dry"], undefined, "dry run changed nothing");
    });

    test("status subresource, binding and eviction", async () => {
      const pod = await client.create(Pods, idlePod("status"));
      const withStatus = await client.updateStatus(Pods, {
        ...pod,
        spec: { ...pod.spec!, activeDeadlineSeconds: 99 },
        status: { ...pod.status, message: "set through status" },
      });
      assert.equal(withStatus.status?.message, "set through status");
      assert.equal(withStatus.spec?.activeDeadlineSeconds, undefined, "the status endpoint ignores spec");

      const patched = await client.patch(Pods, { namespace, name: "status" }, { type: "merge", body: { status: { message: "patched" } } }, { subresource: "status" });
      assert.equal(patched.status?.message, "patched");
      const viaMain = await client.patch(Pods, { namespace, name: "status" }, { type: "merge", body: { status: { message: "ignored" }, metadata: { labels: { x: "y" } } } });
      assert.equal(viaMain.status?.message, "patched", "the main resource ignores status");
      assert.equal(viaMain.metadata?.labels?.["x"], "y");

      const bound = await client.create(Pods, idlePod("bound"));
      await client.bind({ namespace, name: "bound" }, "kubeloop-no-such-node", { ...(bound.metadata?.uid ? { uid: bound.metadata.uid } : {}) });
      assert.equal((await client.get(Pods, { namespace, name: "bound" })).spec?.nodeName, "kubeloop-no-such-node");
      await client.delete(Pods, { namespace, name: "bound" }, { gracePeriodSeconds: 0 });

      await client.create(Pods, idlePod("evicted"));
      await client.evict({ namespace, name: "evicted" }, { gracePeriodSeconds: 0 });
      await waitFor(async () => {
        try {
          await client.get(Pods, { namespace, name: "evicted" });
          return false;
        } catch (err) {
          if (isNotFound(err)) return true;
          throw err;
        }
      }, { timeoutMs: 30_000, description: "the evicted pod to be gone" });
    });

    test("scale subresource: getScale and a scale patch", async () => {
      const rs: AppsReplicaSet = {
        apiVersion: "apps/v1", kind: "ReplicaSet", metadata: { name: "scaled", namespace },
        spec: {
          replicas: 0, selector: { matchLabels: { app: "scaled" } },
          template: { metadata: { labels: { app: "scaled" } }, spec: { schedulerName: "kubeloop-nobody", containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }] } },
        },
      };
      await client.create(AppsReplicaSets, rs);
      const scale = await client.getScale(AppsReplicaSets, { namespace, name: "scaled" });
      assert.equal(scale.kind, "Scale");
      assert.equal(scale.spec?.replicas ?? 0, 0);
      await client.patch(AppsReplicaSets, { namespace, name: "scaled" }, { type: "merge", body: { spec: { replicas: 2 } } }, { subresource: "scale" });
      assert.equal((await client.get(AppsReplicaSets, { namespace, name: "scaled" })).spec?.replicas, 2);
      assert.equal((await client.getScale(AppsReplicaSets, { namespace, name: "scaled" })).spec?.replicas, 2);
      await client.patch(AppsReplicaSets, { namespace, name: "scaled" }, { type: "merge", body: { spec: { replicas: 0 } } }, { subresource: "scale" });
    });

    test("discovery: server version, resources of a group version, REST mapping", async () => {
      const version = await client.serverVersion();
      assert.match(version.gitVersion, /^v1\.\d+/);
      const core = await client.resourcesFor("v1");
      assert.ok(core.some((r) => r.name === "pods" && r.namespaced && r.kind === "Pod"));
      const mapped = await client.resourceTypeFor({ group: "apps", version: "v1", kind: "ReplicaSet" });
      assert.equal(mapped.plural, "replicasets");
      assert.equal(mapped.namespaced, true);
      await assert.rejects(client.resourcesFor("nonexistent.kubeloop.dev/v1"), (err: unknown) => isNotFound(err));
    });

    test("watch yields ADDED, MODIFIED, DELETED in order from a list's resourceVersion, and ends on abort", async () => {
      const list = await client.list(ConfigMaps, { namespace, labelSelector: "suite=watch" });
      const controller = new AbortController();
      const events: string[] = [];
      const done = (async () => {
        for await (const event of client.watch(ConfigMaps, { namespace, labelSelector: "suite=watch", resourceVersion: list.metadata.resourceVersion!, signal: controller.signal })) {
          if (event.type === "BOOKMARK") continue;
          if (event.type === "ERROR") throw new Error(`watch error: ${event.object.message}`);
          events.push(`${event.type} ${event.object.metadata?.name} ${event.object.data?.["v"] ?? ""}`.trim());
          if (events.length === 3) controller.abort();
        }
      })();
      await client.create(ConfigMaps, configMap("watched", { v: "1" }, { suite: "watch" }));
      await client.patch(ConfigMaps, { namespace, name: "watched" }, { type: "merge", body: { data: { v: "2" } } });
      await client.delete(ConfigMaps, { namespace, name: "watched" });
      await done;
      assert.deepEqual(events, ["ADDED watched 1", "MODIFIED watched 2", "DELETED watched 2"]);
    });
  });
}
