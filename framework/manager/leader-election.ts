import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { Gauge, type Registry } from "prom-client";
import { isNotFound, type Client } from "../client/index.ts";
import type { Logger } from "../log/index.ts";
import { sleep } from "../flowcontrol/index.ts";
import { Leases, microTime, type Lease } from "../meta/index.ts";

/** Leader election on a coordination.k8s.io/v1 Lease (controller-runtime `LeaderElection*` options). */
export interface LeaderElectionOptions {
  /** Name of the Lease. */
  id: string;
  /** Namespace of the Lease. */
  namespace: string;
  /** How long a lease is valid without renewal; standbys wait this long after the last change they saw. Default 15. */
  leaseDurationSeconds?: number;
  /** How long the leader keeps retrying to renew before it gives up leadership. Default 10. */
  renewDeadlineSeconds?: number;
  /** Time between attempts to acquire or renew. Default 2. */
  retryPeriodSeconds?: number;
  /** This candidate's identity; default `<hostname>_<uuid>` as controller-runtime. */
  identity?: string;
  /** Give the lease up (empty holder) when stopping, so a standby takes over at once. Default true. */
  releaseOnCancel?: boolean;
}

/** How leading ended. */
export type LeadingOutcome = "stopped" | "lost";

const gaugesByRegistry = new WeakMap<Registry, Gauge<"name">>();

function statusGauge(registry: Registry): Gauge<"name"> {
  let g = gaugesByRegistry.get(registry);
  if (!g) {
    g = new Gauge({
      name: "leader_election_master_status",
      help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease.",
      labelNames: ["name"], registers: [registry],
    });
    gaugesByRegistry.set(registry, g);
  }
  return g;
}



/**
 * One candidate of a leader election, mirroring client-go `tools/leaderelection` with a Lease
 * lock: acquire when the lease is free or has not changed for `leaseDurationSeconds` (measured
 * on this process's clock from when it last saw the lease change, so clock skew does not
 * matter); renew every `retryPeriodSeconds`; give leadership up when no renewal succeeded for
 * `renewDeadlineSeconds`.
 */
export class LeaderElector {
  readonly identity: string;
  private readonly client: Client;
  private readonly opts: Required<Omit<LeaderElectionOptions, "identity">>;
  private readonly log: Logger;
  private readonly gauge: Gauge<"name"> | undefined;
  private observedRecord = "";
  private observedAtMs = 0;
  private lastLease: Lease | undefined;
  private leading = false;
  private lastRenewMs = 0;

  /** @throws Error when the durations are inconsistent (lease > renew deadline > 1.2 x retry period). */
  constructor(client: Client, opts: LeaderElectionOptions, deps: { log: Logger; metrics?: Registry }) {
    this.client = client;
    this.opts = {
      id: opts.id,
      namespace: opts.namespace,
      leaseDurationSeconds: opts.leaseDurationSeconds ?? 15,
      renewDeadlineSeconds: opts.renewDeadlineSeconds ?? 10,
      retryPeriodSeconds: opts.retryPeriodSeconds ?? 2,
      releaseOnCancel: opts.releaseOnCancel ?? true,
    };
    const o = this.opts;
    if (!o.id || !o.namespace) throw new Error("leader election: id (the Lease name) and namespace are required");
    if (!(o.leaseDurationSeconds > o.renewDeadlineSeconds)) {
      throw new Error(`leader election ${o.namespace}/${o.id}: leaseDurationSeconds (${o.leaseDurationSeconds}) must be greater than renewDeadlineSeconds (${o.renewDeadlineSeconds})`);
    }
    if (!(o.renewDeadlineSeconds > 1.2 * o.retryPeriodSeconds) || !(o.retryPeriodSeconds > 0)) {
      throw new Error(`leader election ${o.namespace}/${o.id}: renewDeadlineSeconds (${o.renewDeadlineSeconds}) must be greater than 1.2 x retryPeriodSeconds (${o.retryPeriodSeconds})`);
    }
    this.identity = opts.identity ?? `${hostname()}_${randomUUID()}`;
    this.log = deps.log.child({ component: "leader-election", lease: `${o.namespace}/${o.id}`, identity: this.identity });
    this.gauge = deps.metrics ? statusGauge(deps.metrics) : undefined;
    this.gauge?.set({ name: o.id }, 0);
  }

  /**
   * Health of the leader's renewals (client-go `HealthzAdaptor`): throws when this candidate
   * leads but has not renewed for longer than the lease duration plus `toleranceMs` (a stuck
   * renew loop); a standby is always healthy.
   */
  checkRenewal(toleranceMs = 20_000): void {
    if (!this.leading) return;
    const sinceMs = Date.now() - this.lastRenewMs;
    if (sinceMs > this.opts.leaseDurationSeconds * 1000 + toleranceMs) {
      throw new Error(`leader of ${this.opts.namespace}/${this.opts.id} has not renewed the lease for ${Math.round(sinceMs / 1000)}s`);
    }
  }

  /** True while this candidate holds the lease. */
  isLeader(): boolean {
    return this.leading;
  }

  /**
   * Campaigns until elected, calls `onStartedLeading`, then renews until `signal` aborts
   * ("stopped": the lease is released when `releaseOnCancel`) or renewal fails for the renew
   * deadline ("lost").
   */
  async run(signal: AbortSignal, onStartedLeading: () => void): Promise<LeadingOutcome> {
    const o = this.opts;
    this.log.info("attempting to acquire leader lease");
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew(AbortSignal.any([signal, AbortSignal.timeout(o.renewDeadlineSeconds * 1000)]))) break;
      await sleep(o.retryPeriodSeconds * 1000 * (1 + Math.random() * 1.2), signal);
    }
    if (signal.aborted) return "stopped";
    this.setLeading(true);
    this.log.info("successfully acquired lease");
    onStartedLeading();
    while (!signal.aborted) {
      await sleep(o.retryPeriodSeconds * 1000, signal);
      if (signal.aborted) break;
      const deadline = Date.now() + o.renewDeadlineSeconds * 1000;
      let renewed = false;
      while (!signal.aborted && Date.now() < deadline) {
        const remaining = Math.max(1, deadline - Date.now());
        if (await this.tryAcquireOrRenew(AbortSignal.any([signal, AbortSignal.timeout(remaining)]))) {
          renewed = true;
          break;
        }
        await sleep(Math.min(o.retryPeriodSeconds * 1000, Math.max(0, deadline - Date.now())), signal);
      }
      if (!renewed && !signal.aborted) {
        this.setLeading(false);
        this.log.error(`failed to renew the lease within ${o.renewDeadlineSeconds}s: leadership lost`);
        return "lost";
      }
    }
    if (o.releaseOnCancel) await this.release();
    this.setLeading(false);
    return "stopped";
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.gauge?.set({ name: this.opts.id }, leading ? 1 : 0);
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const o = this.opts;
    const now = Date.now();
    let lease: Lease;
    try {
      lease = await this.client.get(Leases, { namespace: o.namespace, name: o.id }, { signal });
    } catch (err) {
      if (!isNotFound(err)) {
        this.log.warn({ err }, "could not read the lease");
        return false;
      }
      const spec = {
        holderIdentity: this.identity, leaseDurationSeconds: o.leaseDurationSeconds,
        acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0,
      };
      try {
        this.lastLease = await this.client.create(Leases, {
          apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: o.id, namespace: o.namespace }, spec,
        }, { signal });
        this.observe(spec, now);
        return true;
      } catch (createErr) {
        this.log.debug({ err: createErr }, "could not create the lease");
        return false;
      }
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.acquireTime, spec.leaseTransitions, spec.leaseDurationSeconds]);
    if (record !== this.observedRecord) {
      if (spec.holderIdentity && spec.holderIdentity !== this.identity) this.log.info({ leader: spec.holderIdentity }, "new leader observed");
      this.observedRecord = record;
      this.observedAtMs = now;
    }
    const holder = spec.holderIdentity;
    const heldByOther = Boolean(holder) && holder !== this.identity;
    if (heldByOther && this.observedAtMs + (spec.leaseDurationSeconds ?? o.leaseDurationSeconds) * 1000 > now) return false;
    const ours = holder === this.identity;
    const next = {
      holderIdentity: this.identity,
      leaseDurationSeconds: o.leaseDurationSeconds,
      acquireTime: ours && spec.acquireTime ? spec.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: ours ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
    };
    try {
      this.lastLease = await this.client.update(Leases, { ...lease, spec: { ...spec, ...next } }, { signal });
      this.observe(next, now);
      return true;
    } catch (err) {
      this.log.debug({ err }, "could not update the lease");
      return false;
    }
  }

  private observe(spec: { holderIdentity: string; renewTime: string; acquireTime: string; leaseTransitions: number; leaseDurationSeconds: number }, now: number): void {
    this.observedRecord = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.acquireTime, spec.leaseTransitions, spec.leaseDurationSeconds]);
    this.observedAtMs = now;
    this.lastRenewMs = now;
  }

  /** Empties the holder so that a standby acquires at once (client-go `release`). Best effort. */
  private async release(): Promise<void> {
    const lease = this.lastLease;
    if (!lease || !this.leading) return;
    const now = microTime(Date.now());
    try {
      await this.client.update(Leases, {
        ...lease,
        spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, acquireTime: now, renewTime: now },
      }, { signal: AbortSignal.timeout(this.opts.renewDeadlineSeconds * 1000) });
      this.log.info("released the lease");
    } catch (err) {
      this.log.warn({ err }, "could not release the lease; a standby takes over once it expires");
    }
  }
}
