import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { stringify } from "yaml";
import type { ClusterPaths } from "./flags.ts";

/** Static bearer tokens, one per identity (all in `system:masters`). */
export interface ClusterTokens {
  admin: string;
  "kube-controller-manager": string;
  "kube-scheduler": string;
  kwok: string;
}

/** User names of the token identities, as the API server's audit log and metrics show them. */
export const tokenUsers: Record<keyof ClusterTokens, string> = {
  admin: "kubeloop-admin",
  "kube-controller-manager": "system:kube-controller-manager",
  "kube-scheduler": "system:kube-scheduler",
  kwok: "kwok-controller",
};

/** Fresh random tokens (32 random bytes each, hex). */
export function generateTokens(): ClusterTokens {
  const token = (): string => randomBytes(32).toString("hex");
  return { admin: token(), "kube-controller-manager": token(), "kube-scheduler": token(), kwok: token() };
}

/**
 * The `--token-auth-file` CSV: `token,user,uid,"groups"`. Every identity is in
 * `system:masters`, so RBAC never stands between a component and its work.
 */
export function tokenAuthFileContent(tokens: ClusterTokens): string {
  return (Object.keys(tokenUsers) as (keyof ClusterTokens)[])
    .map((id) => `${tokens[id]},${tokenUsers[id]},${tokenUsers[id]},"system:masters"`)
    .join("\n") + "\n";
}

/** A kubeconfig with one cluster, one token user and one current context. */
export function kubeconfigContent(server: string, caPem: string, user: string, token: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      { name: "kubeloop", cluster: { server, "certificate-authority-data": Buffer.from(caPem).toString("base64") } },
    ],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: "kubeloop", context: { cluster: "kubeloop", user, namespace: "default" } }],
    "current-context": "kubeloop",
  });
}

async function writePrivate(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content, { mode: 0o600 });
}

/** Writes the token file and an RSA 2048 service-account signing key pair (PKCS#8 / SPKI PEM). */
export async function writeCredentials(paths: ClusterPaths, tokens: ClusterTokens): Promise<void> {
  await writePrivate(paths.tokenAuthFile, tokenAuthFileContent(tokens));
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  await writePrivate(paths.serviceAccountKey, privateKey);
  await writePrivate(paths.serviceAccountPublicKey, publicKey);
}

/** Writes the admin kubeconfig and one per component, once the serving cert exists. */
export async function writeKubeconfigs(paths: ClusterPaths, server: string, caPem: string, tokens: ClusterTokens): Promise<void> {
  await writePrivate(paths.adminKubeconfig, kubeconfigContent(server, caPem, tokenUsers.admin, tokens.admin));
  for (const name of ["kube-controller-manager", "kube-scheduler", "kwok"] as const) {
    await writePrivate(paths.componentKubeconfig(name), kubeconfigContent(server, caPem, tokenUsers[name], tokens[name]));
  }
}
