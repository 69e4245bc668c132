/**
 * Our side of the scheduling benchmark: a fresh Manager in this process running the kubeloop
 * scheduler (`kubeloop-scheduler`), its data client limited by the manager's `kubeApiQps` /
 * `kubeApiBurst` and its Events on a second client with the same limits (kube-scheduler's two
 * clientsets, `cmd/kube-scheduler/app/options/options.go`). Three set-ups:
 * - `plain`: the default plugins only (`addScheduler` + `defaultProfile`);
 * - `gang`: the gang-scheduling operator (`setupGangScheduling`, native PodGroups on);
 * - `gpu`: the default plugins plus the GPU placement operator's plugin (`setupOperators(["gpu-placement"])`).
 */
import { createClient, type KubeConfig } from "../../framework/client/index.ts";
import { Manager } from "../../framework/manager/index.ts";
import { addScheduler } from "../../framework/scheduling/index.ts";
import { defaultProfile, type PodBinder } from "../../framework/scheduling/plugins/index.ts";
import { setupGangScheduling } from "../../operators/gang-scheduling/index.ts";
import { setupOperators } from "../../operators/registry.ts";

/** Which operators run with the scheduler. */
export type OursSetup = "plain" | "gang" | "gpu";

/** A running kubeloop scheduler. */
export interface OursProcess {
  /** Stops the manager (binds in flight may finish) and closes its clients. */
  stop(): Promise<void>;
}

/**
 * Starts a Manager running the kubeloop scheduler as `setup` says, client limits `qps`/`burst`;
 * resolves once its cache synced.
 * @throws Error when the manager stops before its cache synced.
 */
export async function startOurs(opts: { kubeConfig: KubeConfig; qps: number; burst: number; setup: OursSetup; say: (line: string) => void }): Promise<OursProcess> {
  const eventClient = createClient({ kubeConfig: opts.kubeConfig, qps: opts.qps, burst: opts.burst });
  const mgr = new Manager({
    kubeConfig: opts.kubeConfig, kubeApiQps: opts.qps, kubeApiBurst: opts.burst,
    name: `kubeloop-bench-${opts.setup}`, metricsBindAddress: "0", healthProbeBindAddress: "0",
  });
  switch (opts.setup) {
    case "plain":
      addScheduler(mgr, { profiles: [defaultProfile({ client: mgr.client as unknown as PodBinder })], eventClient });
      break;
    case "gang":
      setupGangScheduling(mgr, { nativePodGroups: true, scheduler: { eventClient } });
      break;
    case "gpu":
      setupOperators(mgr, ["gpu-placement"]);
      break;
  }
  const stop = new AbortController();
  const running = mgr.start(stop.signal);
  running.catch((err: Error) => opts.say(`    kubeloop manager: ${err.message}`));
  await Promise.race([
    mgr.cache.waitForSync(AbortSignal.timeout(120_000)),
    running.then(() => {
      throw new Error(`kubeloop manager (${opts.setup}) stopped before its cache synced`);
    }),
  ]);
  return {
    async stop() {
      stop.abort(new Error("benchmark run finished"));
      await running.catch(() => {});
      eventClient.close();
      (mgr.client as { close?: () => void }).close?.();
    },
  };
}
