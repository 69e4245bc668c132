/**
 * A webhook server run by a manager, with its certificates: what controller-runtime's manager
 * does with `Options.WebhookServer` plus open-policy-agent/cert-controller's rotator, in one call.
 *
 * On every replica (not only the leader), once the informer caches have synced, so a handler that
 * reads the cache never answers from an empty one:
 * 1. the `CertificateManager` loads or creates the Secret (retried with backoff while the API
 *    server refuses or another replica is creating it);
 * 2. it injects the caBundle into the configuration named `configurationName` (made by a Helm
 *    chart or by `installConfigurations`), then renews before expiry;
 * 3. the server listens; the manager's `/readyz` includes `webhook-certificate`, ready when the
 *    served certificate's CA is in that configuration's caBundle. Every `resyncMs` the check also
 *    re-reads the Secret (a certificate another replica renewed) and injects the CA again (a
 *    configuration created or replaced since).
 */
import { sleep } from "../../flowcontrol/index.ts";
import type { Manager } from "../../manager/index.ts";
import { isIP } from "node:net";
import { CertificateManager } from "./certificate-manager.ts";
import type { ServingNames } from "./certificates.ts";
import { WebhookServer } from "./server.ts";

/** Options of `addWebhookServer`. */
export interface ManagedWebhookServerOptions {
  /** Listen address (default 0.0.0.0 with `service`, else 127.0.0.1). */
  host?: string;
  /** Port (controller-runtime's default is 9443; 0 picks a free one). */
  port: number;
  /** The Secret that holds the CA and the serving certificate. */
  secret: { namespace: string; name: string };
  /**
   * The Service in front of the pods (in-cluster): `clientConfig.service` in the generated
   * configurations, and the serving certificate names `<name>.<namespace>.svc` and
   * `<name>.<namespace>.svc.cluster.local`. Without it: `clientConfig.url` on `advertiseHost`,
   * with that host as the certificate's SAN (the local control plane calls `https://127.0.0.1:<port>`).
   */
  service?: { namespace: string; name: string; port?: number };
  /** Host in the generated URL without `service` (default 127.0.0.1). */
  advertiseHost?: string;
  /** Name of the Validating/MutatingWebhookConfiguration the caBundle goes into (default `kubeloop-webhooks`). */
  configurationName?: string;
  /** First and largest wait between attempts to load the Secret, in milliseconds (default 1000 and 60000). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Least time between two re-reads of the Secret (and caBundle injections) by the ready check, in milliseconds (default 10000). */
  resyncMs?: number;
  /**
   * How long a CA rotation waits between its steps, in milliseconds (default 30000: above
   * `resyncMs` plus a probe period, so every replica serves the new certificate before the old CA
   * leaves the caBundle).
   */
  propagationDelayMs?: number;
}

/** What `addWebhookServer` added to the manager. */
export interface ManagedWebhookServer {
  server: WebhookServer;
  certificates: CertificateManager;
}

/**
 * Adds a webhook server and its certificate manager to `mgr` as one Runnable that runs on every
 * replica, and `webhook-certificate` to its ready checks. Register webhooks on `server` (with
 * `webhookFor`) before the manager starts.
 * @throws Error when `mgr` already has a `webhook-certificate` ready check.
 */
export function addWebhookServer(mgr: Manager, opts: ManagedWebhookServerOptions): ManagedWebhookServer {
  const service = opts.service;
  const advertiseHost = opts.advertiseHost ?? "127.0.0.1";
  const names: ServingNames = service
    ? { dnsNames: [`${service.name}.${service.namespace}.svc`, `${service.name}.${service.namespace}.svc.cluster.local`] }
    : isIP(advertiseHost) ? { ips: [advertiseHost] } : { dnsNames: [advertiseHost] };
  const certificates = new CertificateManager({ client: mgr.client, secret: opts.secret, names, propagationDelayMs: opts.propagationDelayMs ?? 30_000 });
  const server = new WebhookServer({
    certificates, client: mgr.client, port: opts.port, metrics: mgr.metrics, host: opts.host ?? (service ? "0.0.0.0" : "127.0.0.1"),
    ...(service ? { service } : { advertiseHost }),
    ...(opts.configurationName ? { configurationName: opts.configurationName } : {}),
  });
  const retryBaseMs = opts.retryBaseMs ?? 1000;
  const retryMaxMs = opts.retryMaxMs ?? 60_000;
  mgr.add({
    needLeaderElection: false,
    async start(signal: AbortSignal): Promise<void> {
      certificates.injectInto(server.configurationNames());
      for (let waitMs = retryBaseMs; !signal.aborted; waitMs = Math.min(retryMaxMs, waitMs * 2)) {
        try {
          await certificates.ensure();
          break;
        } catch (err) {
          mgr.log.error({ err: (err as Error).message, secret: `${opts.secret.namespace}/${opts.secret.name}`, retryInMs: waitMs }, "webhook certificates not ready");
          await sleep(waitMs, signal);
        }
      }
      if (signal.aborted) return;
      await Promise.all([certificates.start(signal), server.start(signal)]);
    },
  });
  // The ready check (a kubelet probe every few seconds) also re-reads the Secret, at most every
  // `resyncMs`: a certificate another replica renewed or rotated is served here well within the
  // propagation delay, and a configuration created or replaced since (one created after the pods
  // started, a `helm upgrade --force`) gets the CA again, as cert-controller re-injects when it
  // sees the configuration change.
  const resyncMs = opts.resyncMs ?? 10_000;
  let lastResyncMs = performance.now();
  // The resync is started, not awaited: a renewal it starts (a CA rotation waits
  // `propagationDelayMs` twice) must not hold the probe past its timeout; the next probe sees it.
  mgr.addReadyCheck("webhook-certificate", async () => {
    if (performance.now() - lastResyncMs >= resyncMs) {
      lastResyncMs = performance.now();
      void certificates.ensure().catch((err: unknown) => mgr.log.error({ err: (err as Error).message }, "webhook certificates: resync failed"));
    }
    const reason = await server.readiness();
    if (reason !== undefined) throw new Error(reason);
  });
  return { server, certificates };
}

