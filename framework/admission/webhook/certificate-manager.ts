/**
 * Keeps a webhook server's certificates: a CA and a serving certificate stored in one Secret
 * (`ca.crt`, `ca.key`, `tls.crt`, `tls.key`, and `ca-bundle.crt`, the CAs the API server must
 * trust), renewed before they expire, with the CA bundle injected into the webhook
 * configurations.
 *
 * Mirrors open-policy-agent/cert-controller pkg/rotator/rotator.go (`refreshCertIfNeeded`: a CA
 * near expiry means a new CA and a new leaf; a leaf near expiry means a new leaf; the CA injected
 * into `webhooks[*].clientConfig.caBundle`), with one difference on purpose: cert-controller swaps
 * the caBundle at once, so until the pod serves the new leaf the API server trusts only a CA the
 * server does not use (cert-controller#50, cluster-api#10522). Here a CA rotation has three steps:
 * 1. the caBundle becomes old CA + new CA, and the manager waits `propagationDelayMs`;
 * 2. the serving certificate becomes one signed by the new CA (the server reloads it with
 *    `setSecureContext`, connections stay open);
 * 3. after `propagationDelayMs` more, the old CA leaves the bundle.
 * At every moment the certificate served chains to a CA in the bundle. A restart between steps
 * resumes from the Secret. Every write of the Secret is conditional on the version this replica
 * last read or wrote: when replicas renew at once, one write wins and the others reload it (and
 * finish the winner's rotation if it is cut short), so no replica serves a certificate of a CA
 * that another replica's write dropped from the bundle.
 */
import type { Client } from "../../client/index.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../../client/index.ts";
import { PermissionSet, permission, type PolicyRule } from "../../rbac/index.ts";
import { MutatingWebhookConfigurations, Secrets, ValidatingWebhookConfigurations, type Secret } from "../types.ts";
import {
  certificateInfo, createCertificateAuthority, createServingCertificate, isSignedBy, splitPemBundle, type KeyPair, type ServingNames,
} from "./certificates.ts";

const day = 24 * 60 * 60 * 1000;

/** How often one `ensure()` or `rotate()` starts over after losing a write to another replica. */
const maxSecretRaces = 3;

/** The Secret changed since this replica read it: a create that found one, or a stale update. */
function isSecretRace(err: unknown): boolean {
  return isAlreadyExists(err) || isConflict(err);
}

/** What the server serves: the leaf, its key, and the CA that signed it. */
export interface ServingCertificate extends KeyPair {
  caPem: string;
}

/** Something that hands a webhook server its certificate and tells it when it changes. */
export interface CertificateSource {
  /** The certificate to serve now. @throws Error before the first one exists. */
  current(): ServingCertificate;
  /** Calls `listener` after each change; returns the unsubscribe function. */
  onChange(listener: (cert: ServingCertificate) => void): () => void;
  /** The CA bundle (PEM) the API server must trust now. */
  caBundle(): string;
}

/** Options of `CertificateManager`, with their defaults. */
export interface CertificateManagerOptions {
  client: Client;
  /** Where the certificates live. */
  secret: { namespace: string; name: string };
  /** SANs of the serving certificate (default IP 127.0.0.1). */
  names?: ServingNames;
  /** CA lifetime (default 10 years, as cert-controller). */
  caValidityMs?: number;
  /** Serving certificate lifetime (default 1 year). */
  certValidityMs?: number;
  /** Renew a certificate this long before it expires (default a quarter of its lifetime; cert-controller: 90 days of 1 year). */
  caRenewBeforeMs?: number;
  certRenewBeforeMs?: number;
  /** How often to check (default 1 hour; cert-controller: 12 hours). */
  checkIntervalMs?: number;
  /** Time for the API server to pick up a changed caBundle (default 3 s; its webhook informer sees the change within about a second). */
  propagationDelayMs?: number;
  /** Webhook configurations whose every webhook gets the caBundle. */
  validatingConfigurations?: string[];
  mutatingConfigurations?: string[];
  /** Common name prefix of the CA (default `kubeloop-webhook-ca`). */
  caCommonName?: string;
}

interface State {
  ca: KeyPair;
  leaf: KeyPair;
  bundle: string[];
}

function b64(s: string): string {
  return Buffer.from(s).toString("base64");
}

function fromSecret(secret: Secret): State | undefined {
  const d = secret.data ?? {};
  const get = (k: string): string | undefined => (d[k] ? Buffer.from(d[k]!, "base64").toString() : undefined);
  const caCert = get("ca.crt");
  const caKey = get("ca.key");
  const cert = get("tls.crt");
  const key = get("tls.key");
  if (!caCert || !caKey || !cert || !key) return undefined;
  const bundle = splitPemBundle(get("ca-bundle.crt") ?? caCert);
  return { ca: { certPem: caCert, keyPem: caKey }, leaf: { certPem: cert, keyPem: key }, bundle: bundle.length ? bundle : [caCert] };
}

/** Keeps the Secret, the served certificate and the configurations' caBundle in step. */
export class CertificateManager implements CertificateSource {
  /**
   * Runs on every replica: each serves, so each needs the certificate. A replica picks up what
   * another renewed at its next `ensure()` (`addWebhookServer`'s ready check calls it every 10 s).
   */
  readonly needLeaderElection = false;
  readonly #opts: Required<Omit<CertificateManagerOptions, "client" | "secret" | "names">> & Pick<CertificateManagerOptions, "client" | "secret"> & { names: ServingNames };
  /** What this replica serves and injects: the Secret's content as last read or written. */
  #state?: State;
  /** The Secret as last read or written: the base of the next conditional write. */
  #stored?: Secret;
  readonly #listeners = new Set<(cert: ServingCertificate) => void>();
  #busy: Promise<void> = Promise.resolve();

  constructor(opts: CertificateManagerOptions) {
    const caValidityMs = opts.caValidityMs ?? 3650 * day;
    const certValidityMs = opts.certValidityMs ?? 365 * day;
    this.#opts = {
      client: opts.client,
      secret: opts.secret,
      names: opts.names ?? { ips: ["127.0.0.1"] },
      caValidityMs,
      certValidityMs,
      caRenewBeforeMs: opts.caRenewBeforeMs ?? caValidityMs / 4,
      certRenewBeforeMs: opts.certRenewBeforeMs ?? certValidityMs / 4,
      checkIntervalMs: opts.checkIntervalMs ?? 60 * 60 * 1000,
      propagationDelayMs: opts.propagationDelayMs ?? 3000,
      validatingConfigurations: opts.validatingConfigurations ?? [],
      mutatingConfigurations: opts.mutatingConfigurations ?? [],
      caCommonName: opts.caCommonName ?? "kubeloop-webhook-ca",
    };
  }

  current(): ServingCertificate {
    if (!this.#state) throw new Error(`no serving certificate yet: call CertificateManager.ensure() first (Secret ${this.#opts.secret.namespace}/${this.#opts.secret.name})`);
    return { ...this.#state.leaf, caPem: this.#issuerOf(this.#state) };
  }

  caBundle(): string {
    if (!this.#state) throw new Error("no CA bundle yet: call CertificateManager.ensure() first");
    return this.#state.bundle.join("");
  }

  onChange(listener: (cert: ServingCertificate) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * The RBAC rules a `CertificateManager` needs: in the Secret's namespace, get, create and update
   * on Secrets; cluster-wide, get and update on the webhook configuration kinds it injects the
   * caBundle into (`WebhookServer` readiness reads them too). For a chart's Role and ClusterRole.
   */
  static policyRules(kinds: ReadonlyArray<"validating" | "mutating">): { namespaced: PolicyRule[]; cluster: PolicyRule[] } {
    const namespaced = new PermissionSet();
    namespaced.add(permission(Secrets, ["get", "create", "update"]));
    const cluster = new PermissionSet();
    if (kinds.includes("validating")) cluster.add(permission(ValidatingWebhookConfigurations, ["get", "update"]));
    if (kinds.includes("mutating")) cluster.add(permission(MutatingWebhookConfigurations, ["get", "update"]));
    return { namespaced: namespaced.rules(), cluster: cluster.rules() };
  }

  /** Adds webhook configurations that get the caBundle (e.g. the ones a WebhookServer generated). */
  injectInto(configs: { validating?: string[]; mutating?: string[] }): void {
    for (const n of configs.validating ?? []) if (!this.#opts.validatingConfigurations.includes(n)) this.#opts.validatingConfigurations.push(n);
    for (const n of configs.mutating ?? []) if (!this.#opts.mutatingConfigurations.includes(n)) this.#opts.mutatingConfigurations.push(n);
  }

  #issuerOf(state: State): string {
    return state.bundle.find((ca) => isSignedBy(state.leaf.certPem, ca)) ?? state.ca.certPem;
  }

  /**
   * Loads the Secret (creating CA and certificate when absent), finishes a CA rotation that a
   * restart interrupted, renews what is near expiry, and injects the caBundle. Safe to call
   * again; calls run one at a time.
   */
  ensure(now = Date.now()): Promise<void> {
    const run = this.#busy.then(() => this.#ensure(now));
    this.#busy = run.catch(() => {});
    return run;
  }

  /** Rotates now: the serving certificate, or the CA too (`{ ca: true }`), as `ensure` does near expiry. */
  rotate(opts: { ca?: boolean } = {}): Promise<void> {
    const run = this.#busy.then(async () => {
      for (let attempt = 0; ; attempt++) {
        if (!this.#state || attempt > 0) await this.#ensure(Date.now());
        try {
          if (opts.ca) await this.#rotateCa(Date.now());
          else await this.#issueLeaf(Date.now());
          return;
        } catch (err) {
          // Another replica wrote the Secret meanwhile: load its state, then rotate from there.
          if (!isSecretRace(err) || attempt >= maxSecretRaces) throw err;
        }
      }
    });
    this.#busy = run.catch(() => {});
    return run;
  }

  /**
   * Checks every `checkIntervalMs` until `signal` aborts (a manager Runnable). Errors, the first
   * check's included, are retried on the next tick; call `ensure()` first to wait for a certificate.
   */
  async start(signal: AbortSignal, _hardStop?: AbortSignal): Promise<void> {
    await this.ensure().catch(() => {});
    while (!signal.aborted) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.#opts.checkIntervalMs);
        signal.addEventListener("abort", () => {
          clearTimeout(t);
          resolve();
        }, { once: true });
      });
      if (!signal.aborted) await this.ensure().catch(() => {});
    }
  }

  /** `#sync`, again from a fresh read when another replica's write made one of its writes fail. */
  async #ensure(now: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#sync(now);
      } catch (err) {
        if (!isSecretRace(err) || attempt >= maxSecretRaces) throw err;
      }
    }
  }

  async #sync(now: number): Promise<void> {
    const { client, secret } = this.#opts;
    try {
      this.#stored = await client.get(Secrets, secret);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.#stored = undefined;
    }
    const loaded = this.#stored ? fromSecret(this.#stored) : undefined;
    if (!loaded) {
      // None yet, or an empty one a chart made.
      const ca = await createCertificateAuthority(this.#opts.caCommonName, this.#opts.caValidityMs, now);
      const leaf = await createServingCertificate(ca, this.#opts.names, this.#opts.certValidityMs, now);
      await this.#save({ ca, leaf, bundle: [ca.certPem] });
      await this.#inject();
      this.#emit();
      return;
    }
    const changed = !this.#state || this.#state.leaf.certPem !== loaded.leaf.certPem;
    this.#state = loaded;
    if (changed) this.#emit();
    // A CA rotation cut short between its steps (a restart), or under way on another replica.
    if (!isSignedBy(loaded.leaf.certPem, loaded.ca.certPem)) {
      await this.#inject();
      await this.#delay();
      await this.#inject();
      await this.#issueLeaf(now);
    }
    if (this.#state.bundle.length > 1) {
      await this.#inject();
      await this.#delay();
      await this.#save({ ...this.#state, bundle: [this.#state.ca.certPem] });
    }
    await this.#inject();
    const ca = certificateInfo(this.#state.ca.certPem);
    const leaf = certificateInfo(this.#state.leaf.certPem);
    if (ca.notAfterMs - now <= this.#opts.caRenewBeforeMs) await this.#rotateCa(now);
    else if (leaf.notAfterMs - now <= this.#opts.certRenewBeforeMs) await this.#issueLeaf(now);
  }

  /** Serves a new leaf of the current CA. */
  async #issueLeaf(now: number): Promise<void> {
    const state = this.#state!;
    await this.#save({ ...state, leaf: await createServingCertificate(state.ca, this.#opts.names, this.#opts.certValidityMs, now) });
    this.#emit();
  }

  async #rotateCa(now: number): Promise<void> {
    const old = this.#state!;
    const newCa = await createCertificateAuthority(this.#opts.caCommonName, this.#opts.caValidityMs, now);
    // 1. Trust both, serve the old leaf.
    await this.#save({ ca: newCa, leaf: old.leaf, bundle: [old.ca.certPem, newCa.certPem] });
    await this.#inject();
    await this.#delay();
    // 2. Serve a leaf of the new CA (the bundle injected again first: a replica that read the
    //    Secret before step 1 may have injected the old bundle since).
    await this.#inject();
    await this.#issueLeaf(now);
    await this.#delay();
    // 3. Trust only the new CA.
    await this.#save({ ...this.#state!, bundle: [newCa.certPem] });
    await this.#inject();
  }

  #delay(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.#opts.propagationDelayMs));
  }

  #emit(): void {
    const cert = this.current();
    for (const l of this.#listeners) l(cert);
  }

  /**
   * Writes `next` over the Secret as last read or written (none: creates it) and makes it the
   * state. @throws ApiError: Conflict or AlreadyExists when another replica wrote since (`isSecretRace`).
   */
  async #save(next: State): Promise<void> {
    const { client, secret } = this.#opts;
    const data = { "ca.crt": b64(next.ca.certPem), "ca.key": b64(next.ca.keyPem), "tls.crt": b64(next.leaf.certPem), "tls.key": b64(next.leaf.keyPem), "ca-bundle.crt": b64(next.bundle.join("")) };
    this.#stored = this.#stored
      ? await client.update(Secrets, { ...this.#stored, data })
      : await client.create(Secrets, { apiVersion: "v1", kind: "Secret", metadata: { name: secret.name, namespace: secret.namespace }, type: "kubernetes.io/tls", data });
    this.#state = next;
  }

  async #inject(): Promise<void> {
    const { client } = this.#opts;
    const bundle = b64(this.caBundle());
    const kinds = [
      [ValidatingWebhookConfigurations, this.#opts.validatingConfigurations],
      [MutatingWebhookConfigurations, this.#opts.mutatingConfigurations],
    ] as const;
    for (const [type, names] of kinds) {
      for (const name of names) {
        for (let attempt = 0; ; attempt++) {
          try {
            const cfg = await client.get(type as typeof ValidatingWebhookConfigurations, { name });
            if (cfg.webhooks.every((w) => w.clientConfig.caBundle === bundle)) break;
            for (const w of cfg.webhooks) w.clientConfig.caBundle = bundle;
            await client.update(type as typeof ValidatingWebhookConfigurations, cfg);
            break;
          } catch (err) {
            if (isNotFound(err)) break; // not created yet: it will be created with the current bundle
            if (!isConflict(err) || attempt >= 5) throw err;
          }
        }
      }
    }
  }
}
