/**
 * The admission suite of `npm run bench` (`--suites admission`), on a control plane of its own:
 * (1) the webhook server on loopback: AdmissionReview v1 requests sent open-loop at a fixed rate
 * (default 200/s for 10 s) straight to a validating and a mutating webhook over TLS, latency
 * p50/p99/max and failures; (2) the shipped ValidatingAdmissionPolicies: in-process evaluation
 * cost per request (`evaluateValidatingPolicy`) beside kube-apiserver's own cost for the same
 * policies (its `apiserver_validating_admission_policy_check_duration_seconds`, from /metrics,
 * which it records for denials only: the timed pod is one `pod-group-scheduler` denies) and
 * beside dry-run creates of that pod with and without the policies (end-to-end, same run).
 * Targets (issue 8): webhook p99 < 10 ms, no failure.
 */
import https from "node:https";
import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { KubeConfig } from "@kubernetes/client-node";
import {
  allow, CertificateManager, deny, evaluateValidatingPolicy, installAdmissionPolicies, mutate, WebhookServer, webhookFor,
  type AdmissionRequestInput, type ValidatingPolicySet,
} from "../../framework/admission/index.ts";
import { ApiError, createClient, type KubeClient } from "../../framework/client/index.ts";
import { ConfigMaps, Pods, type ConfigMap, type Pod } from "../../framework/meta/index.ts";
import { startControlPlane, waitFor } from "../../framework/testing/index.ts";
import { gpuResourcesPodsPolicy, podGroupSchedulerPolicy } from "../../operators/policies/index.ts";
import { POD_GROUP_LABEL } from "../../operators/gang-scheduling/index.ts";
import { ensureNamespace } from "./cluster.ts";
import { latencySummary, type Latency } from "./latency.ts";


export interface AdmissionBenchResult {
  webhook: { path: string; ratePerSecond: number; seconds: number; sent: number; failed: number; latencyMs: Latency }[];
  policies: {
    policy: string;
    /** Microseconds per in-process evaluation (median of 5 rounds). */
    inProcessMicros: number;
    /**
     * kube-apiserver's mean check duration for this policy in microseconds (its histogram: sum /
     * count over the dry runs); undefined when it never denied (it records only denials and errors).
     */
    serverMicros: number | undefined;
  }[];
  /** Dry-run creates of the same pod, sequential: admitted without the policies, denied with them bound. */
  dryRunMs: { without: Latency; with: Latency; requests: number };
}


function reviewFor(cm: ConfigMap): Buffer {
  return Buffer.from(JSON.stringify({
    apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview",
    request: {
      uid: randomUUID(), kind: { group: "", version: "v1", kind: "ConfigMap" }, resource: { group: "", version: "v1", resource: "configmaps" },
      requestKind: { group: "", version: "v1", kind: "ConfigMap" }, requestResource: { group: "", version: "v1", resource: "configmaps" },
      name: cm.metadata?.name, namespace: cm.metadata?.namespace, operation: "CREATE",
      userInfo: { username: "bench", groups: ["system:authenticated"] }, object: cm, oldObject: null, dryRun: false,
      options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" },
    },
  }));
}

/** POSTs one review; resolves with the latency in ms, or rejects when the answer is not a 200 with a response of the same uid. */
function post(agent: https.Agent, port: number, path: string, body: Buffer): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = https.request({ host: "127.0.0.1", port, path: `${path}?timeout=10s`, method: "POST", agent, headers: { "Content-Type": "application/json", "Content-Length": body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const ms = performance.now() - started;
        try {
          const review = JSON.parse(Buffer.concat(chunks).toString()) as { response?: { uid?: string; allowed?: boolean } };
          const sent = JSON.parse(body.toString()) as { request: { uid: string } };
          if (res.statusCode === 200 && review.response?.uid === sent.request.uid && typeof review.response.allowed === "boolean") resolve(ms);
          else reject(new Error(`status ${res.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 200)}`));
        } catch (err) {
          reject(err as Error);
        }
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Sends `rate` requests per second for `seconds`, open-loop (each on its own schedule, not after the previous answer). */
async function openLoop(send: (i: number) => Promise<number>, rate: number, seconds: number): Promise<{ sent: number; failed: number; latencies: number[] }> {
  const total = Math.round(rate * seconds);
  const intervalMs = 1000 / rate;
  const start = performance.now();
  const latencies: number[] = [];
  let failed = 0;
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(send(i).then((ms) => { latencies.push(ms); }, () => { failed++; }));
  }
  await Promise.all(inFlight);
  return { sent: total, failed, latencies };
}

/**
 * A pod of PodGroup `bench` with GPUs and `schedulerName` default-scheduler: the shipped
 * `pod-group-scheduler` policy denies it. kube-apiserver records a policy's check duration only
 * for denials (and evaluation errors), so the timed requests are ones it denies.
 */
function groupPod(namespace: string, i: number): Pod {
  return {
    apiVersion: "v1", kind: "Pod",
    metadata: { name: `bench-${i}`, namespace, labels: { [POD_GROUP_LABEL]: "bench" } },
    spec: {
      schedulerName: "default-scheduler",
      containers: [{ name: "main", image: "registry.k8s.io/pause:3.10", resources: { limits: { "nvidia.com/gpu": "2" }, requests: { "nvidia.com/gpu": "2" } } }],
    },
  };
}

/** kube-apiserver's /metrics text (admin credentials). */
async function serverMetrics(kubeConfig: KubeConfig): Promise<string> {
  const opts: https.RequestOptions = { headers: {} };
  await kubeConfig.applyToHTTPSOptions(opts);
  const url = new URL(`${kubeConfig.getCurrentCluster()!.server}/metrics`);
  return new Promise((resolve, reject) => {
    https.get({ ...opts, host: url.hostname, port: url.port, path: url.pathname }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => { text += c.toString(); });
      res.on("end", () => resolve(text));
      res.on("error", reject);
    }).on("error", reject);
  });
}

/** Sum and count of the policy-check histogram for `policy`, over all its label sets. */
function policyCheck(metrics: string, policy: string): { sum: number; count: number } {
  let sum = 0;
  let count = 0;
  for (const line of metrics.split("\n")) {
    if (!line.startsWith("apiserver_validating_admission_policy_check_duration_seconds_") || !line.includes(`policy="${policy}"`)) continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (line.startsWith("apiserver_validating_admission_policy_check_duration_seconds_sum")) sum += value;
    else if (line.startsWith("apiserver_validating_admission_policy_check_duration_seconds_count")) count += value;
  }
  return { sum, count };
}

/** Sequential dry-run creates of `groupPod`: latencies in ms. @throws Error when an answer is not the one `denied` expects. */
async function dryRuns(client: KubeClient, namespace: string, n: number, denied: boolean): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const refused = await client.create(Pods, groupPod(namespace, i), { dryRun: true }).then(() => false, (err: unknown) => {
      if (err instanceof ApiError && err.statusCode === 403) return true;
      throw err;
    });
    out.push(performance.now() - t);
    if (refused !== denied) throw new Error(`dry-run create ${i}: ${refused ? "denied" : "admitted"}, expected ${denied ? "denied" : "admitted"}`);
  }
  return out;
}

/**
 * Runs the admission suite on a control plane in `dir` (wiped first, stopped afterwards).
 * @throws Error when the control plane does not come up or a measurement fails outright.
 */
export async function runAdmissionBench(opts: { dir: string; rate: number; seconds: number; dryRuns: number; say: (line: string) => void }): Promise<AdmissionBenchResult> {
  const { say } = opts;
  await rm(opts.dir, { recursive: true, force: true });
  const plane = await startControlPlane({ dir: opts.dir, onProgress: (line) => say(`  ${line}`) });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(plane.kubeconfigPath);
  const client = createClient({ kubeConfig });
  let server: WebhookServer | undefined;
  try {
    const namespace = "bench-admission";
    await ensureNamespace(client, namespace);
    const result: AdmissionBenchResult = { webhook: [], policies: [], dryRunMs: { without: latencySummary([]), with: latencySummary([]), requests: opts.dryRuns } };

    // (1) The webhook server, on loopback.
    const certificates = new CertificateManager({ client, secret: { namespace, name: "webhook-certs" }, propagationDelayMs: 0 });
    await certificates.ensure();
    server = new WebhookServer({ certificates, port: 0, client, configurationName: "kubeloop-bench-webhooks" });
    webhookFor(server, ConfigMaps).named("deny.configmaps.kubeloop.dev").path("/validate")
      .validate((req) => (req.object?.data?.forbidden !== undefined ? deny(`key "forbidden" is not allowed in ConfigMap ${req.name}`) : allow()));
    webhookFor(server, ConfigMaps).named("label.configmaps.kubeloop.dev").path("/mutate").mutate((req) => {
      const cm = structuredClone(req.object!);
      cm.metadata = { ...cm.metadata, labels: { ...cm.metadata?.labels, "webhook.kubeloop.dev/seen": "true" } };
      return mutate(cm);
    });
    const port = await server.listen();
    const agent = new https.Agent({ keepAlive: true, maxSockets: 32, ca: certificates.caBundle() });
    for (const path of ["/validate", "/mutate"]) {
      // Warm-up: connections and the JIT.
      await openLoop((i) => post(agent, port, path, reviewFor({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `warm-${i}`, namespace }, data: { a: "b" } })), opts.rate, 1);
      say(`  webhook ${path}: ${opts.rate} requests/s for ${opts.seconds} s, open loop, on https://127.0.0.1:${port}`);
      const r = await openLoop((i) => post(agent, port, path, reviewFor({
        apiVersion: "v1", kind: "ConfigMap", metadata: { name: `cm-${i}`, namespace }, data: i % 10 === 0 ? { forbidden: "x" } : { a: "b" },
      })), opts.rate, opts.seconds);
      const l = latencySummary(r.latencies);
      result.webhook.push({ path, ratePerSecond: opts.rate, seconds: opts.seconds, sent: r.sent, failed: r.failed, latencyMs: l });
      say(`    p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms, max ${l.max.toFixed(2)} ms, ${r.failed} of ${r.sent} failed`);
    }
    agent.destroy();

    // (2) The shipped policies: in-process against kube-apiserver.
    const sets: ValidatingPolicySet[] = [podGroupSchedulerPolicy(), gpuResourcesPodsPolicy()];
    say(`  dry-run pod creates without policies (${opts.dryRuns}, sequential)`);
    await dryRuns(client, namespace, 20, false);
    result.dryRunMs.without = latencySummary(await dryRuns(client, namespace, opts.dryRuns, false));
    await installAdmissionPolicies(client, sets, { fieldManager: "kubeloop-bench" });
    // The API server enforces a new policy once its own informer has it.
    await waitFor(async () => client.create(Pods, groupPod(namespace, 0), { dryRun: true }).then(() => false, (err: unknown) => err instanceof ApiError && err.statusCode === 403),
      { timeoutMs: 10_000, intervalMs: 100, description: "kube-apiserver to enforce pod-group-scheduler" });
    const before = await serverMetrics(kubeConfig);
    say(`  dry-run pod creates with ${sets.map((s) => s.policy.metadata.name).join(", ")} bound (${opts.dryRuns}, sequential)`);
    result.dryRunMs.with = latencySummary(await dryRuns(client, namespace, opts.dryRuns, true));
    const after = await serverMetrics(kubeConfig);
    const pod = groupPod(namespace, 0);
    const request: AdmissionRequestInput = {
      operation: "CREATE", resource: { group: "", version: "v1", resource: "pods" }, kind: { group: "", version: "v1", kind: "Pod" },
      namespace, name: pod.metadata!.name!, object: pod, dryRun: true,
    };
    for (const set of sets) {
      const name = set.policy.metadata.name;
      const verdict = evaluateValidatingPolicy(set.policy, set.bindings[0]!, request);
      if (verdict.kind !== "evaluated") throw new Error(`policy ${name}: the in-process evaluation did not run (${JSON.stringify(verdict)})`);
      const rounds: number[] = [];
      for (let round = 0; round < 5; round++) {
        const n = 2000;
        const t = performance.now();
        for (let i = 0; i < n; i++) evaluateValidatingPolicy(set.policy, set.bindings[0]!, request);
        rounds.push(((performance.now() - t) * 1000) / n);
      }
      const b = policyCheck(before, name);
      const a = policyCheck(after, name);
      const count = a.count - b.count;
      const serverMicros = count > 0 ? ((a.sum - b.sum) / count) * 1e6 : undefined;
      const inProcessMicros = rounds.sort((x, y) => x - y)[2]!;
      result.policies.push({ policy: name, inProcessMicros, serverMicros });
      say(`    ${name}: in-process ${inProcessMicros.toFixed(1)} µs per evaluation; kube-apiserver's check ${serverMicros?.toFixed(1) ?? "?"} µs (mean of ${count})`);
    }
    say(`    dry-run create p50/p99: without ${result.dryRunMs.without.p50.toFixed(2)}/${result.dryRunMs.without.p99.toFixed(2)} ms, with ${result.dryRunMs.with.p50.toFixed(2)}/${result.dryRunMs.with.p99.toFixed(2)} ms`);
    return result;
  } finally {
    await server?.close().catch(() => {});
    client.close();
    await plane.stop({ removeData: true });
    await rm(opts.dir, { recursive: true, force: true });
  }
}

/** The suite's table. */
export function formatAdmissionReport(r: AdmissionBenchResult): string {
  const lines = ["", "Admission (webhook on loopback; shipped policies in-process vs kube-apiserver)", ""];
  lines.push("| webhook | rate | sent | failed | p50 ms | p99 ms | max ms | p99 < 10 ms |", "| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const w of r.webhook) {
    lines.push(`| ${w.path} | ${w.ratePerSecond}/s x ${w.seconds} s | ${w.sent} | ${w.failed} | ${w.latencyMs.p50.toFixed(2)} | ${w.latencyMs.p99.toFixed(2)} | ${w.latencyMs.max.toFixed(2)} | ${w.latencyMs.p99 < 10 && w.failed === 0 ? "met" : "MISSED"} |`);
  }
  lines.push("", "| policy | in-process µs/eval | kube-apiserver check µs | ratio |", "| --- | --- | --- | --- |");
  for (const p of r.policies) {
    lines.push(`| ${p.policy} | ${p.inProcessMicros.toFixed(1)} | ${p.serverMicros?.toFixed(1) ?? "- (admitted: not recorded)"} | ${p.serverMicros ? (p.inProcessMicros / p.serverMicros).toFixed(2) : "-"} |`);
  }
  lines.push("", `Dry-run creates of one pod (${r.dryRunMs.requests}, sequential), p50/p99 ms: admitted without the policies ${r.dryRunMs.without.p50.toFixed(2)}/${r.dryRunMs.without.p99.toFixed(2)}, ` +
    `denied with them ${r.dryRunMs.with.p50.toFixed(2)}/${r.dryRunMs.with.p99.toFixed(2)}`);
  return lines.join("\n") + "\n";
}
