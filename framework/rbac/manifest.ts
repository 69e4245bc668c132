import YAML from "yaml";
import type { PolicyRule } from "./rules.ts";

/**
 * `rules` as a YAML block list whose string lists are in flow style (`verbs: [get, list]`), the
 * way RBAC manifests are written by hand. No trailing newline.
 */
export function policyRulesYaml(rules: readonly PolicyRule[]): string {
  if (rules.length === 0) return "[]";
  const doc = new YAML.Document(rules);
  YAML.visit(doc, { Seq: (_key, node, path) => { if (path.length > 1) node.flow = true; } });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false }).trimEnd();
}

/**
 * A ClusterRole manifest (`rbac.authorization.k8s.io/v1`) named `name` with `rules`, preceded by
 * `comment` lines (`# ...`) when given. `name` is written as is, so a Helm chart can pass
 * `{{ .Release.Name }}`.
 */
export function clusterRoleYaml(name: string, rules: readonly PolicyRule[], comment?: string): string {
  const header = comment ? comment.split("\n").map((l) => `# ${l}`.trimEnd()).join("\n") + "\n" : "";
  const body = policyRulesYaml(rules);
  return `${header}apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: ${name}
rules:${rules.length === 0 ? ` ${body}` : `\n${body.split("\n").map((l) => `  ${l}`).join("\n")}`}
`;
}
