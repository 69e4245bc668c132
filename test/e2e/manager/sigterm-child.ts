/**
 * Child process of sigterm.test.ts: a manager with one controller over the ConfigMaps of
 * `E2E_NAMESPACE`. A reconcile prints `started <name>`, waits `E2E_RECONCILE_MS`, annotates the
 * ConfigMap `kubeloop.dev/reconciled=true` and prints `finished <name>`. Exits via `runManager`.
 */
import { pino } from "pino";
import { controllerFor } from "../../../framework/controller/index.ts";
import { Manager, runManager } from "../../../framework/manager/index.ts";
import { ConfigMaps } from "../../../framework/meta/index.ts";

const namespace = process.env.E2E_NAMESPACE;
if (!namespace) throw new Error("E2E_NAMESPACE is required");
const reconcileMs = Number(process.env.E2E_RECONCILE_MS ?? "2000");

const mgr = new Manager({ log: pino({ level: "silent" }), metricsBindAddress: "0", healthProbeBindAddress: "0", name: "sigterm-child" });
controllerFor(mgr, ConfigMaps, { informer: { namespace } }).named("slow").complete(async (req) => {
  if (!req.name.startsWith("slow-")) return;
  process.stdout.write(`started ${req.name}\n`);
  await new Promise((r) => setTimeout(r, reconcileMs));
  // Deliberately not passing ctx.signal: the reconcile must be allowed to finish.
  await mgr.client.patch(ConfigMaps, { namespace, name: req.name }, { type: "merge", body: { metadata: { annotations: { "kubeloop.dev/reconciled": "true" } } } });
  process.stdout.write(`finished ${req.name}\n`);
});
mgr.add({ needLeaderElection: false, start: async () => { process.stdout.write("ready\n"); } });
await runManager(mgr);
