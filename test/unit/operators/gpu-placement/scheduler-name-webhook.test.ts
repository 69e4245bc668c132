/**
 * The scheduler-name webhook's decision (`routeToKubeloopScheduler`) and its registration: which
 * pods go to kubeloop-scheduler, with which annotation, and what the API server is told to send.
 * The webhook on the real API server is `test/e2e/operators/gpu-placement/scheduler-name-webhook.test.ts`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { WebhookServer } from "../../../../framework/admission/index.ts";
import { compilePolicy } from "../../../../operators/gpu-placement/policy.ts";
import { staticPolicies } from "../../../../operators/gpu-placement/policy-cache.ts";
import {
  GOVERNING_POLICY_ANNOTATION, registerSchedulerNameWebhook, routeToKubeloopScheduler, SCHEDULER_NAME_WEBHOOK,
} from "../../../../operators/gpu-placement/scheduler-name-webhook.ts";
import { gpuPod, policy } from "./fixtures.ts";

const policies = staticPolicies([
  policy("train-low", { selector: { matchLabels: { app: "train" } }, weight: 3 }),
  policy("train-high", { selector: { matchLabels: { app: "train" } }, weight: 9 }),
  policy("infer", { selector: { matchExpressions: [{ key: "tier", operator: "In", values: ["infer"] }] } }),
]);

test("a pod a policy governs goes to kubeloop-scheduler, annotated with the policy that wins (highest weight)", () => {
  const pod = gpuPod("p", 2, { labels: { app: "train" } });
  pod.spec!.schedulerName = "default-scheduler";
  const routed = routeToKubeloopScheduler(pod, policies);
  assert.equal(routed?.policy, "train-high");
  assert.equal(routed?.pod.spec?.schedulerName, "kubeloop-scheduler");
  assert.equal(routed?.pod.metadata?.annotations?.[GOVERNING_POLICY_ANNOTATION], "train-high");
  assert.equal(pod.spec!.schedulerName, "default-scheduler", "the request's object is not changed");
  assert.deepEqual(routed?.pod.spec?.containers, pod.spec?.containers);
  // No schedulerName at all (a client that skipped defaulting) counts as kube-scheduler's.
  delete pod.spec!.schedulerName;
  assert.equal(routeToKubeloopScheduler(pod, policies)?.pod.spec?.schedulerName, "kubeloop-scheduler");
});

test("left alone: a pod no policy selects, one that names another scheduler, one already bound", () => {
  assert.equal(routeToKubeloopScheduler(gpuPod("none", 1, { labels: { app: "web" } }), policies), undefined);
  const other = gpuPod("other", 1, { labels: { app: "train" } });
  other.spec!.schedulerName = "volcano";
  assert.equal(routeToKubeloopScheduler(other, policies), undefined);
  assert.equal(routeToKubeloopScheduler(gpuPod("bound", 1, { labels: { app: "train" }, nodeName: "n1" }), policies), undefined);
  assert.equal(routeToKubeloopScheduler(gpuPod("p", 1, { labels: { app: "train" } }), staticPolicies([])), undefined, "no policies, no change");
  assert.equal(compilePolicy(policy("x", { selector: {} })).selector.matches({}), true, "an empty selector selects every pod");
});

test("registration: Pod CREATE only, failurePolicy Ignore, 5 s, kube-system and the given namespaces excluded, three matchConditions", () => {
  const server = new WebhookServer({ certificates: { caBundle: () => "", current: () => { throw new Error("unused"); }, onChange: () => () => {} }, service: { namespace: "ops", name: "hooks" } });
  registerSchedulerNameWebhook(server, policies, { excludedNamespaces: ["ops"] });
  const [webhook, ...rest] = server.mutatingWebhookConfiguration()!.webhooks;
  assert.equal(rest.length, 0);
  assert.equal(webhook!.name, SCHEDULER_NAME_WEBHOOK);
  assert.deepEqual(webhook!.rules, [{ apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], operations: ["CREATE"] }]);
  assert.equal(webhook!.failurePolicy, "Ignore");
  assert.equal(webhook!.timeoutSeconds, 5);
  assert.equal(webhook!.reinvocationPolicy, "Never");
  assert.deepEqual(webhook!.namespaceSelector, { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", "ops"] }] });
  assert.deepEqual(webhook!.matchConditions?.map((c) => c.name), ["requests-gpus", "on-kube-scheduler", "not-bound"]);
  assert.deepEqual(webhook!.clientConfig, { service: { namespace: "ops", name: "hooks", path: "/mutate-core-v1-pod-scheduler-name", port: 443 } });
  assert.equal(server.validatingWebhookConfiguration(), undefined);
});
