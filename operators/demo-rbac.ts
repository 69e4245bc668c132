/**
 * The demo's operators run with least privilege, as the chart deploys them: a ServiceAccount
 * bound to a ClusterRole holding exactly the rules generated from their code
 * (`Manager.policyRulesOf`, the rules `npm run generate` writes into the chart), reached through a
 * client that impersonates it. A request their code makes without declaring it is refused with
 * 403 Forbidden and the story does not converge.
 */
import { createClient, isNotFound, type KubeClient, type KubeConfig } from "../framework/client/index.ts";
import { Manager } from "../framework/manager/index.ts";
import { resourceType, ServiceAccounts, type KubeObject } from "../framework/meta/index.ts";
import { PermissionSet, type Permission, type PolicyRule } from "../framework/rbac/index.ts";
import { setupOperators } from "./registry.ts";
import { webhookPolicyRules } from "./webhooks.ts";

const ClusterRoles = resourceType<KubeObject & { rules: PolicyRule[] }>({ group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRole", plural: "clusterroles", namespaced: false });
const ClusterRoleBindings = resourceType<KubeObject>({ group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRoleBinding", plural: "clusterrolebindings", namespaced: false });
const Roles = resourceType<KubeObject & { rules: PolicyRule[] }>({ group: "rbac.authorization.k8s.io", version: "v1", kind: "Role", plural: "roles", namespaced: true });
const RoleBindings = resourceType<KubeObject>({ group: "rbac.authorization.k8s.io", version: "v1", kind: "RoleBinding", plural: "rolebindings", namespaced: true });

/** Name of the demo's ServiceAccount (in the demo namespace), ClusterRole and ClusterRoleBinding. */
export const DEMO_IDENTITY = "kubeloop-demo-operators";

/** The operators' least-privilege client, the identity it acts as, and its rules. */
export interface LeastPrivilege {
  client: KubeClient;
  /** `system:serviceaccount:<namespace>:kubeloop-demo-operators`. */
  user: string;
  /** The operators' rules, as the chart's ClusterRole has them. */
  operatorRules: PolicyRule[];
  /** The rules in the namespace only (with webhooks: the certificates' Secret), as the chart's webhook Role has them. */
  namespacedRules: PolicyRule[];
}

/**
 * Applies the ServiceAccount, ClusterRole (the rules `operators` declare, plus `viewerReads`:
 * what the demo itself reads through the operators' cache) and binding with `admin`
 * (server-side apply), with `webhookConfiguration` also the chart's webhook grants (a Role for the
 * certificates' Secret in `namespace`, get/update on that configuration), and returns a client for `kubeConfig` that impersonates the
 * ServiceAccount. Close the client when done; `removeLeastPrivilege` deletes the cluster-scoped objects.
 * @throws ApiError when `admin` may not create them.
 */
export async function leastPrivilegeClient(
  admin: KubeClient, kubeConfig: KubeConfig, namespace: string, operators: readonly string[], viewerReads: readonly Permission[],
  opts: { webhookConfiguration?: string } = {},
): Promise<LeastPrivilege> {
  const operatorRules = Manager.policyRulesOf((mgr) => setupOperators(mgr, operators));
  const viewer = new PermissionSet();
  viewer.add(...viewerReads);
  // With webhooks, the chart's webhook grants: the certificates' Secret in the namespace (a Role),
  // get/update on the one configuration (by name).
  const webhookRules = opts.webhookConfiguration ? webhookPolicyRules(opts.webhookConfiguration) : undefined;
  const configurationRules = webhookRules?.cluster ?? [];
  const rules = [...operatorRules, ...configurationRules, ...viewer.rules()];
  const apply = <T extends KubeObject>(type: Parameters<KubeClient["patch"]>[0], obj: T) =>
    admin.patch(type, { namespace: obj.metadata?.namespace, name: obj.metadata!.name! }, { type: "apply", body: obj, fieldManager: "kubeloop-demo", force: true });
  await apply(ServiceAccounts, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: DEMO_IDENTITY, namespace } });
  await apply(ClusterRoles, { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: DEMO_IDENTITY }, rules });
  await apply(ClusterRoleBindings, {
    apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: DEMO_IDENTITY },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: DEMO_IDENTITY },
    subjects: [{ kind: "ServiceAccount", name: DEMO_IDENTITY, namespace }],
  } as KubeObject);
  if (webhookRules) {
    await apply(Roles, { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: DEMO_IDENTITY, namespace }, rules: webhookRules.namespaced });
    await apply(RoleBindings, {
      apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: DEMO_IDENTITY, namespace },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: DEMO_IDENTITY },
      subjects: [{ kind: "ServiceAccount", name: DEMO_IDENTITY, namespace }],
    } as KubeObject);
  }
  const user = `system:serviceaccount:${namespace}:${DEMO_IDENTITY}`;
  return { client: createClient({ kubeConfig, impersonate: { userName: user } }), user, operatorRules: [...operatorRules, ...configurationRules], namespacedRules: webhookRules?.namespaced ?? [] };
}

/** One line per rule: `  <group or core>  <resources>: <verbs>`. */
export function rulesLines(rules: readonly PolicyRule[]): string {
  return rules.map((r) => `  ${r.apiGroups.map((g) => g || "core").join(",")}  ${r.resources.join(", ")}${r.resourceNames ? ` (only ${r.resourceNames.join(", ")})` : ""}: ${r.verbs.join(" ")}`).join("\n");
}

/** Deletes the ClusterRole and binding (the ServiceAccount goes with the namespace, or stays with it). */
export async function removeLeastPrivilege(admin: KubeClient): Promise<void> {
  for (const type of [ClusterRoleBindings, ClusterRoles]) {
    await admin.delete(type as typeof ClusterRoleBindings, { name: DEMO_IDENTITY }).catch((e: unknown) => { if (!isNotFound(e)) throw e; });
  }
}
