import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";

/**
 * Loads the kubeconfig the way controller-runtime's `config.GetConfig` does: the files in
 * `KUBECONFIG` (merged, first wins), else the in-cluster service account
 * (`KUBERNETES_SERVICE_HOST`), else `~/.kube/config`.
 * @throws Error when none of them is available, or when the chosen one has no current cluster.
 */
export function loadKubeConfig(): KubeConfig {
  const kubeConfig = new KubeConfig();
  const home = homedir();
  if (process.env.KUBECONFIG) {
    kubeConfig.loadFromDefault();
  } else if (process.env.KUBERNETES_SERVICE_HOST && process.env.KUBERNETES_SERVICE_PORT) {
    kubeConfig.loadFromCluster();
  } else if (home && existsSync(join(home, ".kube", "config"))) {
    kubeConfig.loadFromFile(join(home, ".kube", "config"));
  } else {
    throw new Error("no Kubernetes configuration found: set KUBECONFIG, run in a pod with a service account, or create ~/.kube/config");
  }
  if (!kubeConfig.getCurrentCluster()) {
    throw new Error(`kubeconfig has no cluster for its current context ${JSON.stringify(kubeConfig.getCurrentContext())}: check KUBECONFIG`);
  }
  return kubeConfig;
}

export { KubeConfig };
