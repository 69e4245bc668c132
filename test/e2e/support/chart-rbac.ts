/**
 * The chart's RBAC on the test cluster, and the identity the sample operators run as in their
 * e2e suites: the chart's ServiceAccount, with the rules `helm template` renders for that one
 * operator. A request a suite's operator makes that its generated rules do not allow is refused
 * with 403 Forbidden, and the suite fails, so the rules cannot lag behind the code.
 */
import { fileURLToPath } from "node:url";
import { createClient, type KubeClient, type KubeConfig } from "../../../framework/client/index.ts";
import type { KubeObject } from "../../../framework/meta/index.ts";
import { ensureBinaries } from "../../../framework/testing/index.ts";
import { manifestObjects, manifestResourceType } from "./manifest.ts";
import { runBinary } from "./run-binary.ts";

const chartDir = fileURLToPath(new URL("../../../charts/kubeloop/", import.meta.url));

/** The kinds of the chart's RBAC objects. */
const RBAC_KINDS = new Set(["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]);

/** Where the operators' identities (ServiceAccounts, leader-election Roles) live on the test cluster. */
export const OPERATOR_IDENTITY_NAMESPACE = "kubeloop-e2e-operators";

/**
 * The RBAC objects (ServiceAccount, ClusterRole, ClusterRoleBinding, leader-election Role and
 * RoleBinding) that `helm template <release> charts/kubeloop --namespace <namespace>` renders
 * with `operators` enabled. Builds helm into the binary cache on first use.
 * @throws Error with helm's message when rendering fails.
 */
export async function renderChartRbac(opts: { release: string; namespace: string; operators: readonly string[] }): Promise<KubeObject[]> {
  const helm = (await ensureBinaries({ components: ["helm"] })).helm;
  const rendered = manifestObjects(await runBinary(helm, [
    "template", opts.release, chartDir, "--namespace", opts.namespace, "--kube-version", "1.36.0", "--set", `operators={${opts.operators.join(",")}}`,
  ]));
  return rendered.filter((o) => RBAC_KINDS.has(o.kind!));
}

/** `system:serviceaccount:<namespace>:<name>` of the ServiceAccount among rendered RBAC objects. */
export function serviceAccountUser(rbacObjects: readonly KubeObject[]): string {
  const sa = rbacObjects.find((o) => o.kind === "ServiceAccount");
  if (!sa) throw new Error("the chart rendered no ServiceAccount (serviceAccount.create off?)");
  return `system:serviceaccount:${sa.metadata!.namespace}:${sa.metadata!.name}`;
}

/**
 * A client for the sample operators `operators` (one name or several run in one manager) in an
 * e2e suite. By default it impersonates the chart's ServiceAccount of a release with only those
 * operators enabled (`e2e-<operators joined by ->` in `OPERATOR_IDENTITY_NAMESPACE`), whose RBAC objects are applied first (server-side apply, so
 * test files running at once agree; they stay on the cluster for the next file). With
 * `KUBELOOP_E2E_OPERATOR_IDENTITY=admin` it uses the test's own credentials instead (to tell a
 * missing rule from a real failure). Close it with `close()`.
 * @throws Error for another value of `KUBELOOP_E2E_OPERATOR_IDENTITY`, or when rendering or applying fails.
 */
export async function operatorClient(env: { kubeConfig: KubeConfig; client: KubeClient }, operators: string | readonly string[]): Promise<KubeClient> {
  const names = typeof operators === "string" ? [operators] : operators;
  const mode = process.env.KUBELOOP_E2E_OPERATOR_IDENTITY ?? "chart";
  if (mode === "admin") return createClient({ kubeConfig: env.kubeConfig });
  if (mode !== "chart") throw new Error(`KUBELOOP_E2E_OPERATOR_IDENTITY=${JSON.stringify(mode)}: expected chart (the default) or admin`);
  const rbac = await renderChartRbac({ release: `e2e-${names.join("-")}`, namespace: OPERATOR_IDENTITY_NAMESPACE, operators: names });
  const apply = (obj: KubeObject) => env.client.patch(manifestResourceType(obj), { namespace: obj.metadata?.namespace, name: obj.metadata!.name! }, {
    type: "apply", body: obj, fieldManager: "kubeloop-e2e-operator-identity", force: true,
  });
  await apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: OPERATOR_IDENTITY_NAMESPACE } });
  for (const obj of rbac) await apply(obj);
  return createClient({ kubeConfig: env.kubeConfig, impersonate: { userName: serviceAccountUser(rbac) } });
}
