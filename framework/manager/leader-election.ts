import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { Counter, Gauge, type Registry } from "prom-client";
import { isNotFound, type Client } from "../client/index.ts";
import type { Logger } from "../log/index.ts";
import { realClock, sleepOn, timeoutSignal, type Clock } from "../flowcontrol/index.ts";
import { Leases, microTime, type Lease } from "../meta/index.ts";

/** Leader election on a coordination.k8s.io/v1 Lease (controller-runtime `LeaderElection*` options). */
export interface LeaderElectionOptions {
  /** Name of the Lease. */
  id: string;
  /** Namespace of the Lease. */
  namespace: string;
  /** How long a lease is valid without renewal; standbys wait this long after the last change they saw. Seconds, default 15. */
  leaseDurationSeconds?: number;
  /** How long the leader may go without a successful renewal before it gives leadership up. Seconds, default 10. */
  renewDeadlineSeconds?: number;
  /** Time between attempts to acquire or renew. Seconds, default 2. */
  retryPeriodSeconds?: number;
  /** This candidate's identity; default `<hostname>_<uuid>` as controller-runtime. */
  identity?: string;
  /** Give the lease up (empty holder) when stopping, so a standby takes over at once. Default true. */
  releaseOnCancel?: boolean;
}

/** What the elector needs besides its options. */
export interface LeaderElectorDeps {
  log: Logger;
  /** Registers `leader_election_master_status` and `leader_election_slowpath_total` here. */
  metrics?: Registry;
  /** Monotonic time and timers for every wait, deadline and expiry (default `realClock`). */
  clock?: Clock;
  /** Wall time in ms since the epoch, only for the MicroTime stamps written to the Lease (default `Date.now`). */
  wallClock?: () => number;
  /** Random number in [0, 1) for the acquire jitter (default `Math.random`). */
  random?: () => number;
}

/**
 * How leading ended: `stopped` (the signal aborted), or `lost` (the renew deadline passed
 * without a successful renewal, or another candidate holds the lease).
 */
export type LeadingOutcome = "stopped" | "lost";

/** client-go `JitterFactor`: a standby waits `retryPeriod x (1 + 1.2 x random)` between attempts. */
const JITTER_FACTOR = 1.2;

interface Collectors {
  status: Gauge<"name">;
  slowpath: Counter<"name">;
}

const collectorsByRegistry = new WeakMap<Registry, Collectors>();

function collectors(registry: Registry): Collectors {
  let c = collectorsByRegistry.get(registry);
  if (!c) {
    c = {
      status: new Gauge({
        name: "leader_election_master_status",
        help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease.",
        labelNames: ["name"], registers: [registry],
      }),
      slowpath: new Counter({
        name: "leader_election_slowpath_total",
        help: "Total number of slow path exercised in renewing leader leases. 'name' is the string used to identify the lease.",
        labelNames: ["name"], registers: [registry],
      }),
    };
    collectorsByRegistry.set(registry, c);
  }
  return c;
}

/** The fields of a Lease's spec that make up client-go's `LeaderElectionRecord`. */
interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: string;
  renewTime: string;
  leaseTransitions: number;
}

function recordOf(lease: Lease): LeaseRecord {
  const s = lease.spec ?? {};
  return {
    holderIdentity: s.holderIdentity ?? "",
    leaseDurationSeconds: s.leaseDurationSeconds ?? 0,
    acquireTime: s.acquireTime ?? "",
    renewTime: s.renewTime ?? "",
    leaseTransitions: s.leaseTransitions ?? 0,
  };
}

/** Outcome of one attempt: acquired or renewed; failed (retry); or held by another candidate. */
type Attempt = "ok" | "failed" | "held";

/**
 * One candidate of a leader election, mirroring client-go `tools/leaderelection` with a Lease
 * lock (leaderelection.go `acquire`, `renew`, `tryAcquireOrRenew`, `release`):
 * - a standby acquires when the Lease is free, or has not changed for its `leaseDurationSeconds`
 *   measured on this process's monotonic clock from when it last saw the Lease change
 *   (client-go's `observedTime`), so skew between the candidates' wall clocks does not matter;
 *   it retries every `retryPeriodSeconds x (1 + 1.2 x random)`;
 * - the leader renews every `retryPeriodSeconds`, first optimistically (an update from the last
 *   Lease it wrote, no read) and, when that fails, by reading the Lease first (the slow path);
 * - the leader gives leadership up when no renewal succeeded within `renewDeadlineSeconds` of the
 *   start of the last successful one, or at once when a read shows another holder.
 * The Lease's `renewTime`/`acquireTime` are wall-clock MicroTime (what the API stores); no
 * decision is taken on them. Use its own client (see `Manager`), so renewals never queue behind
 * the data plane.
 */
export class LeaderElector {
  readonly identity: string;
  readonly #client: Client;
  readonly #opts: Required<Omit<LeaderElectionOptions, "identity">>;
  readonly #log: Logger;
  readonly #collectors: Collectors | undefined;
  readonly #clock: Clock;
  readonly #wallClock: () => number;
  readonly #random: () => number;
  /** JSON of the last record seen or written, and when (monotonic ms) it was seen to change. */
  #observedRaw = "";
  #observedRecord: LeaseRecord | undefined;
  #observedAtMs = 0;
  /** The Lease as last written by us (its resourceVersion makes the optimistic renew conditional). */
  #lastLease: Lease | undefined;
  #leading = false;
  /** Monotonic start of the last successful acquire or renew. */
  #lastRenewMs = 0;
  #reportedLeader = "";
  #onLost: (() => void) | undefined;

  /** @throws Error when the durations are inconsistent (lease > renew deadline > 1.2 x retry period > 0). */
  constructor(client: Client, opts: LeaderElectionOptions, deps: LeaderElectorDeps) {
    this.#client = client;
    this.#opts = {
      id: opts.id,
      namespace: opts.namespace,
      leaseDurationSeconds: opts.leaseDurationSeconds ?? 15,
      renewDeadlineSeconds: opts.renewDeadlineSeconds ?? 10,
      retryPeriodSeconds: opts.retryPeriodSeconds ?? 2,
      releaseOnCancel: opts.releaseOnCancel ?? true,
    };
    const o = this.#opts;
    if (!o.id || !o.namespace) throw new Error("leader election: id (the Lease name) and namespace are required");
    if (!(o.leaseDurationSeconds > o.renewDeadlineSeconds)) {
      throw new Error(`leader election ${o.namespace}/${o.id}: leaseDurationSeconds (${o.leaseDurationSeconds}) must be greater than renewDeadlineSeconds (${o.renewDeadlineSeconds})`);
    }
    if (!(o.renewDeadlineSeconds > JITTER_FACTOR * o.retryPeriodSeconds) || !(o.retryPeriodSeconds > 0)) {
      throw new Error(`leader election ${o.namespace}/${o.id}: renewDeadlineSeconds (${o.renewDeadlineSeconds}) must be greater than 1.2 x retryPeriodSeconds (${o.retryPeriodSeconds})`);
    }
    this.identity = opts.identity ?? `${hostname()}_${randomUUID()}`;
    this.#log = deps.log.child({ component: "leader-election", lease: `${o.namespace}/${o.id}`, identity: this.identity });
    this.#collectors = deps.metrics ? collectors(deps.metrics) : undefined;
    this.#collectors?.status.set({ name: o.id }, 0);
    this.#clock = deps.clock ?? realClock;
    this.#wallClock = deps.wallClock ?? Date.now;
    this.#random = deps.random ?? Math.random;
  }

  /**
   * Health of the leader's renewals (client-go `HealthzAdaptor` / `Check`): throws when this
   * candidate leads but has not renewed for longer than the lease duration plus `toleranceMs`
   * (a stuck renew loop); a standby is always healthy.
   */
  checkRenewal(toleranceMs = 20_000): void {
    if (!this.#leading) return;
    const sinceMs = this.#clock.now() - this.#lastRenewMs;
    if (sinceMs > this.#opts.leaseDurationSeconds * 1000 + toleranceMs) {
      throw new Error(`leader of ${this.#opts.namespace}/${this.#opts.id} has not renewed the lease for ${Math.round(sinceMs / 1000)}s`);
    }
  }

  /** True while this candidate holds the lease. */
  isLeader(): boolean {
    return this.#leading;
  }

  /** The holder last seen on the Lease ("" when free or not yet read); client-go `GetLeader`. */
  leader(): string {
    return this.#observedRecord?.holderIdentity ?? "";
  }

  /**
   * Campaigns until elected, calls `onStartedLeading`, then renews until `signal` aborts
   * ("stopped": the lease is released when `releaseOnCancel`) or leadership is lost ("lost":
   * returned as soon as this is known, before anything else is awaited). `onLost` is called
   * synchronously the moment leadership is lost, before any other callback can run, so that the
   * caller stops its work at once (client-go `OnStoppedLeading`). Never rejects.
   */
  async run(signal: AbortSignal, onStartedLeading: () => void, onLost?: () => void): Promise<LeadingOutcome> {
    this.#onLost = onLost;
    const o = this.#opts;
    this.#log.info("attempting to acquire leader lease");
    while (!signal.aborted) {
      const startMs = this.#clock.now();
      const outcome = await this.#attempt(signal, o.renewDeadlineSeconds * 1000);
      this.#reportLeader();
      if (outcome === "ok") {
        this.#lastRenewMs = startMs;
        break;
      }
      await sleepOn(this.#clock, o.retryPeriodSeconds * 1000 * (1 + this.#random() * JITTER_FACTOR), signal);
    }
    if (signal.aborted) return "stopped";
    this.#setLeading(true);
    this.#log.info("successfully acquired lease");
    onStartedLeading();
    const renewDeadlineMs = o.renewDeadlineSeconds * 1000;
    while (!signal.aborted) {
      await sleepOn(this.#clock, o.retryPeriodSeconds * 1000, signal);
      // One renewal round: retry every retry period until the renew deadline, counted from the
      // start of the last successful renewal.
      for (;;) {
        if (signal.aborted) break;
        const startMs = this.#clock.now();
        const remainingMs = this.#lastRenewMs + renewDeadlineMs - startMs;
        if (remainingMs <= 0) return this.#lose(`no renewal succeeded within the renew deadline of ${o.renewDeadlineSeconds}s`);
        const outcome = await this.#attempt(signal, remainingMs);
        this.#reportLeader();
        if (outcome === "ok") {
          this.#lastRenewMs = startMs;
          break;
        }
        if (outcome === "held") return this.#lose(`the lease is now held by ${JSON.stringify(this.leader())}`);
        if (signal.aborted) break;
        const leftMs = this.#lastRenewMs + renewDeadlineMs - this.#clock.now();
        await sleepOn(this.#clock, Math.max(0, Math.min(o.retryPeriodSeconds * 1000, leftMs)), signal);
      }
    }
    if (o.releaseOnCancel) await this.#release();
    this.#setLeading(false);
    return "stopped";
  }

  #lose(why: string): LeadingOutcome {
    this.#setLeading(false);
    this.#onLost?.();
    this.#log.error(`leadership lost: ${why}`);
    return "lost";
  }

  #setLeading(leading: boolean): void {
    this.#leading = leading;
    this.#collectors?.status.set({ name: this.#opts.id }, leading ? 1 : 0);
  }

  #reportLeader(): void {
    const holder = this.leader();
    if (holder === this.#reportedLeader) return;
    this.#reportedLeader = holder;
    if (holder && holder !== this.identity) this.#log.info({ leader: holder }, "new leader observed");
  }

  /** Records what was seen or written, and when (client-go `setObservedRecord`). */
  #observe(record: LeaseRecord): void {
    this.#observedRaw = JSON.stringify(record);
    this.#observedRecord = record;
    this.#observedAtMs = this.#clock.now();
  }

  /** The observed record has not outlived its duration on our monotonic clock (client-go `isLeaseValid`). */
  #observedValid(): boolean {
    const r = this.#observedRecord;
    return r !== undefined && this.#observedAtMs + r.leaseDurationSeconds * 1000 > this.#clock.now();
  }

  /** One try, bounded by `budgetMs` and `signal` (client-go `tryAcquireOrRenew`). */
  async #attempt(signal: AbortSignal, budgetMs: number): Promise<Attempt> {
    const deadline = timeoutSignal(this.#clock, budgetMs, "lease acquire or renew");
    try {
      return await this.#tryAcquireOrRenew(AbortSignal.any([signal, deadline.signal]));
    } finally {
      deadline.clear();
    }
  }

  async #tryAcquireOrRenew(signal: AbortSignal): Promise<Attempt> {
    const o = this.#opts;
    const key = { namespace: o.namespace, name: o.id };
    const nowMicro = microTime(this.#wallClock());
    const mine: LeaseRecord = {
      holderIdentity: this.identity, leaseDurationSeconds: o.leaseDurationSeconds,
      acquireTime: nowMicro, renewTime: nowMicro, leaseTransitions: 0,
    };

    // 1. Fast path: the leader updates from the Lease it last wrote, without reading it first.
    const last = this.#lastLease;
    if (this.#leading && last && this.#observedRecord?.holderIdentity === this.identity && this.#observedValid()) {
      const record = { ...mine, acquireTime: this.#observedRecord.acquireTime, leaseTransitions: this.#observedRecord.leaseTransitions };
      try {
        this.#lastLease = await this.#client.update(Leases, { ...last, spec: { ...last.spec, ...record } }, { signal });
        this.#observe(record);
        return "ok";
      } catch (err) {
        if (signal.aborted) return "failed";
        this.#log.debug({ err }, "optimistic lease renewal failed; reading the lease");
        this.#collectors?.slowpath.inc({ name: o.id });
      }
    }

    // 2. Read the Lease, or create it.
    let lease: Lease;
    try {
      lease = await this.#client.get(Leases, key, { signal });
    } catch (err) {
      if (!isNotFound(err)) {
        this.#log.warn({ err }, "could not read the lease");
        return "failed";
      }
      try {
        this.#lastLease = await this.#client.create(Leases, {
          apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: o.id, namespace: o.namespace }, spec: mine,
        }, { signal });
        this.#observe(mine);
        return "ok";
      } catch (createErr) {
        this.#log.warn({ err: createErr }, "could not create the lease");
        return "failed";
      }
    }

    // 3. A change resets the clock of its expiry; a valid lease of another holder is respected.
    const seen = recordOf(lease);
    if (JSON.stringify(seen) !== this.#observedRaw) this.#observe(seen);
    const heldByOther = seen.holderIdentity !== this.identity;
    if (this.#leading && heldByOther) return "held"; // taken over or cleared while we led: step down at once
    if (seen.holderIdentity && heldByOther && this.#observedValid()) return "held";

    // 4. Acquire (a new transition) or renew (same acquireTime and transitions).
    const record = heldByOther
      ? { ...mine, leaseTransitions: seen.leaseTransitions + 1 }
      : { ...mine, acquireTime: seen.acquireTime || mine.acquireTime, leaseTransitions: seen.leaseTransitions };
    try {
      this.#lastLease = await this.#client.update(Leases, { ...lease, spec: { ...lease.spec, ...record } }, { signal });
      this.#observe(record);
      return "ok";
    } catch (err) {
      this.#log.warn({ err }, "could not update the lease");
      return "failed";
    }
  }

  /** Empties the holder so that a standby acquires at once (client-go `release`). Best effort. */
  async #release(): Promise<void> {
    const lease = this.#lastLease;
    if (!lease || !this.#leading) return;
    const now = microTime(this.#wallClock());
    const deadline = timeoutSignal(this.#clock, this.#opts.renewDeadlineSeconds * 1000, "lease release");
    try {
      const record = { holderIdentity: "", leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: this.#observedRecord?.leaseTransitions ?? 0 };
      this.#lastLease = await this.#client.update(Leases, { ...lease, spec: { ...lease.spec, ...record } }, { signal: deadline.signal });
      this.#observe(record);
      this.#log.info("released the lease");
    } catch (err) {
      this.#log.warn({ err }, "could not release the lease; a standby takes over once it expires");
    } finally {
      deadline.clear();
    }
  }
}
