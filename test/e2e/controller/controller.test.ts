/**
 * A manager running a controller against a real API server: a ConfigMap labelled
 * `kubeloop.dev/mirror=true` gets an owned `<name>-mirror` ConfigMap with the same data, kept in
 * step on change, recreated when deleted (owns), and cleaned up under a finalizer when the
 * source is deleted; Events are written; /readyz turns ready after the sync and /metrics shows
 * the controller_runtime and workqueue metrics. Needs a cluster (`KUBELOOP_CLUSTER_DIR` or
 * `KUBECONFIG`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { isNotFound } from "../../../framework/client/index.ts";
import { controllerFor, finalizer, predicates, type Request } from "../../../framework/controller/index.ts";
import { Manager } from "../../../framework/manager/index.ts";
import { ConfigMaps, Events, type ConfigMap, type Event } from "../../../framework/meta/index.ts";
import { waitFor } from "../../../framework/testing/index.ts";
import { useTestNamespace } from "../support/test-namespace.ts";

const env = useTestNamespace("kubeloop-ctrl-e2e");

const FINALIZER = "kubeloop.dev/mirror-cleanup";
const log = pino({ level: "silent" });

test("a manager runs a controller that reacts to changes, with events, finalizer, probes and metrics", async () => {
  const { client, namespace, kubeConfig } = env;
  const mgr = new Manager({ kubeConfig, log, metricsBindAddress: "127.0.0.1:0", healthProbeBindAddress: "127.0.0.1:0" });
  const recorder = mgr.eventRecorder("kubeloop.dev/mirror-controller");
  const scope = { namespace };
  const reconciles: Request[] = [];
  controllerFor(mgr, ConfigMaps, { informer: scope, predicates: [predicates.filter((cm) => cm.metadata?.labels?.["kubeloop.dev/mirror"] === "true")] })
    .named("mirror")
    .owns(ConfigMaps, { informer: scope })
    .withOptions({ maxConcurrentReconciles: 2 })
    .complete(async (req, ctx) => {
      reconciles.push(req);
      const source = ctx.getCached();
      if (!source) return;
      return finalizer(mgr.client, ConfigMaps, source, FINALIZER, {
        apply: async (src) => {
          const name = `${req.name}-mirror`;
          const desired: ConfigMap = {
            apiVersion: "v1", kind: "ConfigMap",
            metadata: {
              name, namespace,
              ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: req.name, uid: src.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
            },
            data: src.data ?? {},
          };
          try {
            const current = await mgr.client.get(ConfigMaps, { namespace, name }, { signal: ctx.signal });
            if (JSON.stringify(current.data ?? {}) !== JSON.stringify(desired.data)) {
              await mgr.client.update(ConfigMaps, { ...current, data: desired.data }, { signal: ctx.signal });
              await recorder.normal(src, "MirrorUpdated", `updated ${name}`, "Update");
            }
          } catch (err) {
            if (!isNotFound(err)) throw err;
            await mgr.client.create(ConfigMaps, desired, { signal: ctx.signal });
            await recorder.normal(src, "MirrorCreated", `created ${name}`, "Create");
          }
        },
        cleanup: async () => {
          await mgr.client.delete(ConfigMaps, { namespace, name: `${req.name}-mirror` }, { signal: ctx.signal }).catch((err) => {
            if (!isNotFound(err)) throw err;
          });
        },
      }, { signal: ctx.signal });
    });

  const stop = new AbortController();
  const running = mgr.start(stop.signal);
  try {
    await waitFor(async () => mgr.healthProbeAddress(), { timeoutMs: 10_000, intervalMs: 20, description: "probe server" });
    const probe = `http://${mgr.healthProbeAddress()}`;
    await waitFor(async () => (await fetch(`${probe}/readyz`)).status === 200, { timeoutMs: 30_000, description: "/readyz ready after sync" });

    await client.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "src", namespace, labels: { "kubeloop.dev/mirror": "true" } }, data: { a: "1" } });
    const mirror = await waitFor(async () => client.get(ConfigMaps, { namespace, name: "src-mirror" }).catch(() => undefined), { timeoutMs: 20_000, description: "mirror created" });
    assert.deepEqual(mirror.data, { a: "1" });
    assert.equal(mirror.metadata?.ownerReferences?.[0]?.name, "src");
    const src = await client.get(ConfigMaps, { namespace, name: "src" });
    assert.deepEqual(src.metadata?.finalizers, [FINALIZER]);

    await client.patch(ConfigMaps, { namespace, name: "src" }, { type: "merge", body: { data: { a: "2" } } });
    await waitFor(async () => (await client.get(ConfigMaps, { namespace, name: "src-mirror" })).data?.a === "2", { timeoutMs: 20_000, description: "mirror follows a change" });

    const before = (await client.get(ConfigMaps, { namespace, name: "src-mirror" })).metadata?.uid;
    await client.delete(ConfigMaps, { namespace, name: "src-mirror" });
    await waitFor(async () => {
      const m = await client.get(ConfigMaps, { namespace, name: "src-mirror" }).catch(() => undefined);
      return m && m.metadata?.uid !== before;
    }, { timeoutMs: 20_000, description: "mirror recreated after delete (owns)" });

    const events = await waitFor(async () => {
      const list = await client.list(Events, { namespace });
      const mine = list.items.filter((e: Event) => e.regarding?.name === "src" && e.reportingController === "kubeloop.dev/mirror-controller");
      return mine.length >= 2 ? mine : undefined;
    }, { timeoutMs: 20_000, description: "events written" });
    assert.ok(events.some((e) => e.reason === "MirrorCreated" && e.type === "Normal" && e.action === "Create" && e.regarding?.kind === "ConfigMap"));

    // A repeat becomes a series on the same Event.
    const srcNow = await client.get(ConfigMaps, { namespace, name: "src" });
    await recorder.warning(srcNow, "Repeated", "the same thing again", "Check");
    await recorder.warning(srcNow, "Repeated", "the same thing again", "Check");
    await recorder.warning(srcNow, "Repeated", "the same thing again", "Check");
    // The third occurrence is buffered for the next (throttled) series write: flush it now.
    await recorder.flush();
    const repeated = (await client.list(Events, { namespace })).items.filter((e: Event) => e.reason === "Repeated");
    assert.equal(repeated.length, 1, "one Event for the repeats");
    assert.equal(repeated[0]!.series?.count, 3);
    assert.equal(repeated[0]!.type, "Warning");

    await client.delete(ConfigMaps, { namespace, name: "src" });
    await waitFor(async () => {
      const [s, m] = await Promise.all([
        client.get(ConfigMaps, { namespace, name: "src" }).catch(() => undefined),
        client.get(ConfigMaps, { namespace, name: "src-mirror" }).catch(() => undefined),
      ]);
      return !s && !m;
    }, { timeoutMs: 20_000, description: "cleanup under the finalizer: source and mirror gone" });

    const metrics = await (await fetch(`http://${mgr.metricsAddress()}/metrics`)).text();
    const success = Number(/controller_runtime_reconcile_total\{controller="mirror",result="success"\} (\d+)/.exec(metrics)?.[1]);
    assert.ok(success >= 4, `successful reconciles counted (got ${success})`);
    for (const name of [
      "controller_runtime_reconcile_errors_total", "controller_runtime_terminal_reconcile_errors_total", "controller_runtime_reconcile_panics_total",
      "controller_runtime_reconcile_time_seconds_bucket", "controller_runtime_max_concurrent_reconciles", "controller_runtime_active_workers",
      "controller_runtime_reconcile_timeouts_total",
    ]) assert.match(metrics, new RegExp(`${name}\\{[^}]*controller="mirror"`), name);
    assert.match(metrics, /controller_runtime_max_concurrent_reconciles\{controller="mirror"\} 2/);
    for (const name of [
      "workqueue_depth", "workqueue_adds_total", "workqueue_queue_duration_seconds_bucket", "workqueue_work_duration_seconds_bucket",
      "workqueue_unfinished_work_seconds", "workqueue_longest_running_processor_seconds", "workqueue_retries_total",
    ]) assert.match(metrics, new RegExp(`${name}\\{[^}]*name="mirror",controller="mirror"`), `${name} with controller-runtime's name and controller labels`);
    assert.match(metrics, /workqueue_depth\{name="mirror",controller="mirror",priority="0"\} \d/, "workqueue_depth by priority");
    assert.match(metrics, /rest_client_requests_total/);
    assert.ok(reconciles.every((r) => r.namespace === namespace));
  } finally {
    stop.abort();
    await running;
  }
});
