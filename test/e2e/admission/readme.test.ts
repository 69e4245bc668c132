/**
 * The two examples of framework/admission/README.md run as a reader would run them (saved in the
 * repository, importing `kubeloop/admission`), against the real API server: the policies block
 * installs its policies, which then act; the webhooks block serves, becomes ready, and the API
 * server calls it.
 * Needs a cluster: `KUBELOOP_CLUSTER_DIR` or `KUBECONFIG` (see `testControlPlane`).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  MutatingAdmissionPolicies, MutatingAdmissionPolicyBindings, MutatingWebhookConfigurations, ValidatingAdmissionPolicies, ValidatingAdmissionPolicyBindings,
  ValidatingWebhookConfigurations,
} from "../../../framework/admission/index.ts";
import { ApiError, type KubeClient } from "../../../framework/client/index.ts";
import { ConfigMaps, Namespaces } from "../../../framework/meta/index.ts";
import { createTestNamespace, deleteTestNamespace, testEnvironment } from "../../../framework/testing/index.ts";
import { extractBlocks } from "../../docs/readme-blocks.ts";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
let client: KubeClient;
let namespace: string;
let dir: string;
let blocks: Record<string, string>;

before(async () => {
  ({ client } = await testEnvironment());
  namespace = await createTestNamespace(client, "kubeloop-admission-readme");
  const md = await readFile(join(repoRoot, "framework/admission/README.md"), "utf8");
  blocks = Object.fromEntries(extractBlocks(md, "framework/admission/README.md").filter((b) => !b.flags.includes("fragment")).map((b) => [b.heading, b.code]));
  dir = join(repoRoot, ".kubeloop", `admission-readme-${randomBytes(3).toString("hex")}`);
  await mkdir(dir, { recursive: true });
});

after(async () => {
  if (!client) return;
  await client.delete(ValidatingWebhookConfigurations, { name: "kubeloop-webhooks" }).catch(() => {});
  await client.delete(MutatingWebhookConfigurations, { name: "kubeloop-webhooks" }).catch(() => {});
  for (const name of ["replica-limit", "replica-limit-warn"]) await client.delete(ValidatingAdmissionPolicyBindings, { name }).catch(() => {});
  await client.delete(ValidatingAdmissionPolicies, { name: "replica-limit" }).catch(() => {});
  await client.delete(MutatingAdmissionPolicyBindings, { name: "owner-label" }).catch(() => {});
  await client.delete(MutatingAdmissionPolicies, { name: "owner-label" }).catch(() => {});
  if (namespace) await deleteTestNamespace(client, namespace);
  await client.delete(Namespaces, { name: "kubeloop-system" }).catch(() => {});
  client.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * Runs a saved block; `output` is its stdout, `errors` its stderr. The `kubeloop-source`
 * condition resolves `kubeloop/...` to the TypeScript sources (the package is not built here).
 */
function run(file: string): { child: ChildProcess; output: () => string; errors: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ["--conditions=kubeloop-source", file], { cwd: repoRoot, env: process.env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => out, errors: () => err, exited };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test("README 'Policies' runs: the policies install and act", async () => {
  const file = join(dir, "policies.ts");
  await writeFile(file, blocks.Policies!);
  const { exited, output, errors } = run(file);
  assert.equal(await exited, 0, output() + errors());
  const vap = await client.get(ValidatingAdmissionPolicies, { name: "replica-limit" });
  assert.equal(vap.status?.observedGeneration, vap.metadata.generation);
  const labelled = await until("owner-label to act", async () => {
    const cm = await client.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "owned", namespace } }, { dryRun: true });
    return cm.metadata?.labels?.owner;
  });
  assert.ok(labelled.length > 0);
});

test("README 'Webhooks' runs: ready, and the API server calls its webhooks", async () => {
  await client.create(Namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: "kubeloop-system" } }).catch((e: unknown) => {
    if (!(e instanceof ApiError && e.statusCode === 409)) throw e;
  });
  const file = join(dir, "webhooks.ts");
  // Port 0 instead of 9443: other processes on a shared test machine may hold 9443.
  await writeFile(file, blocks.Webhooks!.replace("port: 9443", "port: 0"));
  const { child, output, errors, exited } = run(file);
  try {
    await until("the example to print its readiness", async () => (output().includes("\n") ? output() : undefined));
    assert.equal(output().trim(), "ready", errors());
    const err = await until("the webhook to deny", async () => {
      try {
        await client.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "secrets", namespace }, data: { password: "x" } }, { dryRun: true });
        return undefined;
      } catch (e) {
        return e instanceof ApiError ? e : undefined;
      }
    });
    assert.equal(err.status.message, `admission webhook "no-secrets.configmaps.example.dev" denied the request: put passwords in a Secret`);
  } finally {
    child.kill("SIGTERM");
    await exited;
    await client.delete(ValidatingWebhookConfigurations, { name: "kubeloop-webhooks" }).catch(() => {});
    await client.delete(MutatingWebhookConfigurations, { name: "kubeloop-webhooks" }).catch(() => {});
  }
});
