import type { Server } from "node:http";
import { hostname } from "node:os";
import express from "express";
import { collectDefaultMetrics, Registry } from "prom-client";
import { InformerCache, type InformerCacheOptions } from "../cache/index.ts";
import { createClient, loadKubeConfig, type Client, type KubeConfig } from "../client/index.ts";
import type { ControllerHost } from "../controller/index.ts";
import { newEventRecorder, type EventRecorder } from "../events/index.ts";
import { realClock, type Clock } from "../flowcontrol/index.ts";
import { rootLogger, type Logger } from "../log/index.ts";
import { Events, Leases } from "../meta/index.ts";
import { PermissionSet, permission, type Permission, type PolicyRule } from "../rbac/index.ts";
import { fencedClient } from "./fence.ts";
import { CheckSet, type Checker } from "./health.ts";
import { LeaderElector, type LeaderElectionOptions } from "./leader-election.ts";
import { close, listen } from "./server.ts";

/** Something the manager runs: it starts, runs until `signal` aborts, then resolves once stopped. */
export interface Runnable {
  /**
   * Runs until `signal` aborts (stop gracefully: finish the work in flight), then resolves.
   * `hardStop` aborts when the work in flight must be abandoned at once: the leader lease was
   * lost, or the graceful shutdown timeout passed (controller-runtime cancels the context).
   */
  start(signal: AbortSignal, hardStop: AbortSignal): Promise<void>;
  /** Run only while this process leads (default true, as controller-runtime). */
  needLeaderElection?: boolean;
}

/** Options of `Manager`, with their defaults (controller-runtime `manager.Options`). */
export interface ManagerOptions {
  /** Default `loadKubeConfig()` (KUBECONFIG, in-cluster, ~/.kube/config), unless `client` is given. */
  kubeConfig?: KubeConfig;
  /** A client to use instead of creating one from `kubeConfig`. */
  client?: Client;
  /**
   * Client-side rate limit of the data-plane client the manager creates, in requests per second
   * (kube-controller-manager's `--kube-api-qps`). Default: none, as controller-runtime (API
   * Priority and Fairness protects the server). Leader election is never limited by it.
   */
  kubeApiQps?: number;
  /** Burst of that limit (`--kube-api-burst`). Default `kubeApiQps`. */
  kubeApiBurst?: number;
  /**
   * The client leader election uses. Default: one of its own built from `kubeConfig` (its own
   * connections, no rate limit, each request bounded by half the renew deadline, user agent
   * suffixed `leader-election`), as controller-runtime and client-go's `NewFromKubeconfig`. When
   * only `client` is given (no `kubeConfig`), leader election shares it.
   */
  leaderElectionClient?: Client;
  /** Where `/metrics` is served: `host:port`, default `127.0.0.1:8080`; `0` turns it off; port 0 picks a free port. */
  metricsBindAddress?: string;
  /** Where `/healthz` and `/readyz` are served, default `127.0.0.1:8081`; `0` turns it off. */
  healthProbeBindAddress?: string;
  /** Leader election on a Lease; without it every runnable starts at once. */
  leaderElection?: LeaderElectionOptions;
  /** After the stop signal, how long runnables may take to stop, in ms. Default 30000. */
  gracefulShutdownTimeoutMs?: number;
  /** Names the manager in logs. Default `manager`. */
  name?: string;
  /** Options of the shared informer cache. */
  cache?: InformerCacheOptions;
  /** Monotonic time and timers of leader election and the shutdown timeout (tests inject a fake). Default `realClock`. */
  clock?: Clock;
  /** Wall time in ms since the epoch, only for the Lease's MicroTime stamps. Default `Date.now`. */
  wallClock?: () => number;
  log?: Logger;
}

/** The error `start` rejects with when this process loses the leader lease. */
export class LeaderElectionLostError extends Error {
  constructor(lease: string) {
    super(`leader election lost: lease ${lease} is no longer held by this process; exiting so that another replica can lead`);
    this.name = "LeaderElectionLostError";
  }
}

const USER_AGENT = `kubeloop/0.1.0 (node ${process.version})`;

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
 *
 * Losing the lease stops all work at once, as controller-runtime does (no graceful period): the
 * runnables' `hardStop` aborts (every in-flight reconcile's `ctx.signal` aborts, no key is handed
 * out), `client` refuses every further request, no buffered Event is flushed, the lease is not
 * released (it is not ours), and `start` rejects with `LeaderElectionLostError`: exit non-zero
 * (`runManager` does).
 */
export class Manager implements ControllerHost {
  /**
   * The data-plane client to hand to reconcilers. With leader election it is fenced by the
   * lease: once leadership is lost it sends nothing more.
   */
  readonly client: Client;
  readonly cache: InformerCache;
  /** Registry of every metric of this manager (process metrics included), served at `/metrics`. */
  readonly metrics: Registry;
  readonly log: Logger;
  readonly name: string;
  readonly gracefulShutdownTimeoutMs: number;
  readonly #opts: ManagerOptions;
  readonly #clock: Clock;
  /** Clients this manager created and closes when it stops. */
  readonly #ownedClients: Client[] = [];
  readonly #runnables: Runnable[] = [];
  readonly #running: Array<Promise<void>> = [];
  readonly #healthChecks = new CheckSet("healthz");
  readonly #readyChecks = new CheckSet("readyz");
  readonly #recorders = new Map<string, EventRecorder>();
  readonly #permissions = new PermissionSet();
  readonly #elector: LeaderElector | undefined;
  /** Aborts when leadership is lost: fences `client`. */
  readonly #fence = new AbortController();
  /** Aborts when runnables must drop their work in flight. */
  readonly #hardStop = new AbortController();
  #runSignal: AbortSignal | undefined;
  #leading = false;
  #started = false;
  #synced = false;
  #fail: (err: Error) => void = () => {};
  #metricsAddr: string | undefined;
  #probeAddr: string | undefined;
  #resolveElected: () => void = () => {};
  readonly #electedPromise = new Promise<void>((resolve) => (this.#resolveElected = resolve));

  /** @throws Error for invalid options (bind addresses, leader election durations) or when no kubeconfig can be loaded. */
  constructor(opts: ManagerOptions = {}) {
    this.#opts = opts;
    this.name = opts.name ?? "manager";
    this.log = (opts.log ?? rootLogger).child({ manager: this.name });
    this.gracefulShutdownTimeoutMs = opts.gracefulShutdownTimeoutMs ?? 30_000;
    this.#clock = opts.clock ?? realClock;
    this.metrics = new Registry();
    collectDefaultMetrics({ register: this.metrics });
    const kubeConfig = opts.kubeConfig ?? (opts.client ? undefined : loadKubeConfig());
    let dataClient = opts.client;
    if (!dataClient) {
      dataClient = createClient({
        kubeConfig: kubeConfig!, metrics: this.metrics,
        ...(opts.kubeApiQps !== undefined && opts.kubeApiQps > 0 ? { qps: opts.kubeApiQps, burst: opts.kubeApiBurst ?? opts.kubeApiQps } : {}),
      });
      this.#ownedClients.push(dataClient);
    }
    this.cache = new InformerCache(dataClient, { logger: this.log, ...opts.cache });
    const le = opts.leaderElection;
    if (le) {
      let leClient = opts.leaderElectionClient;
      if (!leClient && kubeConfig) {
        // client-go NewFromKubeconfig: a client of its own, each request bounded by half the renew deadline.
        leClient = createClient({
          kubeConfig, metrics: this.metrics, userAgent: `${USER_AGENT} leader-election`,
          requestTimeoutMs: Math.max(1000, ((le.renewDeadlineSeconds ?? 10) * 1000) / 2),
        });
        this.#ownedClients.push(leClient);
      }
      this.#elector = new LeaderElector(leClient ?? dataClient, le, {
        log: this.log, metrics: this.metrics, clock: this.#clock, ...(opts.wallClock ? { wallClock: opts.wallClock } : {}),
      });
      this.client = fencedClient(dataClient, this.#fence.signal);
    } else {
      this.#elector = undefined;
      this.client = dataClient;
    }
    this.#healthChecks.add("ping", () => {});
    const elector = this.#elector;
    if (elector) this.#healthChecks.add("leader-election", () => elector.checkRenewal());
    this.#readyChecks.add("informer-sync", () => {
      if (!this.#synced || !this.cache.hasSynced()) throw new Error("informer caches have not synced yet");
    });
  }

  /**
   * Declares what this process's code does with the API beyond watching (a reconciler's writes,
   * an uncached read): `mgr.permit(permission(Pods, ["create", "delete"]))`. `policyRules` adds
   * these to what the informers need.
   */
  permit(...permissions: readonly Permission[]): void {
    this.#permissions.add(...permissions);
  }

  /**
   * The cluster-wide RBAC rules this process needs, from what is set up so far: \`list\` and
   * \`watch\` on every informed type, what was declared with \`permit\`, and \`create\`/\`patch\` on
   * events.k8s.io Events once an event recorder exists. Informers created lazily by a cache read
   * at run time are not known here. Leader election needs \`leaderElectionRules\` in its namespace.
   */
  policyRules(): PolicyRule[] {
    const all = new PermissionSet();
    for (const type of this.cache.informedTypes()) all.add(permission(type, ["list", "watch"]));
    all.add(...this.#permissions.permissions());
    if (this.#recorders.size > 0) all.add(permission(Events, ["create", "patch"]));
    return all.rules();
  }

  /**
   * The cluster-wide RBAC rules that `setup` declares: `policyRules()` of a manager that `setup`
   * configured and that never starts nor connects. This is what a chart's ClusterRole is generated
   * from (`npm run generate`), as controller-gen's `rbac` generator reads kubebuilder markers.
   * `setup` must only set up (informers, controllers, `permit`); an API call it makes throws an
   * Error naming the method. Leader election's rules are `leaderElectionRules()`.
   */
  static policyRulesOf(setup: (mgr: Manager) => void): PolicyRule[] {
    const offline = new Proxy({}, {
      get: (_target, method) => method === "then" ? undefined : () => {
        throw new Error(`Manager.policyRulesOf: setup called client.${String(method)}, but this manager never connects; only set up in it`);
      },
    }) as Client;
    const mgr = new Manager({ client: offline, name: "policy-rules", metricsBindAddress: "0", healthProbeBindAddress: "0" });
    setup(mgr);
    return mgr.policyRules();
  }

  /** The rules leader election needs in its Lease's namespace (client-go's resourcelock on Leases). */
  static leaderElectionRules(): PolicyRule[] {
    const set = new PermissionSet();
    set.add(permission(Leases, ["get", "create", "update"]));
    return set.rules();
  }

  /** An event recorder reporting as `component` (e.g. `kubeloop.dev/replicaset-controller`). */
  eventRecorder(component: string): EventRecorder {
    let r = this.#recorders.get(component);
    if (!r) {
      r = newEventRecorder(this.client, {
        reportingController: component, reportingInstance: `${component}-${hostname()}`.slice(0, 128), log: this.log, registry: this.metrics,
      });
      this.#recorders.set(component, r);
    }
    return r;
  }

  /** Adds a runnable (a controller, a scheduler...). Added after `start`, it starts at once (or once leading). */
  add(runnable: Runnable): void {
    this.#runnables.push(runnable);
    if (this.#runSignal && this.#synced && this.#mayRun(runnable)) this.#run(runnable);
  }

  /** Adds a liveness check served at `/healthz` and `/healthz/<name>`. @throws Error for a duplicate or invalid name. */
  addHealthCheck(name: string, check: Checker): void {
    this.#healthChecks.add(name, check);
  }

  /** Adds a readiness check served at `/readyz` and `/readyz/<name>`. @throws Error for a duplicate or invalid name. */
  addReadyCheck(name: string, check: Checker): void {
    this.#readyChecks.add(name, check);
  }

  /** True while this process holds the lease (always true without leader election, once started). */
  isLeader(): boolean {
    return this.#leading;
  }

  /**
   * Resolves once this process leads (at once after the cache sync without leader election);
   * never resolves for a standby that does not get elected (controller-runtime `Elected()`).
   */
  elected(): Promise<void> {
    return this.#electedPromise;
  }

  /** The identity this process campaigns with, when leader election is on. */
  get leaderIdentity(): string | undefined {
    return this.#elector?.identity;
  }

  /** `host:port` the metrics server listens on once started (useful with port 0), or undefined when off. */
  metricsAddress(): string | undefined {
    return this.#metricsAddr;
  }

  /** `host:port` the health probe server listens on once started, or undefined when off. */
  healthProbeAddress(): string | undefined {
    return this.#probeAddr;
  }

  /**
   * Runs everything until `signal` aborts; see the class comment. Resolves after a graceful
   * shutdown.
   * @throws LeaderElectionLostError when the lease is lost; Error when a server cannot listen,
   * a runnable fails, or runnables do not stop within the graceful shutdown timeout.
   */
  async start(signal: AbortSignal): Promise<void> {
    if (this.#started) throw new Error(`manager ${this.name} was started twice`);
    this.#started = true;
    const servers: Server[] = [];
    const runStop = new AbortController();
    const cacheStop = new AbortController();
    const leaseStop = new AbortController();
    let failure: Error | undefined;
    let lost = false;
    const stopRequested = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
      this.#fail = (err) => {
        failure ??= err;
        resolve();
      };
    });
    let leading: Promise<void> = Promise.resolve();
    try {
      await this.#startServers(servers);
      this.cache.start(cacheStop.signal);
      this.#runSignal = runStop.signal;
      this.log.info("waiting for informer caches to sync");
      try {
        await Promise.race([this.cache.waitForSync(AbortSignal.any([signal, cacheStop.signal])), stopRequested]);
      } catch (err) {
        if (!signal.aborted) throw new Error(`manager ${this.name}: informer caches did not sync`, { cause: err });
      }
      if (!signal.aborted && !failure) {
        this.#synced = true;
        this.log.info("informer caches synced; starting runnables");
        for (const r of this.#runnables) if (r.needLeaderElection === false) this.#run(r);
        if (this.#elector) {
          const le = this.#opts.leaderElection!;
          leading = this.#elector.run(leaseStop.signal, () => {
            this.#leading = true;
            this.#resolveElected();
            for (const r of this.#runnables) if (r.needLeaderElection !== false) this.#run(r);
          }, () => {
            // Stop everything now, before any other callback runs: no request leaves this process any more.
            lost = true;
            this.#leading = false;
            const err = new LeaderElectionLostError(`${le.namespace}/${le.id}`);
            this.#fence.abort(err);
            this.#hardStop.abort(err);
            runStop.abort(err);
            this.#fail(err);
          }).then(() => {
            this.#leading = false;
          });
        } else {
          this.#leading = true;
          this.#resolveElected();
          for (const r of this.#runnables) if (r.needLeaderElection !== false) this.#run(r);
        }
      }
      await stopRequested;
    } catch (err) {
      failure ??= err instanceof Error ? err : new Error(String(err));
    }

    // Graceful shutdown: runnables first (while still holding the lease), then the cache, the lease, the servers.
    this.log.info({ reason: failure?.message ?? "stop signal" }, "stopping runnables");
    runStop.abort();
    if (!lost) {
      const graceMs = this.gracefulShutdownTimeoutMs;
      let timer: unknown;
      const timedOut = new Promise<false>((resolve) => (timer = this.#clock.setTimer(() => resolve(false), graceMs)));
      const inTime = await Promise.race([Promise.allSettled(this.#running).then(() => true), timedOut]);
      this.#clock.clearTimer(timer);
      if (!inTime) {
        this.#hardStop.abort(new Error(`manager ${this.name}: graceful shutdown timeout of ${graceMs} ms passed`));
        failure ??= new Error(`manager ${this.name}: runnables did not stop within the graceful shutdown timeout of ${graceMs} ms`);
      }
      // Buffered Event series counts are written before the client goes (bounded by the request timeout).
      await Promise.all([...this.#recorders.values()].map((r) => r.flush()));
    }
    cacheStop.abort();
    leaseStop.abort();
    await leading;
    await Promise.all(servers.map(close));
    for (const c of this.#ownedClients) (c as { close?: () => void }).close?.();
    this.#synced = false;
    if (failure) {
      this.log.error({ err: failure }, "manager stopped with an error");
      throw failure;
    }
    this.log.info("manager stopped");
  }

  #mayRun(r: Runnable): boolean {
    return r.needLeaderElection === false || this.#leading;
  }

  #run(r: Runnable): void {
    const signal = this.#runSignal;
    if (!signal || signal.aborted || this.#hardStop.signal.aborted) return;
    const hardStop = this.#hardStop.signal;
    this.#running.push(
      Promise.resolve()
        .then(() => r.start(signal, hardStop))
        .catch((err: unknown) => {
          const e = err instanceof Error ? err : new Error(String(err));
          if (hardStop.aborted && e === hardStop.reason) return;
          this.log.error({ err: e }, "runnable failed; stopping the manager");
          this.#fail(e);
        }),
    );
  }

  async #startServers(servers: Server[]): Promise<void> {
    const metricsAddr = this.#opts.metricsBindAddress ?? "127.0.0.1:8080";
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
      this.#metricsAddr = address;
      this.log.info({ address }, "serving metrics");
    }
    const probeAddr = this.#opts.healthProbeBindAddress ?? "127.0.0.1:8081";
    if (probeAddr !== "0") {
      const app = express();
      app.disable("x-powered-by");
      app.use("/healthz", this.#healthChecks.router());
      app.use("/readyz", this.#readyChecks.router());
      const { server, address } = await listen(app, probeAddr, "health probe");
      servers.push(server);
      this.#probeAddr = address;
      this.log.info({ address }, "serving health probes");
    }
  }
}
