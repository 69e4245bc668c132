import { ApiError, isAlreadyExists, type KubeClient } from "../client/index.ts";
import { CustomResourceDefinitions, type KubeObject } from "../meta/index.ts";
import { ensureBinaries, type EnsureBinariesOptions } from "./binaries.ts";
import { runWithInput } from "./run-with-input.ts";

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
 * The same verdicts from a running API server instead of the binary, for machines without Go:
 * each CRD is sent as a dry-run create (`?dryRun=All`, nothing is stored); a 422 Invalid gives
 * its causes, an accepted create or a 409 AlreadyExists (the API server validates before it
 * looks for the name) gives no error. Exact for a v1.36 API server; another version answers
 * with its own rules. Warnings are not collected (empty).
 *
 * @throws ApiError for any other answer (403 when the client may not create CRDs, ...).
 */
export async function validateCustomResourceDefinitionsOnServer(client: KubeClient, crds: readonly object[]): Promise<CrdVerdict[]> {
  const verdicts: CrdVerdict[] = [];
  for (const crd of crds) {
    const name = (crd as { metadata?: { name?: string } }).metadata?.name ?? "";
    try {
      await client.create(CustomResourceDefinitions, crd as KubeObject as never, { dryRun: true });
      verdicts.push({ name, errors: [], warnings: [] });
    } catch (err) {
      if (isAlreadyExists(err)) {
        verdicts.push({ name, errors: [], warnings: [] });
        continue;
      }
      if (!(err instanceof ApiError) || err.statusCode !== 422) throw err;
      const causes = err.status.details?.causes ?? [];
      verdicts.push({
        name,
        errors: causes.map((c) => ({
          field: c.field ?? "",
          type: c.reason ?? "",
          detail: (c.message ?? "").replace(/^(?:Invalid value: (?:"(?:[^"\\]|\\.)*"|\{.*?\}|\S+): |[A-Z][A-Za-z ]*: )/s, ""),
          message: c.message ?? "",
        })),
        warnings: [],
      });
    }
  }
  return verdicts;
}

/** Options of {@link customResourceDefinitionProblems}. */
export interface CrdProblemsOptions extends Omit<EnsureBinariesOptions<"validate-crd">, "components"> {
  /** Ask this API server (dry-run creates, {@link validateCustomResourceDefinitionsOnServer}) instead of the offline binary. */
  server?: KubeClient;
}

/**
 * The problems kube-apiserver would refuse `crds` for, one line each:
 * `<crd name>: <field>: <reason>`, followed by ` (rule: <expression>)` when the field is a CEL
 * rule or messageExpression of the schema. Empty when every create would be accepted. Offline
 * (the binary) unless `opts.server` is given.
 *
 * @throws Error as {@link validateCustomResourceDefinitions}, or {@link validateCustomResourceDefinitionsOnServer} with `server`.
 */
export async function customResourceDefinitionProblems(crds: readonly object[], opts: CrdProblemsOptions = {}): Promise<string[]> {
  const { server, ...binary } = opts;
  const verdicts = server ? await validateCustomResourceDefinitionsOnServer(server, crds) : await validateCustomResourceDefinitions(crds, binary);
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
