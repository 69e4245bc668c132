/**
 * An admission webhook server: express over TLS, AdmissionReview v1, validating and mutating
 * handlers registered per resource type, as controller-runtime's pkg/webhook (server.go,
 * admission/webhook.go, admission/http.go) and its builder (`ctrl.NewWebhookManagedBy(mgr).For(&Pod{})`).
 *
 * - Every request is answered before the API server's `?timeout=` runs out: a handler that
 *   hangs is abandoned (its `signal` aborts) and answered as an error (code 500, allowed false),
 *   as is a handler that throws. The process never crashes for a request.
 * - A body that is not an AdmissionReview v1 is answered 400 with the reason, as
 *   controller-runtime's http.go does for a bad body or content type.
 * - The certificate comes from a `CertificateSource`; a new one is loaded with
 *   `setSecureContext`, so connections in flight are not dropped.
 * - `GET /readyz` is 200 only when the certificate served chains to a CA that is in the
 *   caBundle of every webhook this server generated (read from the API server).
 */
import https from "node:https";
import type { AddressInfo } from "node:net";
import express from "express";
import type { Registry } from "prom-client";
import type { Client } from "../../client/index.ts";
import type { Runnable } from "../../manager/index.ts";
import type { KubeObject, ResourceType } from "../../meta/index.ts";
import { FieldErrors } from "../field-errors.ts";
import type {
  FailurePolicy, LabelSelector, MatchCondition, MatchPolicy, MutatingWebhookConfiguration, Operation, ReinvocationPolicy,
  ValidatingWebhookConfiguration, WebhookCommon,
} from "../types.ts";
import { MutatingWebhookConfigurations, ValidatingWebhookConfigurations } from "../types.ts";
import { dns1123SubdomainErrors } from "../names.ts";
import { kubernetesCelCheck } from "../cel-check.ts";
import { validateMatchConditions, validateRuleOperations, type CelCheck } from "../validate.ts";
import { splitPemBundle, type KeyPair } from "./certificates.ts";
import type { CertificateSource, ServingCertificate } from "./certificate-manager.ts";
import { noWebhookMetrics, webhookMetrics, type WebhookMetrics } from "./metrics.ts";
import {
  MalformedReviewError, parseReview, parseTimeoutMs, reviewResponse, type AdmissionRequest, type AdmissionResult,
} from "./review.ts";

/** What a handler gets besides the request: `signal` aborts when its time is up. */
export interface HandlerContext {
  signal: AbortSignal;
  /** When the answer must be sent, on `Date.now()`'s clock. */
  deadlineMs: number;
}

/** A webhook handler. Return `allow()`, `deny(...)`, or for mutating webhooks `patch(...)` / `mutate(...)`. */
export type AdmissionHandler<T extends KubeObject> = (request: AdmissionRequest<T>, ctx: HandlerContext) => AdmissionResult | Promise<AdmissionResult>;

interface Registration {
  type: "validating" | "mutating";
  path: string;
  webhook: Omit<WebhookCommon, "clientConfig"> & { reinvocationPolicy?: ReinvocationPolicy };
  handler: AdmissionHandler<KubeObject>;
}

/** Options of `WebhookServer`, with their defaults. */
export interface WebhookServerOptions {
  certificates: CertificateSource;
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Port (default 9443, controller-runtime's; 0 picks a free one). */
  port?: number;
  /** Host in the generated `clientConfig.url` (default `host`). */
  advertiseHost?: string;
  /**
   * Generate `clientConfig.service` (the Service in front of the server's pods, port default 443)
   * instead of `clientConfig.url`: what a chart installs in a cluster, where the API server
   * reaches the pods through the Service. The serving certificate must then name
   * `<name>.<namespace>.svc` (`CertificateManager`'s `names.dnsNames`).
   */
  service?: { namespace: string; name: string; port?: number };
  /** Name of the generated Validating/MutatingWebhookConfiguration (default `kubeloop-webhooks`). */
  configurationName?: string;
  /** Reads the configurations for `/readyz`; without it readiness means "serving a certificate". */
  client?: Client;
  /** Answer this long before the API server's timeout (default 250 ms, or a quarter of a timeout under 1 s). */
  answerMarginMs?: number;
  /** Largest accepted body (default 16 MiB; an AdmissionReview carries object and oldObject). */
  bodyLimitBytes?: number;
  /** Compiles webhooks' matchConditions at registration (default `kubernetesCelCheck`; `false`: only the API server does). */
  cel?: CelCheck | false;
  /** Where to register controller-runtime's webhook metrics (`metrics.ts`; `addWebhookServer` gives the manager's registry). */
  metrics?: Registry;
}

const defaultTimeoutSeconds = 10;

/** Names of webhook configurations by kind. */
export interface ConfigurationNames {
  validating?: string[];
  mutating?: string[];
}

/** The server. Register webhooks with `webhookFor(server, Type)`, then `listen()` or run it as a manager Runnable. */
export class WebhookServer implements Runnable {
  readonly needLeaderElection = false;
  readonly #opts: WebhookServerOptions;
  readonly #registrations: Registration[] = [];
  readonly #app = express();
  readonly #metrics: WebhookMetrics;
  #server?: https.Server;
  #serving?: ServingCertificate;
  #unsubscribe?: () => void;
  #inFlight = 0;
  #serverError?: Error;
  /** Certificates loaded since start (1 = the first); for tests and metrics. */
  reloads = 0;

  constructor(opts: WebhookServerOptions) {
    this.#opts = opts;
    this.#metrics = opts.metrics ? webhookMetrics(opts.metrics) : noWebhookMetrics;
    this.#app.disable("x-powered-by");
    this.#app.get("/healthz", (_req, res) => {
      res.type("text/plain").send("ok");
    });
    this.#app.get("/readyz", (_req, res, next) => {
      this.readiness().then((reason) => {
        if (reason === undefined) res.type("text/plain").send("ok");
        else res.status(500).type("text/plain").send(`[-]webhook-certificate failed: ${reason}\nreadyz check failed\n`);
      }, next);
    });
  }

  /** Registers one webhook; `webhookFor` is the way to call it. @throws Error for a path taken twice. */
  register(reg: Registration): void {
    if (this.#registrations.some((r) => r.path === reg.path)) throw new Error(`webhook path ${reg.path} is registered twice`);
    if (this.#registrations.some((r) => r.webhook.name === reg.webhook.name && r.type === reg.type)) throw new Error(`webhook name ${reg.webhook.name} is registered twice`);
    this.#registrations.push(reg);
    const limit = this.#opts.bodyLimitBytes ?? 16 * 1024 * 1024;
    this.#app.post(reg.path, (_req: express.Request, res: express.Response, next: express.NextFunction) => {
      const finished = this.#metrics.start(reg.path);
      res.once("finish", () => finished(res.statusCode));
      res.once("close", () => finished(res.statusCode));
      next();
    }, express.text({ type: () => true, limit }), (req: express.Request, res: express.Response) => {
      void this.#serve(reg, req, res);
    }, (err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      // The body parser's errors (413 too large, 400 bad encoding), answered as a Status.
      const status = (err as { status?: number }).status ?? 500;
      if (!res.headersSent) res.status(status).json({ kind: "Status", apiVersion: "v1", status: "Failure", code: status, message: String((err as Error)?.message ?? err) });
    });
  }

  /** Starts listening. Resolves with the port. */
  async listen(): Promise<number> {
    if (this.#server) return (this.#server.address() as AddressInfo).port;
    const cert = this.#opts.certificates.current();
    this.#serving = cert;
    this.reloads = 1;
    const server = https.createServer({ cert: cert.certPem, key: cert.keyPem, minVersion: "TLSv1.2" }, this.#app);
    server.keepAliveTimeout = 65_000;
    this.#unsubscribe = this.#opts.certificates.onChange((next) => this.#reload(next));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#opts.port ?? 9443, this.#opts.host ?? "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("clientError", (_err, socket) => socket.destroy());
    // An error of the listening socket after start must not crash the process; it is kept for readiness.
    server.on("error", (err) => {
      this.#serverError = err;
    });
    this.#server = server;
    return (server.address() as AddressInfo).port;
  }

  /** Runnable: listens until `signal` aborts, then stops accepting and lets requests in flight finish. */
  async start(signal: AbortSignal, _hardStop?: AbortSignal): Promise<void> {
    await this.listen();
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await this.close();
  }

  /** Stops listening; requests in flight are answered first. */
  async close(): Promise<void> {
    this.#unsubscribe?.();
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  }

  /** The port listened on. @throws Error before `listen()`. */
  port(): number {
    if (!this.#server) throw new Error("WebhookServer is not listening: call listen() first");
    return (this.#server.address() as AddressInfo).port;
  }

  /** The certificate served now. */
  serving(): KeyPair & { caPem: string } {
    if (!this.#serving) throw new Error("WebhookServer is not listening: call listen() first");
    return this.#serving;
  }

  #reload(next: ServingCertificate): void {
    this.#serving = next;
    this.reloads++;
    this.#server?.setSecureContext({ cert: next.certPem, key: next.keyPem, minVersion: "TLSv1.2" });
  }

  /** Why the server is not ready, or undefined when it is (see `/readyz`). */
  async readiness(): Promise<string | undefined> {
    if (!this.#server || !this.#serving) return "not listening";
    if (this.#serverError) return `the server failed: ${this.#serverError.message}`;
    const servingCa = this.#serving.caPem.trim();
    const client = this.#opts.client;
    if (!client) return undefined;
    const name = this.configurationName();
    for (const [type, kind, wanted] of [
      [ValidatingWebhookConfigurations, "ValidatingWebhookConfiguration", this.#registrations.some((r) => r.type === "validating")],
      [MutatingWebhookConfigurations, "MutatingWebhookConfiguration", this.#registrations.some((r) => r.type === "mutating")],
    ] as const) {
      if (!wanted) continue;
      let cfg: ValidatingWebhookConfiguration | MutatingWebhookConfiguration;
      try {
        cfg = await client.get(type as typeof ValidatingWebhookConfigurations, { name });
      } catch (err) {
        return `${kind} ${name}: ${(err as Error).message}`;
      }
      for (const w of cfg.webhooks) {
        const bundle = splitPemBundle(Buffer.from(w.clientConfig.caBundle ?? "", "base64").toString()).map((p) => p.trim());
        if (!bundle.includes(servingCa)) return `${kind} ${name}: the caBundle of webhook ${w.name} does not hold the CA of the certificate served`;
      }
    }
    return undefined;
  }

  /** A readiness check for `Manager.addReadyCheck`. */
  readyCheck(): () => Promise<void> {
    return async () => {
      const reason = await this.readiness();
      if (reason !== undefined) throw new Error(reason);
    };
  }

  /** Name of the generated configurations. */
  configurationName(): string {
    return this.#opts.configurationName ?? "kubeloop-webhooks";
  }

  /** The configurations this server's webhooks go into, by kind (a kind without webhooks left out): what `CertificateManager.injectInto` takes. */
  configurationNames(): ConfigurationNames {
    const name = [this.configurationName()];
    return { ...(this.registered("validating") > 0 ? { validating: name } : {}), ...(this.registered("mutating") > 0 ? { mutating: name } : {}) };
  }

  /** The CEL check registrations use (undefined: none). */
  celCheck(): CelCheck | undefined {
    return this.#opts.cel === false ? undefined : this.#opts.cel ?? kubernetesCelCheck;
  }

  /** How many webhooks of `type` are registered. */
  registered(type: "validating" | "mutating"): number {
    return this.#registrations.filter((r) => r.type === type).length;
  }

  #webhook(reg: Registration): WebhookCommon & { reinvocationPolicy?: ReinvocationPolicy } {
    const bundle = this.#opts.certificates.caBundle();
    const caBundle = bundle ? { caBundle: Buffer.from(bundle).toString("base64") } : {};
    const service = this.#opts.service;
    if (service) {
      return { ...reg.webhook, clientConfig: { service: { namespace: service.namespace, name: service.name, path: reg.path, port: service.port ?? 443 }, ...caBundle } };
    }
    const host = this.#opts.advertiseHost ?? this.#opts.host ?? "127.0.0.1";
    const hostPart = host.includes(":") ? `[${host}]` : host;
    return { ...reg.webhook, clientConfig: { url: `https://${hostPart}:${this.port()}${reg.path}`, ...caBundle } };
  }

  /**
   * The ValidatingWebhookConfiguration of the validating webhooks registered (undefined when
   * none). Without `service`, the URL names the port listened on. @throws Error then before `listen()`.
   */
  validatingWebhookConfiguration(): ValidatingWebhookConfiguration | undefined {
    const regs = this.#registrations.filter((r) => r.type === "validating");
    if (regs.length === 0) return undefined;
    return {
      apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingWebhookConfiguration", metadata: { name: this.configurationName() },
      webhooks: regs.map((r) => {
        const { reinvocationPolicy: _, ...w } = this.#webhook(r);
        return w;
      }),
    };
  }

  /** The MutatingWebhookConfiguration of the mutating webhooks registered (undefined when none). */
  mutatingWebhookConfiguration(): MutatingWebhookConfiguration | undefined {
    const regs = this.#registrations.filter((r) => r.type === "mutating");
    if (regs.length === 0) return undefined;
    return {
      apiVersion: "admissionregistration.k8s.io/v1", kind: "MutatingWebhookConfiguration", metadata: { name: this.configurationName() },
      webhooks: regs.map((r) => this.#webhook(r)),
    };
  }

  /**
   * Applies the generated configurations (server-side apply), and hands their names to the
   * certificate source when it injects caBundles (`CertificateManager.injectInto`).
   */
  async installConfigurations(client: Client, opts: { fieldManager?: string } = {}): Promise<void> {
    const fieldManager = opts.fieldManager ?? "kubeloop-webhooks";
    const v = this.validatingWebhookConfiguration();
    const m = this.mutatingWebhookConfiguration();
    const source = this.#opts.certificates as CertificateSource & { injectInto?: (c: ConfigurationNames) => void };
    source.injectInto?.(this.configurationNames());
    if (v) await client.patch(ValidatingWebhookConfigurations, { name: v.metadata.name }, { type: "apply", body: v, fieldManager, force: true });
    if (m) await client.patch(MutatingWebhookConfigurations, { name: m.metadata.name }, { type: "apply", body: m, fieldManager, force: true });
  }

  /** Requests being answered now. */
  inFlight(): number {
    return this.#inFlight;
  }

  async #serve(reg: Registration, req: express.Request, res: express.Response): Promise<void> {
    this.#inFlight++;
    try {
      const contentType = req.headers["content-type"] ?? "";
      if (!contentType.startsWith("application/json")) {
        res.status(400).json(badRequest(`contentType=${contentType}, expected application/json`));
        return;
      }
      let request: AdmissionRequest;
      try {
        request = parseReview(typeof req.body === "string" ? req.body : "");
      } catch (err) {
        if (err instanceof MalformedReviewError) {
          res.status(400).json(badRequest(err.message));
          return;
        }
        throw err;
      }
      // The API server sends `?timeout=<webhook timeoutSeconds>s`; without it, the configured timeout.
      const timeoutMs = parseTimeoutMs(req.query.timeout) ?? (reg.webhook.timeoutSeconds ?? defaultTimeoutSeconds) * 1000;
      const margin = this.#opts.answerMarginMs ?? (timeoutMs >= 1000 ? 250 : timeoutMs / 4);
      const budgetMs = Math.max(1, timeoutMs - margin);
      const result = await this.#run(reg, request, budgetMs);
      res.status(200).json(reviewResponse(request, result));
    } catch (err) {
      if (!res.headersSent) res.status(500).json({ kind: "Status", apiVersion: "v1", status: "Failure", code: 500, message: String((err as Error)?.message ?? err) });
    } finally {
      this.#inFlight--;
    }
  }

  async #run(reg: Registration, request: AdmissionRequest, budgetMs: number): Promise<AdmissionResult> {
    const controller = new AbortController();
    const deadlineMs = Date.now() + budgetMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<AdmissionResult>((resolve) => {
      timer = setTimeout(() => {
        controller.abort(new Error("webhook deadline"));
        resolve({ kind: "deny", code: 500, message: `webhook ${reg.webhook.name} did not answer within ${Math.round(budgetMs)} ms (the API server's timeout, less a margin)` });
      }, budgetMs);
    });
    const handled = (async (): Promise<AdmissionResult> => reg.handler(request, { signal: controller.signal, deadlineMs }))()
      .then((result) => checkResult(reg, result))
      .catch((err: unknown): AdmissionResult => ({ kind: "deny", code: 500, message: `webhook ${reg.webhook.name} failed: ${(err as Error)?.message ?? String(err)}` }));
    try {
      return await Promise.race([handled, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function checkResult(reg: Registration, result: AdmissionResult): AdmissionResult {
  if (!result || typeof result !== "object" || !("kind" in result)) {
    return { kind: "deny", code: 500, message: `webhook ${reg.webhook.name} returned no result (use allow(), deny(), patch() or mutate())` };
  }
  if (reg.type === "validating" && (result.kind === "patch" || result.kind === "mutate")) {
    return { kind: "deny", code: 500, message: `validating webhook ${reg.webhook.name} returned a patch; only mutating webhooks may change the object` };
  }
  return result;
}

function badRequest(message: string): { kind: "Status"; apiVersion: "v1"; status: "Failure"; code: 400; reason: "BadRequest"; message: string } {
  return { kind: "Status", apiVersion: "v1", status: "Failure", code: 400, reason: "BadRequest", message };
}

/** Builds one webhook for a resource type, as controller-runtime's `WebhookBuilder`. */
export class WebhookBuilder<T extends KubeObject> {
  readonly #server: WebhookServer;
  readonly #type: ResourceType<T>;
  #name?: string;
  #path?: string;
  #operations: Operation[] = ["CREATE", "UPDATE"];
  #failurePolicy: FailurePolicy = "Fail";
  #sideEffects: "None" | "NoneOnDryRun" = "None";
  #timeoutSeconds = defaultTimeoutSeconds;
  #matchPolicy?: MatchPolicy;
  #namespaceSelector?: LabelSelector;
  #objectSelector?: LabelSelector;
  #reinvocationPolicy?: ReinvocationPolicy;
  readonly #conditions: MatchCondition[] = [];

  constructor(server: WebhookServer, type: ResourceType<T>) {
    this.#server = server;
    this.#type = type;
  }

  /** The webhook's fully qualified name (default `<kind>.<group or core>.kubeloop.dev`, lower case). */
  named(name: string): this {
    this.#name = name;
    return this;
  }
  /** URL path (default `/validate-<group>-<version>-<kind>` or `/mutate-...`, controller-runtime's). */
  path(path: string): this {
    this.#path = path;
    return this;
  }
  /** Operations matched (default CREATE and UPDATE). */
  operations(...ops: Operation[]): this {
    this.#operations = ops;
    return this;
  }
  /** What the API server does when the call fails or times out (default Fail). */
  failurePolicy(policy: FailurePolicy): this {
    this.#failurePolicy = policy;
    return this;
  }
  /** `None` (default) or `NoneOnDryRun`: a webhook with side effects would block dry-run requests. */
  sideEffects(value: "None" | "NoneOnDryRun"): this {
    this.#sideEffects = value;
    return this;
  }
  /** The API server's timeout, 1-30 s (default 10). The handler is answered for before it. */
  timeoutSeconds(seconds: number): this {
    this.#timeoutSeconds = seconds;
    return this;
  }
  matchPolicy(policy: MatchPolicy): this {
    this.#matchPolicy = policy;
    return this;
  }
  inNamespaces(selector: LabelSelector): this {
    this.#namespaceSelector = selector;
    return this;
  }
  forObjects(selector: LabelSelector): this {
    this.#objectSelector = selector;
    return this;
  }
  /** Called only when `expression` is true (`matchConditions`, at most 64). */
  when(name: string, expression: string): this {
    this.#conditions.push({ name, expression });
    return this;
  }
  /** Mutating only: `IfNeeded` calls the webhook again when a later one changed the object. */
  reinvocationPolicy(policy: ReinvocationPolicy): this {
    this.#reinvocationPolicy = policy;
    return this;
  }

  /** Registers a validating webhook. @throws AdmissionConfigError for what the API server would refuse. */
  validate(handler: AdmissionHandler<T>): void {
    this.#register("validating", handler);
  }

  /** Registers a mutating webhook (handlers may return `patch()` or `mutate()`). */
  mutate(handler: AdmissionHandler<T>): void {
    this.#register("mutating", handler);
  }

  #register(type: "validating" | "mutating", handler: AdmissionHandler<T>): void {
    const t = this.#type;
    const kind = t.kind.toLowerCase();
    const name = this.#name ?? `${kind}.${t.group || "core"}.kubeloop.dev`;
    const path = this.#path ?? `/${type === "validating" ? "validate" : "mutate"}-${(t.group || "core").replaceAll(".", "-")}-${t.version}-${kind}`;
    if (type === "validating" && this.#reinvocationPolicy) throw new Error(`webhook ${name}: reinvocationPolicy is for mutating webhooks only`);
    // The API server's checks of this webhook (validateValidatingWebhook / validateMutatingWebhook),
    // at the index it will have in the generated configuration.
    const index = this.#server.registered(type);
    const at = `webhooks[${index}]`;
    const errs = new FieldErrors();
    const nameErrors = dns1123SubdomainErrors(name);
    if (nameErrors.length) errs.invalid(`${at}.name`, name, nameErrors.join(","));
    else if (name.split(".").length < 3) errs.invalid(`${at}.name`, name, "should be a domain with at least three segments separated by dots");
    validateRuleOperations(errs, this.#operations, `${at}.rules[0]`);
    if (this.#timeoutSeconds < 1 || this.#timeoutSeconds > 30) errs.invalid(`${at}.timeoutSeconds`, this.#timeoutSeconds, "the timeout value must be between 1 and 30 seconds");
    validateMatchConditions(errs, this.#conditions, `${at}.matchConditions`, false, this.#server.celCheck());
    errs.throwIfAny(type === "validating" ? "ValidatingWebhookConfiguration" : "MutatingWebhookConfiguration", this.#server.configurationName());
    this.#server.register({
      type,
      path,
      handler: handler as AdmissionHandler<KubeObject>,
      webhook: {
        name,
        rules: [{ apiGroups: [t.group], apiVersions: [t.version], resources: [t.plural], operations: [...this.#operations] }],
        failurePolicy: this.#failurePolicy,
        sideEffects: this.#sideEffects,
        timeoutSeconds: this.#timeoutSeconds,
        admissionReviewVersions: ["v1"],
        ...(this.#matchPolicy ? { matchPolicy: this.#matchPolicy } : {}),
        ...(this.#namespaceSelector ? { namespaceSelector: this.#namespaceSelector } : {}),
        ...(this.#objectSelector ? { objectSelector: this.#objectSelector } : {}),
        ...(this.#conditions.length ? { matchConditions: this.#conditions.map((c) => ({ ...c })) } : {}),
        ...(type === "mutating" ? { reinvocationPolicy: this.#reinvocationPolicy ?? "Never" } : {}),
      },
    });
  }
}

/** Starts a webhook for `type` on `server`: `webhookFor(server, Pods).validate(handler)`. */
export function webhookFor<T extends KubeObject>(server: WebhookServer, type: ResourceType<T>): WebhookBuilder<T> {
  return new WebhookBuilder(server, type);
}
