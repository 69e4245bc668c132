import type { ResourceType } from "../meta/index.ts";

/** An RBAC verb a client call needs (`rbac.authorization.k8s.io/v1` PolicyRule verbs, plus `impersonate`). */
export type Verb = "get" | "list" | "watch" | "create" | "update" | "patch" | "delete" | "deletecollection" | "impersonate";

/** Verbs in the order rules list them (kubectl's and kubebuilder's order). */
const VERB_ORDER: readonly Verb[] = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "impersonate"];

/** What one piece of code needs on one resource: its API group, resource (`pods`, `pods/status`) and verbs. */
export interface Permission {
  readonly group: string;
  /** The plural, with `/<subresource>` for a subresource. */
  readonly resource: string;
  readonly verbs: readonly Verb[];
}

/** An `rbac.authorization.k8s.io/v1` PolicyRule without nonResourceURLs. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  /** When present, only objects of these names (RBAC never matches a list or a create to it). */
  resourceNames?: string[];
  verbs: Verb[];
}

/** The permission `verbs` on `type` (or on its `subresource`, e.g. `status`, `binding`). */
export function permission(type: Pick<ResourceType, "group" | "plural">, verbs: readonly Verb[], subresource?: string): Permission {
  return { group: type.group, resource: subresource ? `${type.plural}/${subresource}` : type.plural, verbs: [...verbs] };
}

/**
 * The permissions a process declares, merged per group and resource. `rules()` renders them as
 * PolicyRules: resources of one group with the same verbs share a rule; groups, resources and
 * verbs sorted, so the output is stable (kubebuilder's `controller-gen rbac` normalises the same way).
 */
export class PermissionSet {
  readonly #verbs = new Map<string, Set<Verb>>();

  /** Adds permissions; a verb already present is not repeated. */
  add(...permissions: readonly Permission[]): void {
    for (const p of permissions) {
      const key = JSON.stringify([p.group, p.resource]);
      let verbs = this.#verbs.get(key);
      if (!verbs) this.#verbs.set(key, (verbs = new Set()));
      for (const v of p.verbs) verbs.add(v);
    }
  }

  /** Every permission added, one per group and resource, verbs in kubectl's order. */
  permissions(): Permission[] {
    return [...this.#verbs].map(([key, verbs]) => {
      const [group, resource] = JSON.parse(key) as [string, string];
      return { group, resource, verbs: VERB_ORDER.filter((v) => verbs.has(v)) };
    }).sort((a, b) => a.group.localeCompare(b.group) || a.resource.localeCompare(b.resource));
  }

  /** The PolicyRules that grant exactly these permissions. */
  rules(): PolicyRule[] {
    const byGroupAndVerbs = new Map<string, PolicyRule>();
    for (const p of this.permissions()) {
      const key = JSON.stringify([p.group, p.verbs]);
      const rule = byGroupAndVerbs.get(key);
      if (rule) rule.resources.push(p.resource);
      else byGroupAndVerbs.set(key, { apiGroups: [p.group], resources: [p.resource], verbs: [...p.verbs] });
    }
    return [...byGroupAndVerbs.values()].sort((a, b) =>
      a.apiGroups[0]!.localeCompare(b.apiGroups[0]!) || a.resources[0]!.localeCompare(b.resources[0]!));
  }
}

/** One API request as RBAC sees it (the audit log's `objectRef` and verb). */
export interface ResourceRequest {
  group: string;
  /** The plural, with `/<subresource>` for a subresource. */
  resource: string;
  verb: string;
  /** The object's name, for a request on one object (get, update, delete, ...). */
  name?: string;
}

/**
 * Whether `rules` allow `request` (`*` matches any group, resource or verb; a rule with
 * `resourceNames` only a request naming one of them), as RBAC's `RuleAllows`.
 */
export function rulesAllow(rules: readonly PolicyRule[], request: ResourceRequest): boolean {
  const matches = (values: readonly string[], value: string) => values.includes("*") || values.includes(value);
  return rules.some((r) => matches(r.apiGroups, request.group) && matches(r.resources, request.resource) && matches(r.verbs, request.verb) &&
    (!r.resourceNames?.length || (request.name !== undefined && r.resourceNames.includes(request.name))));
}
