import type { Request as HttpRequest, Response, Router } from "express";
import express from "express";

/** A health or readiness check: resolves when healthy, throws (or rejects) with the reason otherwise. */
export type Checker = () => void | Promise<void>;

/**
 * Named checks served the way Kubernetes components do (controller-runtime `pkg/healthz`):
 * `GET /` answers 200 `ok` when all pass, 500 listing the failures otherwise; `?verbose` lists
 * every check; `/<name>` runs one check; `?exclude=<name>` skips some.
 */
export class CheckSet {
  readonly #checks = new Map<string, Checker>();
  readonly #kind: string;

  constructor(kind: string) {
    this.#kind = kind;
  }

  /** @throws Error when a check of that name exists already. */
  add(name: string, check: Checker): void {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) throw new Error(`${this.#kind} check name ${JSON.stringify(name)}: use lower-case letters, digits and '-'`);
    if (this.#checks.has(name)) throw new Error(`${this.#kind} check ${JSON.stringify(name)} is already registered`);
    this.#checks.set(name, check);
  }

  /** Runs the checks (except `exclude`); each result is `undefined` (passed) or the failure reason. */
  async run(exclude: ReadonlySet<string> = new Set()): Promise<Array<{ name: string; failure: string | undefined }>> {
    const entries = [...this.#checks].filter(([n]) => !exclude.has(n)).sort(([a], [b]) => a.localeCompare(b));
    return Promise.all(entries.map(async ([name, check]) => {
      try {
        await check();
        return { name, failure: undefined };
      } catch (err) {
        return { name, failure: err instanceof Error ? err.message : String(err) };
      }
    }));
  }

  router(): Router {
    const r = express.Router();
    const all = async (req: HttpRequest, res: Response) => {
      const exclude = new Set(([] as unknown[]).concat(req.query.exclude ?? []).map(String));
      const results = await this.run(exclude);
      const failed = results.filter((x) => x.failure !== undefined);
      res.type("text/plain");
      res.setHeader("X-Content-Type-Options", "nosniff");
      if (failed.length === 0 && req.query.verbose === undefined) {
        res.status(200).send("ok");
        return;
      }
      const lines = results.map((x) => (x.failure === undefined ? `[+]${x.name} ok` : `[-]${x.name} failed: ${x.failure}`));
      lines.push(failed.length === 0 ? `${this.#kind} check passed` : `${this.#kind} check failed`);
      res.status(failed.length === 0 ? 200 : 500).send(`${lines.join("\n")}\n`);
    };
    r.get("/", all);
    r.get("/:name", async (req, res) => {
      const name = String(req.params.name);
      const check = this.#checks.get(name);
      res.type("text/plain");
      if (!check) {
        res.status(404).send(`no ${this.#kind} check named ${name}\n`);
        return;
      }
      try {
        await check();
        res.status(200).send("ok");
      } catch (err) {
        res.status(500).send(`[-]${name} failed: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    });
    return r;
  }
}
