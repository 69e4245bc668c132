/**
 * Certificates for a webhook server: a self-signed CA and serving certificates it signs, made
 * with `@peculiar/x509` on Node's WebCrypto (ECDSA P-256, SHA-256), PEM encoded.
 * What open-policy-agent/cert-controller (pkg/rotator/rotator.go) makes with Go's crypto/x509:
 * CA with BasicConstraints CA:true and keyCertSign; leaf with serverAuth, the SANs given, and
 * notBefore one hour back for clock skew.
 */
import { X509Certificate as NodeX509 } from "node:crypto";
import { webcrypto } from "node:crypto";
// tsyringe, under @peculiar/x509, needs the Reflect metadata polyfill loaded first (its README).
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
/** One hour back, as cert-controller, so a peer with a slow clock accepts a fresh certificate. */
const backdateMs = 60 * 60 * 1000;

/** A certificate and its private key, both PEM. */
export interface KeyPair {
  certPem: string;
  keyPem: string;
}

/** Subject alternative names of a serving certificate. */
export interface ServingNames {
  /** IP SANs, e.g. `127.0.0.1` for `clientConfig.url: https://127.0.0.1:<port>` on a local control plane. */
  ips?: string[];
  /** DNS SANs, e.g. `<service>.<namespace>.svc`. */
  dnsNames?: string[];
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey("pkcs8", key));
  const b64 = der.toString("base64").replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN PRIVATE KEY-----\n${b64}-----END PRIVATE KEY-----\n`;
}

async function importSigningKey(pem: string): Promise<CryptoKey> {
  const b64 = pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "").replace(/\s+/g, "");
  return crypto.subtle.importKey("pkcs8", Buffer.from(b64, "base64"), algorithm, false, ["sign"]);
}

function serial(): string {
  // Positive 128-bit serial (RFC 5280: at most 20 octets, positive).
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0]! &= 0x7f;
  bytes[0]! |= 0x01;
  return Buffer.from(bytes).toString("hex");
}

/** A new self-signed CA valid for `validityMs` from now, named `CN=<commonName>-<serial prefix>` so each CA is told apart. */
export async function createCertificateAuthority(commonName: string, validityMs: number, now = Date.now()): Promise<KeyPair> {
  const keys = await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"]) as CryptoKeyPair;
  const serialNumber = serial();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber,
    name: `CN=${commonName}-${serialNumber.slice(0, 12)}`,
    notBefore: new Date(now - backdateMs),
    notAfter: new Date(now + validityMs),
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await keyPem(keys.privateKey) };
}

/** A new serving certificate for `names`, signed by `ca`, valid for `validityMs` from now (never past the CA). */
export async function createServingCertificate(ca: KeyPair, names: ServingNames, validityMs: number, now = Date.now()): Promise<KeyPair> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const keys = await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"]) as CryptoKeyPair;
  const sans: x509.JsonGeneralName[] = [
    ...(names.ips ?? []).map((value) => ({ type: "ip" as const, value })),
    ...(names.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
  ];
  if (sans.length === 0) throw new Error("a serving certificate needs at least one IP or DNS name (ServingNames)");
  const notAfter = Math.min(now + validityMs, caCert.notAfter.getTime());
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${names.dnsNames?.[0] ?? names.ips?.[0]}`,
    issuer: caCert.subject,
    notBefore: new Date(now - backdateMs),
    notAfter: new Date(notAfter),
    publicKey: keys.publicKey,
    signingKey: await importSigningKey(ca.keyPem),
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(sans, false),
      await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await keyPem(keys.privateKey) };
}

/** What a PEM certificate says, read with node:crypto. */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  notBeforeMs: number;
  notAfterMs: number;
  fingerprint256: string;
}

/** Parses one PEM certificate. */
export function certificateInfo(pem: string): CertificateInfo {
  const c = new NodeX509(pem);
  return { subject: c.subject, issuer: c.issuer, notBeforeMs: Date.parse(c.validFrom), notAfterMs: Date.parse(c.validTo), fingerprint256: c.fingerprint256 };
}

/** The PEM certificates of a bundle, in order. */
export function splitPemBundle(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g)?.map((p) => p.endsWith("\n") ? p : `${p}\n`) ?? [];
}

/** True when `leafPem` is signed by `caPem` (issuer name and signature). */
export function isSignedBy(leafPem: string, caPem: string): boolean {
  const leaf = new NodeX509(leafPem);
  const ca = new NodeX509(caPem);
  return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
}
