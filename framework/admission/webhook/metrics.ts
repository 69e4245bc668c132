/**
 * The webhook server's Prometheus metrics, with controller-runtime's names and labels
 * (pkg/webhook/internal/metrics, v0.24), so its dashboards and alerts work unchanged:
 * - `controller_runtime_webhook_requests_total{webhook, code}`: requests answered, by path and
 *   HTTP status code;
 * - `controller_runtime_webhook_latency_seconds{webhook, code}`: seconds from the request's
 *   arrival to the answer sent (Prometheus' default buckets, 5 ms .. 10 s);
 * - `controller_runtime_webhook_requests_in_flight{webhook}`.
 * `webhook` is the registration's URL path, e.g. `/mutate-core-v1-pod`.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Records one server's requests. */
export interface WebhookMetrics {
  /** A request to `path` arrived; call the returned function with the HTTP status code when it is answered. */
  start(path: string): (code: number) => void;
}

export const noWebhookMetrics: WebhookMetrics = { start: () => () => {} };

interface Collectors {
  total: Counter<"webhook" | "code">;
  latency: Histogram<"webhook" | "code">;
  inFlight: Gauge<"webhook">;
}

const collectorsByRegistry = new WeakMap<Registry, Collectors>();

function collectorsFor(registry: Registry): Collectors {
  let c = collectorsByRegistry.get(registry);
  if (c) return c;
  const registers = [registry];
  c = {
    total: new Counter({ name: "controller_runtime_webhook_requests_total", help: "Total number of admission requests by HTTP status code.", labelNames: ["webhook", "code"], registers }),
    latency: new Histogram({ name: "controller_runtime_webhook_latency_seconds", help: "Histogram of the latency of processing admission requests", labelNames: ["webhook", "code"], registers }),
    inFlight: new Gauge({ name: "controller_runtime_webhook_requests_in_flight", help: "Current number of admission requests being served.", labelNames: ["webhook"], registers }),
  };
  collectorsByRegistry.set(registry, c);
  return c;
}

/** The metrics of a server registered in `registry` (servers sharing a registry share its collectors). */
export function webhookMetrics(registry: Registry): WebhookMetrics {
  const c = collectorsFor(registry);
  return {
    start(path) {
      const startedMs = performance.now();
      c.inFlight.inc({ webhook: path });
      let done = false;
      return (code) => {
        if (done) return;
        done = true;
        c.inFlight.dec({ webhook: path });
        const labels = { webhook: path, code: String(code) };
        c.total.inc(labels);
        c.latency.observe(labels, (performance.now() - startedMs) / 1000);
      };
    },
  };
}
