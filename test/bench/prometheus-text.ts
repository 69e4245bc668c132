/**
 * Prometheus text exposition as the benchmarks read it: one `/metrics` GET over HTTPS, and
 * sums of samples by metric name and labels. Used for kube-controller-manager's and
 * kube-apiserver's `/metrics` and for our operator process's client and manager metrics.
 */
import { request, type RequestOptions } from "node:https";

/**
 * The text of `url` (a `/metrics` endpoint) with `options` (TLS, credentials); undefined when
 * it does not answer 200 within 5 s.
 */
export function fetchMetricsText(url: URL, options: RequestOptions = {}): Promise<string | undefined> {
  return new Promise<string | undefined>((resolve) => {
    const req = request(url, { timeout: 5_000, ...options }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return resolve(undefined);
      }
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve(body));
      res.on("error", () => resolve(undefined));
    });
    req.on("error", () => resolve(undefined));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/** Sum of the samples of `metric` whose labels include every one of `labels` (all samples when empty). */
export function sumSamples(text: string, metric: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`{${k}="${v}"`) || line.includes(`,${k}="${v}"`))) continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

/** `rest_client_requests_total` by method. */
export function requestsByMethod(text: string): Map<string, number> {
  const byMethod = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith("rest_client_requests_total{")) continue;
    const method = /method="([A-Z]+)"/.exec(line)?.[1] ?? "?";
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (Number.isFinite(value)) byMethod.set(method, (byMethod.get(method) ?? 0) + value);
  }
  return byMethod;
}

/** Non-GET API requests (`rest_client_requests_total` of every method but GET). */
export function nonGetRequests(text: string): number {
  let n = 0;
  for (const [method, count] of requestsByMethod(text)) if (method !== "GET") n += count;
  return n;
}
