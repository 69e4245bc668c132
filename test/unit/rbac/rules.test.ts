import { test } from "node:test";
import assert from "node:assert/strict";
import { Events, Pods, Services } from "../../../framework/meta/index.ts";
import { PermissionSet, permission, rulesAllow, type Verb } from "../../../framework/rbac/index.ts";

test("permissions merge per resource; resources of one group with equal verbs share a rule; output sorted", () => {
  const set = new PermissionSet();
  set.add(permission(Pods, ["watch", "list"]), permission(Services, ["list", "watch"]));
  set.add(permission(Pods, ["delete", "create", "list"]), permission(Pods, ["create"], "binding"), permission(Events, ["patch", "create"]));
  assert.deepEqual(set.rules(), [
    { apiGroups: [""], resources: ["pods"], verbs: ["list", "watch", "create", "delete"] },
    { apiGroups: [""], resources: ["pods/binding"], verbs: ["create"] },
    { apiGroups: [""], resources: ["services"], verbs: ["list", "watch"] },
    { apiGroups: ["events.k8s.io"], resources: ["events"], verbs: ["create", "patch"] },
  ]);
  const twin = new PermissionSet();
  twin.add(permission(Pods, ["get"]), permission(Services, ["get"]));
  assert.deepEqual(twin.rules(), [{ apiGroups: [""], resources: ["pods", "services"], verbs: ["get"] }]);
});

test("rulesAllow: exact group, resource (subresource included) and verb, or a wildcard", () => {
  const set = new PermissionSet();
  set.add(permission(Pods, ["list", "watch"]), permission(Pods, ["patch"], "status"));
  const rules = set.rules();
  assert.equal(rulesAllow(rules, { group: "", resource: "pods", verb: "list" }), true);
  assert.equal(rulesAllow(rules, { group: "", resource: "pods", verb: "get" }), false);
  assert.equal(rulesAllow(rules, { group: "", resource: "pods/status", verb: "patch" }), true);
  assert.equal(rulesAllow(rules, { group: "", resource: "pods/status", verb: "update" }), false);
  assert.equal(rulesAllow(rules, { group: "apps", resource: "pods", verb: "list" }), false);
  assert.equal(rulesAllow([{ apiGroups: ["*"], resources: ["*"], verbs: ["get"] }], { group: "apps", resource: "deployments", verb: "get" }), true);
  // resourceNames: only a request on one of those objects (RBAC never matches a list or a create to them).
  const named = [{ apiGroups: ["admissionregistration.k8s.io"], resources: ["mutatingwebhookconfigurations"], resourceNames: ["mine"], verbs: ["get", "update"] as Verb[] }];
  assert.equal(rulesAllow(named, { group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations", verb: "update", name: "mine" }), true);
  assert.equal(rulesAllow(named, { group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations", verb: "update", name: "theirs" }), false);
  assert.equal(rulesAllow(named, { group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations", verb: "get" }), false);
});
