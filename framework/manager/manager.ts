import type { Server } from "node:http";
import { hostname } from "node:os";
import express from "express";
import { collectDefaultMetrics, Registry } from "prom-client";
import { InformerCache, type InformerCacheOptions } from "../cache/index.ts";
import { createClient, type Client, type KubeConfig } from "../client/index.ts";
import type { ControllerHost } from "../controller/index.ts";
import { newEventRecorder, type EventRecorder } from "../events/index.ts";
import { rootLogger, type Logger } from "../log/index.ts";
import { CheckSet, type Checker } from "./health.ts";
import { LeaderElector, type LeaderElectionOptions } from "./leader-election.ts";
import { close, listen } from "./server.ts";

/** Something the manager runs: it starts, runs until `signal` aborts, then resolves once stopped. */
export interface Runnable {
  start(signal: AbortSignal): Promise<void>;
  /** Run only while this process leads (default true, as controller-runtime). */
  needLeaderElection?: boolean;
}

/** Options of `Manager`, with their defaults (controller-runtime `manager.Options`). */
export interface ManagerOptions {
  /** Default `loadKubeConfig()` (KUBECONFIG, in-cluster, ~/.kube/config), unless `client` is given. */
  kubeConfig?: KubeConfig;
  /** A client to use instead of creating one from `kubeConfig`. */
  client?: Client;
  /** Where `/metrics` is served: `host:port`, default `127.0.0.1:8080`; `0` turns it off; port 0 picks a free port. */
  metricsBindAddress?: string;
  /** Where `/healthz` and `/readyz` are served, default `127.0.0.1:8081`; `0` turns it off. */
  healthProbeBindAddress?: string;
  /** Leader election on a Lease; without it every runnable starts at once. */
  leaderElection?: LeaderElectionOptions;
  /** After the stop signal, how long runnables may take to stop. Default 30000. */
  gracefulShutdownTimeoutMs?: number;
  /** Names the manager in logs. Default `manager`. */
  name?: string;
  /** Options of the shared informer cache. */
  cache?: InformerCacheOptions;
  log?: Logger;
}

/** The error `start` rejects with when this process loses the leader lease. */
export class LeaderElectionLostError extends Error {
  constructor(lease: string) {
    super(`leader election lost: lease ${lease} was not renewed in time; exiting so that another replica can lead`);
    this.name = "LeaderElectionLostError";
  }
}

/**
 * Runs the shared informer cache, controllers and other runnables of one process, with
 * leader election, metrics and health probes, and graceful shutdown (controller-runtime
 * `pkg/manager`).
 *
 * `start(signal)`: serves `/metrics` and the probes, starts the cache and waits for it to sync
 * (`/readyz` turns ready), starts runnables that do not need leader election, campaigns for
 * the lease (when configured) and starts the others once leading. When `signal` aborts, it stops
 * the runnables (controllers stop taking keys and finish the reconciles in flight) within
 * `gracefulShutdownTimeoutMs`, stops the cache, releases the lease and closes the servers.
 * Losing the lease stops everything at once and rejects with `LeaderElectionLostError`: exit
 * non-zero (`runManager` does).
 */
export class Manager implements ControllerHost {
  readonly client: Client;
  readonly cache: InformerCache;
  /** Registry of every metric of this manager (process metrics included), served at `/metrics`. */
  readonly metrics: Registry;
  readonly log: Logger;
  readonly name: string;
  readonly gracefulShutdownTimeoutMs: number;
  private readonly opts: ManagerOptions;
  private readonly ownsClient: boolean;
  private readonly runnables: Runnable[] = [];
  private readonly running: Array<Promise<void>> = [];
  private readonly healthChecks = new CheckSet("healthz");
  private readonly readyChecks = new CheckSet("readyz");
  private readonly recorders = new Map<string, EventRecorder>();
  private readonly elector: LeaderElector | undefined;
  private runSignal: AbortSignal | undefined;
  private leading = false;
  private started = false;
  private synced = false;
  private fail: (err: Error) => void = () => {};
  private metricsAddr: string | undefined;
  private resolveElected: () => void = () => {};
  private readonly electedPromise = new Promise<void>((resolve) => (this.resolveElected = resolve));
  private probeAddr: string | undefined;

  /** @throws Error for invalid options (bind addresses, leader election durations) or when no kubeconfig can be loaded. */
  constructor(opts: ManagerOptions = {}) {
    this.opts = opts;
    this.name = opts.name ?? "manager";
    this.log = (opts.log ?? rootLogger).child({ manager: this.name });
    this.gracefulShutdownTimeoutMs = opts.gracefulShutdownTimeoutMs ?? 30_000;
    this.metrics = new Registry();
    collectDefaultMetrics({ register: this.metrics });
    this.ownsClient = !opts.client;
    this.client = opts.client ?? createClient({ ...(opts.kubeConfig ? { kubeConfig: opts.kubeConfig } : {}), metrics: this.metrics });
    this.cache = new InformerCache(this.client, { logger: this.log, ...opts.cache });
    this.elector = opts.leaderElection
      ? new LeaderElector(this.client, opts.leaderElection, { log: this.log, metrics: this.metrics })
      : undefined;
    this.healthChecks.add("ping", () => {});
    const elector = this.elector;
    if (elector) this.healthChecks.add("leader-election", () => elector.checkRenewal());
    this.readyChecks.add("informer-sync", () => {
      if (!this.synced || !this.cache.hasSynced()) throw new Error("informer caches have not synced yet");
    });
  }

  /** An event recorder reporting as `component` (e.g. `kubeloop.dev/replicaset-controller`). */
  eventRecorder(component: string): EventRecorder {
    let r = this.recorders.get(component);
    if (!r) {
      r = newEventRecorder(this.client, {
        reportingController: component, reportingInstance: `${component}-${hostname()}`.slice(0, 128), log: this.log, registry: this.metrics,
      });
      this.recorders.set(component, r);
    }
    return r;
  }

  /** Adds a runnable (a controller, a scheduler...). Added after `start`, it starts at once (or once leading). */
  add(runnable: Runnable): void {
    this.runnables.push(runnable);
    if (this.runSignal && this.synced && this.mayRun(runnable)) this.run(runnable);
  }

  /** Adds a liveness check served at `/healthz` and `/healthz/<name>`. @throws Error for a duplicate or invalid name. */
  addHealthCheck(name: string, check: Checker): void {
    this.healthChecks.add(name, check);
  }

  /** Adds a readiness check served at `/readyz` and `/readyz/<name>`. @throws Error for a duplicate or invalid name. */
  addReadyCheck(name: string, check: Checker): void {
    this.readyChecks.add(name, check);
  }

  /** True while this process holds the lease (always true without leader election, once started). */
  isLeader(): boolean {
    return this.leading;
  }

  /**
   * Resolves once this process leads (at once after the cache sync without leader election);
   * never resolves for a standby that does not get elected (controller-runtime `Elected()`).
   */
  elected(): Promise<void> {
    return this.electedPromise;
  }

  /** The identity this process campaigns with, when leader election is on. */
  get leaderIdentity(): string | undefined {
    return this.elector?.identity;
  }

  /** `host:port` the metrics server listens on once started (useful with port 0), or undefined when off. */
  metricsAddress(): string | undefined {
    return this.metricsAddr;
  }

  /** `host:port` the health probe server listens on once started, or undefined when off. */
  healthProbeAddress(): string | undefined {
    return this.probeAddr;
  }

  /**
   * Runs everything until `signal` aborts; see the class comment. Resolves after a graceful
   * shutdown.
   * @throws LeaderElectionLostError when the lease is lost; Error when a server cannot listen,
   * a runnable fails, or runnables do not stop within the graceful shutdown timeout.
   */
  async start(signal: AbortSignal): Promise<void> {
    if (this.started) throw new Error(`manager ${this.name} was started twice`);
    this.started = true;
    const servers: Server[] = [];
    const runStop = new AbortController();
    const cacheStop = new AbortController();
    const leaseStop = new AbortController();
    let failure: Error | undefined;
    let skipGrace = false;
    const stopRequested = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
      this.fail = (err) => {
        failure ??= err;
        resolve();
      };
    });
    let leading: Promise<void> = Promise.resolve();
    try {
      await this.startServers(servers);
      this.cache.start(cacheStop.signal);
      this.runSignal = runStop.signal;
      this.log.info("waiting for informer caches to sync");
      try {
        await Promise.race([this.cache.waitForSync(AbortSignal.any([signal, cacheStop.signal])), stopRequested]);
      } catch (err) {
        if (!signal.aborted) throw new Error(`manager ${this.name}: informer caches did not sync`, { cause: err });
      }
      if (!signal.aborted && !failure) {
        this.synced = true;
        this.log.info("informer caches synced; starting runnables");
        for (const r of this.runnables) if (r.needLeaderElection === false) this.run(r);
        if (this.elector) {
          const elector = this.elector;
          leading = elector.run(leaseStop.signal, () => {
            this.leading = true;
            this.resolveElected();
            for (const r of this.runnables) if (r.needLeaderElection !== false) this.run(r);
          }).then((outcome) => {
            this.leading = false;
            if (outcome === "lost") {
              skipGrace = true;
              this.fail(new LeaderElectionLostError(`${this.opts.leaderElection!.namespace}/${this.opts.leaderElection!.id}`));
            }
          });
        } else {
          this.leading = true;
          this.resolveElected();
          for (const r of this.runnables) if (r.needLeaderElection !== false) this.run(r);
        }
      }
      await stopRequested;
    } catch (err) {
      failure ??= err instanceof Error ? err : new Error(String(err));
    }

    // Graceful shutdown: runnables first (while still holding the lease), then the cache, the lease, the servers.
    this.log.info({ reason: failure?.message ?? "stop signal" }, "stopping runnables");
    runStop.abort();
    const graceMs = skipGrace ? 0 : this.gracefulShutdownTimeoutMs;
    const allStopped = Promise.allSettled(this.running).then(() => true);
    const inTime = await Promise.race([allStopped, new Promise<false>((r) => setTimeout(() => r(false), graceMs).unref())]);
    if (!inTime && !skipGrace) {
      failure ??= new Error(`manager ${this.name}: runnables did not stop within the graceful shutdown timeout of ${graceMs} ms`);
    }
    // Buffered Event series counts are written before the client goes (bounded by the request timeout).
    await Promise.all([...this.recorders.values()].map((r) => r.flush()));
    cacheStop.abort();
    leaseStop.abort();
    await leading;
    await Promise.all(servers.map(close));
    if (this.ownsClient) (this.client as { close?: () => void }).close?.();
    this.synced = false;
    if (failure) {
      this.log.error({ err: failure }, "manager stopped with an error");
      throw failure;
    }
    this.log.info("manager stopped");
  }

  private mayRun(r: Runnable): boolean {
    return r.needLeaderElection === false || this.leading;
  }

  private run(r: Runnable): void {
    const signal = this.runSignal;
    if (!signal || signal.aborted) return;
    this.running.push(
      Promise.resolve()
        .then(() => r.start(signal))
        .catch((err: unknown) => {
          const e = err instanceof Error ? err : new Error(String(err));
          this.log.error({ err: e }, "runnable failed; stopping the manager");
          this.fail(e);
        }),
    );
  }

  private async startServers(servers: Server[]): Promise<void> {
    const metricsAddr = this.opts.metricsBindAddress ?? "127.0.0.1:8080";
    if (metricsAddr !== "0") {
      const app = express();
      app.disable("x-powered-by");
      app.get("/metrics", async (_req, res) => {
        try {
          res.type(this.metrics.contentType).send(await this.metrics.metrics());
        } catch (err) {
          res.status(500).type("text/plain").send(`collecting metrics failed: ${err instanceof Error ? err.message : String(err)}\n`);
        }
      });
      const { server, address } = await listen(app, metricsAddr, "metrics");
      servers.push(server);
      this.metricsAddr = address;
      this.log.info({ address }, "serving metrics");
    }
    const probeAddr = this.opts.healthProbeBindAddress ?? "127.0.0.1:8081";
    if (probeAddr !== "0") {
      const app = express();
      app.disable("x-powered-by");
      app.use("/healthz", this.healthChecks.router());
      app.use("/readyz", this.readyChecks.router());
      const { server, address } = await listen(app, probeAddr, "health probe");
      servers.push(server);
      this.probeAddr = address;
      this.log.info({ address }, "serving health probes");
    }
  }
}
