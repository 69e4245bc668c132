import { spawn } from "node:child_process";
import { ensureBinaries, type EnsureBinariesOptions } from "./binaries.ts";

/** One field error of kube-apiserver's CustomResourceDefinition validation. */
export interface CrdFieldError {
  /** The field path, in the internal version's terms (`spec.validation.openAPIV3Schema.properties[spec]...`), as the API server reports it. */
  field: string;
  /** `FieldValueInvalid`, `FieldValueForbidden`, `FieldValueRequired`, ..., or `Decode` when the object did not decode. */
  type: string;
  /** The reason alone. */
  detail: string;
  /** The message of the cause a refused create carries in `status.details.causes` (`Forbidden: <detail>`, `Invalid value: ...`), without the field. */
  message: string;
}

/** What kube-apiserver would answer to creating one CustomResourceDefinition. */
export interface CrdVerdict {
  /** `metadata.name` of the CRD ("" when it did not decode). */
  name: string;
  /** Empty when the create would be accepted. */
  errors: CrdFieldError[];
  /** The warnings the create would return. */
  warnings: string[];
}

/**
 * Validates CustomResourceDefinitions (apiextensions.k8s.io/v1 objects) as kube-apiserver
 * v1.36.3 validates a create, without a server: the `validate-crd` command of the harness'
 * multi-call Kubernetes binary runs the API server's own code on them (decoding with defaults,
 * the registry strategy's PrepareForCreate, `ValidateCustomResourceDefinition`, warnings). So
 * everything the server checks is checked: structural schemas, CEL rules compiled with cel-go's
 * type checker, and the estimated cost limits of CEL rules (10,000,000 per rule, 100,000,000 per
 * CRD, a rule under list or map nodes multiplied by their maximum cardinality).
 *
 * Returns one verdict per CRD, in order. The binary is built on first use (minutes, see
 * `ensureBinaries`) and cached; one call takes about 2 s.
 *
 * @throws Error when the binary cannot be built (no `go` on PATH) or exits non-zero.
 */
export async function validateCustomResourceDefinitions(
  crds: readonly object[],
  opts: Omit<EnsureBinariesOptions<"validate-crd">, "components"> = {},
): Promise<CrdVerdict[]> {
  const { "validate-crd": binary } = await ensureBinaries({ ...opts, components: ["validate-crd"] });
  const stdout = await runWithInput(binary, JSON.stringify(crds), opts.signal);
  return JSON.parse(stdout) as CrdVerdict[];
}

/**
 * The problems kube-apiserver would refuse `crds` for, one line each:
 * `<crd name>: <field>: <reason>`, followed by ` (rule: <expression>)` when the field is a CEL
 * rule or messageExpression of the schema. Empty when every create would be accepted.
 *
 * @throws Error as {@link validateCustomResourceDefinitions}.
 */
export async function customResourceDefinitionProblems(crds: readonly object[], opts: Omit<EnsureBinariesOptions<"validate-crd">, "components"> = {}): Promise<string[]> {
  const verdicts = await validateCustomResourceDefinitions(crds, opts);
  const lines: string[] = [];
  verdicts.forEach((verdict, i) => {
    for (const e of verdict.errors) {
      const expression = schemaExpressionAt(crds[i]!, e.field);
      lines.push(`${verdict.name || `CRD #${i}`}: ${e.field ? `${e.field}: ` : ""}${e.detail}${expression === undefined ? "" : ` (rule: ${JSON.stringify(expression)})`}`);
    }
  });
  return lines;
}

/**
 * The CEL expression a field path of the API server's CRD validation points at, when it points
 * at `x-kubernetes-validations[i].rule` or `.messageExpression` of the first version's schema.
 */
export function schemaExpressionAt(crd: object, field: string): string | undefined {
  const m = /^spec\.(?:validation|versions\[\d+\]\.schema)\.openAPIV3Schema((?:\.properties\[[^\]]+\]|\.items|\.additionalProperties)*)\.x-kubernetes-validations\[(\d+)\]\.(rule|messageExpression)$/.exec(field);
  if (!m) return undefined;
  const version = /^spec\.versions\[(\d+)\]/.exec(field);
  const spec = (crd as { spec?: { versions?: Array<{ schema?: { openAPIV3Schema?: unknown } }> } }).spec;
  let node = spec?.versions?.[version ? Number(version[1]) : 0]?.schema?.openAPIV3Schema as Record<string, unknown> | undefined;
  for (const step of m[1]!.match(/\.properties\[[^\]]+\]|\.items|\.additionalProperties/g) ?? []) {
    if (!node) return undefined;
    const property = /^\.properties\[([^\]]+)\]$/.exec(step);
    node = (property ? (node.properties as Record<string, unknown> | undefined)?.[property[1]!] : node[step.slice(1)]) as Record<string, unknown> | undefined;
  }
  const rule = (node?.["x-kubernetes-validations"] as Array<Record<string, unknown>> | undefined)?.[Number(m[2])];
  const expression = rule?.[m[3]!];
  return typeof expression === "string" ? expression : undefined;
}

function runWithInput(binary: string, input: string, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [], { stdio: ["pipe", "pipe", "pipe"], ...(signal ? { signal } : {}) });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString("utf8"));
      else reject(new Error(`${binary} exited with ${code}: ${Buffer.concat(err).toString("utf8").trim()}`));
    });
    child.stdin.end(input);
  });
}
