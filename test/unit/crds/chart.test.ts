/**
 * The Helm chart `charts/kubeloop`: values and Chart.yaml parse; with a Helm binary
 * (`$HELM`, `~/.cache/kubeloop/bin/helm-v3.21.4/helm`, or `helm` on PATH) the chart lints and
 * renders, and the rendered objects carry the probes, ports, security settings, leader
 * election and RBAC the operators need. Helm is `$HELM` or built from the Go module proxy on first
 * use (a few minutes, cached in ~/.cache/kubeloop/bin).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { renderCrds, repoRoot } from "../../../operators/generate.ts";
import { ensureBinaries } from "../../../framework/testing/index.ts";
import { operators } from "../../../operators/registry.ts";
import { operatorPolicyRules } from "../../../operators/rbac.ts";
import { operatorWebhooks, webhookPolicyRules } from "../../../operators/webhooks.ts";
import { samplePolicies } from "../../../operators/policies/index.ts";
import { policyObjects } from "../../../framework/admission/index.ts";
import { Manager } from "../../../framework/manager/index.ts";

const chartDir = join(repoRoot, "charts", "kubeloop");

interface Rendered {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [field: string]: unknown;
}

interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
  verbs: string[];
}

/**
 * Helm from `$HELM`, else the v3.21.4 the harness builds with Go and caches (as it builds the
 * control plane: a tool that happens to be on PATH is not part of the project).
 */
async function findHelm(): Promise<string> {
  if (process.env.HELM) return process.env.HELM;
  return (await ensureBinaries({ components: ["helm"], onProgress: (line) => process.stderr.write(`[chart test] ${line}\n`) })).helm;
}

const helm = await findHelm();

function render(...set: string[]): Rendered[] {
  // --kube-version: `helm template` otherwise assumes v1.20, below the chart's kubeVersion.
  const args = ["template", "kl", chartDir, "--namespace", "kubeloop-system", "--kube-version", "1.36.3", ...set.flatMap((s) => ["--set", s])];
  const out = execFileSync(helm!, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return YAML.parseAllDocuments(out).map((d) => d.toJS() as Rendered).filter((d) => d !== null);
}

function one(objects: Rendered[], kind: string, nameSuffix = ""): Rendered {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name.endsWith(nameSuffix));
  assert.equal(found.length, 1, `want one ${kind} *${nameSuffix}, got ${found.map((o) => o.metadata.name).join(", ")}`);
  return found[0]!;
}

function grants(rules: PolicyRule[], group: string, resource: string, verb: string): boolean {
  return rules.some((r) => r.apiGroups.includes(group) && (r.resources.includes(resource) || r.resources.includes("*")) && (r.verbs.includes(verb) || r.verbs.includes("*")));
}

test("Chart.yaml and values.yaml parse with the documented defaults", () => {
  const chart = YAML.parse(readFileSync(join(chartDir, "Chart.yaml"), "utf8"));
  assert.equal(chart.apiVersion, "v2");
  assert.equal(chart.name, "kubeloop");
  const values = YAML.parse(readFileSync(join(chartDir, "values.yaml"), "utf8"));
  assert.equal(values.leaderElection.enabled, true);
  assert.ok(values.replicaCount >= 2, "leader election on by default with standby replicas");
  assert.equal(values.securityContext.readOnlyRootFilesystem, true);
  assert.equal(values.securityContext.runAsNonRoot, true);
  assert.equal(values.metrics.port, 8080);
  assert.equal(values.health.port, 8081);
});

test("helm lint passes", () => {
  const out = execFileSync(helm!, ["lint", chartDir, "--strict"], { encoding: "utf8" });
  assert.match(out, /0 chart\(s\) failed/);
});

test("the Deployment runs the operators with probes, ports, security context and leader election", () => {
  const objects = render("image.tag=test");
  const deployment = one(objects, "Deployment") as Rendered & { spec: any };
  assert.equal(deployment.metadata.namespace, "kubeloop-system");
  assert.equal(deployment.spec.replicas, 2);
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  assert.equal(container.image, "ghcr.io/kubeloop/kubeloop:test");
  assert.equal(pod.serviceAccountName, one(objects, "ServiceAccount").metadata.name);
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(container.securityContext.readOnlyRootFilesystem, true);
  assert.equal(container.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(container.securityContext.capabilities.drop, ["ALL"]);
  const ports = Object.fromEntries(container.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]));
  assert.deepEqual(ports, { metrics: 8080, health: 8081, webhook: 9443 });
  assert.deepEqual([container.livenessProbe.httpGet.path, container.livenessProbe.httpGet.port], ["/healthz", "health"]);
  assert.deepEqual([container.readinessProbe.httpGet.path, container.readinessProbe.httpGet.port], ["/readyz", "health"]);
  assert.ok(container.resources.requests.cpu);
  for (const arg of ["--operators=replicaset,endpoints,gang-scheduling,gpu-placement", "--leader-elect=true", "--leader-election-namespace=kubeloop-system", "--metrics-bind-address=:8080", "--health-probe-bind-address=:8081",
    "--webhook-bind-address=:9443", "--webhook-service=kl-kubeloop-webhook", "--webhook-configuration-name=kl-kubeloop", "--webhook-cert-secret=kl-kubeloop-webhook-certificates"]) {
    assert.ok(container.args.includes(arg), `args lack ${arg}: ${container.args.join(" ")}`);
  }
  const selector = deployment.spec.selector.matchLabels;
  for (const [k, v] of Object.entries(selector)) assert.equal(deployment.spec.template.metadata.labels[k], v);
});

test("the ClusterRole grants exactly the generated rules of the listed operators; the Lease only in the release namespace", () => {
  const objects = render();
  const clusterRole = one(objects, "ClusterRole") as Rendered & { rules: PolicyRule[] };
  const defaults = (YAML.parse(readFileSync(join(chartDir, "values.yaml"), "utf8")) as { operators: string[] }).operators;
  // The webhook server's rule comes last: get and update on the chart's own configuration, by name.
  const webhookRules = webhookPolicyRules("kl-kubeloop").cluster;
  assert.deepEqual(webhookRules, [{ apiGroups: ["admissionregistration.k8s.io"], resources: ["mutatingwebhookconfigurations"], resourceNames: ["kl-kubeloop"], verbs: ["get", "update"] }]);
  assert.deepEqual(clusterRole.rules, [...defaults.flatMap((name) => operatorPolicyRules(name)), ...webhookRules]);
  const all = (one(render(`operators={${Object.keys(operators).join(",")}}`), "ClusterRole") as Rendered & { rules: PolicyRule[] }).rules;
  assert.deepEqual(all, [...Object.keys(operators).flatMap((name) => operatorPolicyRules(name)), ...webhookRules], "every operator of the registry has its rules in the chart");
  assert.ok(!grants(clusterRole.rules, "coordination.k8s.io", "leases", "update"), "leases belong in the namespaced Role");
  const role = one(objects, "Role", "-leader-election") as Rendered & { rules: PolicyRule[] };
  const secrets = one(objects, "Role", "-webhook") as Rendered & { rules: PolicyRule[] };
  assert.equal(secrets.metadata.namespace, "kubeloop-system");
  assert.deepEqual(secrets.rules, webhookPolicyRules().namespaced, "the webhook certificates' Secret: get, create, update in the release namespace");
  assert.ok(!grants(clusterRole.rules, "", "secrets", "get"), "Secrets belong in the namespaced Role");
  assert.equal(role.metadata.namespace, "kubeloop-system");
  assert.deepEqual(role.rules, Manager.leaderElectionRules());
  const binding = one(objects, "ClusterRoleBinding") as Rendered & { subjects: Array<{ name: string; namespace: string }>; roleRef: { name: string } };
  assert.equal(binding.roleRef.name, clusterRole.metadata.name);
  assert.deepEqual(binding.subjects.map((s) => [s.name, s.namespace]), [[one(objects, "ServiceAccount").metadata.name, "kubeloop-system"]]);
  // What a few operators need, spelled out (the derivation is checked by the impersonation e2e).
  for (const [group, resource, verb] of [
    ["", "pods", "create"], ["apps.kubeloop.dev", "replicasets/status", "update"], ["", "pods/binding", "create"],
    ["discovery.kubeloop.dev", "endpointslices", "delete"], ["scheduling.kubeloop.dev", "gpuplacementpolicies/status", "update"],
  ] as const) assert.ok(grants(clusterRole.rules, group, resource, verb), `ClusterRole lacks ${verb} ${resource}.${group}`);
});

test("an operator left out of the values gets no rules", () => {
  const replicasetOnly = (one(render("operators={replicaset}"), "ClusterRole") as Rendered & { rules: PolicyRule[] }).rules;
  assert.deepEqual(replicasetOnly, operatorPolicyRules("replicaset"));
  for (const [group, resource] of [["scheduling.kubeloop.dev", "podgroups"], ["discovery.kubeloop.dev", "endpointslices"], ["", "pods/binding"], ["", "services"]] as const) {
    assert.ok(!grants(replicasetOnly, group, resource, "list") && !grants(replicasetOnly, group, resource, "create"), `replicaset alone needs no ${resource}`);
  }
});

test("admissionPolicies.enabled renders exactly the shipped policies and bindings; off by default", () => {
  const policyKinds = new Set(["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"]);
  assert.deepEqual(render().filter((o) => policyKinds.has(o.kind)), []);
  const rendered = render("admissionPolicies.enabled=true").filter((o) => policyKinds.has(o.kind));
  const byName = (a: { kind: string; metadata: { name: string } }, b: { kind: string; metadata: { name: string } }) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`);
  assert.deepEqual(rendered.sort(byName), (structuredClone(policyObjects(samplePolicies())) as unknown as Rendered[]).sort(byName));
});

test("the chart creates the leader-election Lease without a holder (so that uninstalling removes it), named as the operators' flag names it", () => {
  const objects = render();
  const lease = one(objects, "Lease") as Rendered & { spec: Record<string, unknown> };
  assert.equal(lease.metadata.name, "kubeloop-operators");
  assert.equal(lease.metadata.namespace, "kubeloop-system");
  assert.deepEqual(lease.spec, {}, "no holder: the first operator pod takes it");
  const args: string[] = (one(objects, "Deployment") as Rendered & { spec: any }).spec.template.spec.containers[0].args;
  assert.ok(args.includes(`--leader-election-id=${lease.metadata.name}`) && args.includes("--leader-election-namespace=kubeloop-system"));
});

test("leader election can be turned off", () => {
  const objects = render("leaderElection.enabled=false", "replicaCount=1");
  assert.equal(objects.filter((o) => o.kind === "Lease").length, 0, "no Lease");
  assert.deepEqual(objects.filter((o) => o.kind === "Role" || o.kind === "RoleBinding").map((o) => o.metadata.name), ["kl-kubeloop-webhook", "kl-kubeloop-webhook"], "only the webhook certificates' Role and binding");
  const deployment = one(objects, "Deployment") as Rendered & { spec: any };
  assert.ok(deployment.spec.template.spec.containers[0].args.includes("--leader-elect=false"));
});

test("the chart ships the generated CRDs", () => {
  // `helm show crds` prints the files one after the other, without `---` between them (it
  // installs them one file at a time), so compare file by file.
  const out = execFileSync(helm!, ["show", "crds", chartDir], { encoding: "utf8" });
  const files = renderCrds();
  assert.ok(files.has("replicasets.apps.kubeloop.dev.yaml"));
  for (const [name, text] of files) assert.ok(out.includes(text), `helm show crds has ${name}`);
});

test("values.schema.json names exactly the operators of the registry", () => {
  const schema = JSON.parse(readFileSync(join(chartDir, "values.schema.json"), "utf8"));
  assert.deepEqual([...schema.properties.operators.items.enum].sort(), Object.keys(operators).sort());
});

test("values.schema.json refuses a wrong value with the field and the reason", () => {
  const refused = (set: string): string => {
    try {
      render(set);
    } catch (err) {
      return String((err as { stderr?: string }).stderr ?? err);
    }
    assert.fail(`--set ${set} was accepted`);
  };
  assert.match(refused("operators={replicaset,nginx}"), /at '\/operators\/1': value must be one of 'replicaset', 'endpoints', 'gang-scheduling', 'gpu-placement'/);
  assert.match(refused("replicaCount=0"), /at '\/replicaCount': minimum: got 0, want 1/);
  assert.match(refused("logLevel=verbose"), /at '\/logLevel': value must be one of 'trace'/);
  assert.match(refused("leaderElection.leaseDurationSecond=15"), /at '\/leaderElection': additional properties 'leaseDurationSecond' not allowed/);
  assert.match(refused("webhooks.port=0"), /at '\/webhooks\/port': minimum: got 0, want 1/);
  assert.match(refused("webhooks.namespaceSelector.matchLabel.a=b"), /at '\/webhooks\/namespaceSelector': additional properties 'matchLabel' not allowed/);
});

test("the PodDisruptionBudget keeps one operator pod when there are standbys, and is absent with one replica", () => {
  const pdb = one(render(), "PodDisruptionBudget");
  assert.deepEqual((pdb as unknown as { spec: { minAvailable: number } }).spec.minAvailable, 1);
  assert.equal(render("replicaCount=1").filter((o) => o.kind === "PodDisruptionBudget").length, 0);
});

test("optional objects: ServiceMonitor, NetworkPolicy and the Grafana dashboard ConfigMap render when enabled", () => {
  const defaults = render();
  for (const kind of ["ServiceMonitor", "NetworkPolicy", "ConfigMap"]) assert.equal(defaults.filter((o) => o.kind === kind).length, 0, `no ${kind} by default`);

  const on = render("serviceMonitor.enabled=true", "networkPolicy.enabled=true", "grafanaDashboard.enabled=true");
  const monitor = one(on, "ServiceMonitor") as unknown as { spec: { endpoints: Array<{ port: string }> } };
  assert.equal(monitor.spec.endpoints[0]?.port, "metrics", "the ServiceMonitor scrapes the metrics Service's port by name");
  const service = one(on, "Service", "-metrics") as unknown as { spec: { ports: Array<{ name: string }> } };
  assert.ok(service.spec.ports.some((p) => p.name === "metrics"));
  const policy = one(on, "NetworkPolicy") as unknown as { spec: { ingress: Array<{ ports: Array<{ port: string }> }> } };
  assert.deepEqual(policy.spec.ingress.map((r) => r.ports[0]?.port), ["metrics", "health", "webhook"]);

  const dashboardMap = one(on, "ConfigMap", "-dashboard") as unknown as { metadata: { labels: Record<string, string> }; data: Record<string, string> };
  assert.equal(dashboardMap.metadata.labels["grafana_dashboard"], "1", "the label Grafana's sidecar looks for");
  const dashboard = JSON.parse(dashboardMap.data["kubeloop.json"]!) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
  const titles = dashboard.panels.map((p) => p.title).join(" | ");
  for (const topic of [/Reconciles per second/, /Reconcile errors/, /queue depth/, /queue latency/, /Leader/, /Scheduling attempts/, /scheduling latency/, /GPUs per product/, /Webhook requests/, /Webhook latency/]) {
    assert.match(titles, topic);
  }
  // Every metric a panel queries is one the framework or an operator registers (no typo, no rename left behind).
  const sources = [
    "framework/controller/metrics.ts", "framework/queue/metrics.ts", "framework/manager/leader-election.ts", "framework/manager/metrics.ts",
    "framework/scheduling/metrics.ts", "operators/gpu-placement/metrics.ts", "framework/admission/webhook/metrics.ts",
  ].map((f) => { try { return readFileSync(join(repoRoot, f), "utf8"); } catch { return ""; } }).join("\n");
  const names = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => [...t.expr.matchAll(/\b([a-z_]+)(?:\{|\[)/g)].map((m) => m[1]!))));
  for (const name of names) {
    if (["rate", "sum", "max", "by", "histogram_quantile"].includes(name)) continue;
    const registered = name.replace(/_bucket$/, "");
    assert.ok(sources.includes(`"${registered}"`), `the dashboard queries ${name}, which nothing registers`);
  }
});

test("webhooks: the gpu-placement operator's scheduler-name webhook behind a Service, as generated from its code; none when disabled or when no listed operator has one", () => {
  const objects = render();
  const service = one(objects, "Service", "-webhook") as Rendered & { spec: { ports: Array<{ port: number; targetPort: string }>; selector: Record<string, string> } };
  assert.deepEqual(service.spec.ports.map((p) => [p.port, p.targetPort]), [[443, "webhook"]]);
  const deployment = one(objects, "Deployment") as Rendered & { spec: any };
  assert.deepEqual(service.spec.selector, deployment.spec.selector.matchLabels, "the Service selects the operator pods");
  const secret = one(objects, "Secret", "-webhook-certificates") as Rendered & { data?: unknown; type: string };
  assert.equal(secret.metadata.namespace, "kubeloop-system");
  assert.equal(secret.data, undefined, "created empty (so that helm uninstall removes it); the pods fill it in");
  assert.ok(deployment.spec.template.spec.containers[0].args.includes(`--webhook-cert-secret=${secret.metadata.name}`));
  const configuration = one(objects, "MutatingWebhookConfiguration") as Rendered & { webhooks: Array<Record<string, any>> };
  assert.equal(configuration.metadata.name, "kl-kubeloop");
  assert.equal(objects.filter((o) => o.kind === "ValidatingWebhookConfiguration").length, 0, "no operator registers a validating webhook");
  // The generated webhook, with the release's Service and namespace put in; no caBundle (the operator pods inject it).
  const expected = structuredClone(operatorWebhooks("gpu-placement").mutating) as Array<Record<string, any>>;
  for (const w of expected) {
    w.clientConfig.service = { ...w.clientConfig.service, namespace: "kubeloop-system", name: "kl-kubeloop-webhook" };
    w.namespaceSelector.matchExpressions[0].values = ["kube-system", "kubeloop-system"];
  }
  assert.deepEqual(configuration.webhooks, expected);
  assert.equal(configuration.webhooks[0]!.name, "scheduler-name.gpu-placement.kubeloop.dev");
  assert.equal(configuration.webhooks[0]!.failurePolicy, "Ignore");
  assert.equal(configuration.webhooks[0]!.clientConfig.caBundle, undefined);

  for (const off of [render("webhooks.enabled=false"), render("operators={replicaset,endpoints,gang-scheduling}")]) {
    const kinds = off.map((o) => `${o.kind}/${o.metadata.name}`).filter((k) => /webhook/i.test(k));
    assert.deepEqual(kinds, [], "no webhook objects");
    const args: string[] = (one(off, "Deployment") as Rendered & { spec: any }).spec.template.spec.containers[0].args;
    assert.ok(!args.some((a) => a.startsWith("--webhook")), `no webhook flags: ${args.join(" ")}`);
    const rules = (one(off, "ClusterRole") as Rendered & { rules: PolicyRule[] }).rules;
    assert.ok(!grants(rules, "admissionregistration.k8s.io", "mutatingwebhookconfigurations", "update"));
  }
  // webhooks.namespaceSelector replaces the generated one, and nothing else.
  const optIn = one(render("webhooks.namespaceSelector.matchLabels.kubeloop\\.dev/webhooks=enabled"), "MutatingWebhookConfiguration") as Rendered & { webhooks: Array<Record<string, any>> };
  assert.deepEqual(optIn.webhooks, expected.map((w) => ({ ...w, namespaceSelector: { matchLabels: { "kubeloop.dev/webhooks": "enabled" } } })));
  const port = one(render("webhooks.port=10250"), "Deployment") as Rendered & { spec: any };
  assert.ok(port.spec.template.spec.containers[0].args.includes("--webhook-bind-address=:10250"));
});

test("kind-config.yaml labels its workers as GPU nodes, one of them eligible for the train-binpack sample; scripts/kind.sh parses", () => {
  const config = YAML.parse(readFileSync(join(repoRoot, "kind-config.yaml"), "utf8")) as { nodes: Array<{ role: string; labels?: Record<string, string> }> };
  const workers = config.nodes.filter((n) => n.role === "worker");
  assert.ok(workers.length >= 2);
  const products = workers.map((w) => w.labels?.["nvidia.com/gpu.product"]);
  assert.ok(products.every((p) => p !== undefined), "every worker has a GPU product label");
  const policy = YAML.parse(readFileSync(join(repoRoot, "operators", "gpu-placement", "samples", "train-binpack.yaml"), "utf8")) as { spec: { requiredProducts: string[]; minGPUMemoryMiB: number } };
  assert.ok(workers.some((w) => policy.spec.requiredProducts.includes(w.labels!["nvidia.com/gpu.product"]!) && Number(w.labels!["nvidia.com/gpu.memory"]) >= policy.spec.minGPUMemoryMiB),
    "a worker is eligible for the train-binpack policy");
  execFileSync("bash", ["-n", join(repoRoot, "scripts", "kind.sh")]);
});
