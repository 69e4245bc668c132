import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

/** The Stage files shipped with kubeloop (node initialise and heartbeat, pod ready, complete, delete). */
export const shippedStagesDir = fileURLToPath(new URL("./kwok-stages/", import.meta.url));

/** One kwok Stage as the harness reads it: enough to check it before handing it to kwok. */
export interface KwokStage {
  name: string;
  /** `Node` or `Pod`. */
  kind: string;
  file: string;
  /** The whole parsed document. */
  document: Record<string, unknown>;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/**
 * Reads every `*.yaml` in `dir` (default: the shipped Stages) and checks each document is a
 * `kwok.x-k8s.io/v1alpha1` Stage with a name, a `resourceRef.kind` and a `next` step, so a
 * broken file fails here with its name instead of kwok ignoring it silently.
 *
 * @throws Error naming the file and document index of the first invalid Stage, or a duplicate name.
 */
export async function loadKwokStages(dir: string = shippedStagesDir): Promise<KwokStage[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".yaml")).sort();
  const stages: KwokStage[] = [];
  const names = new Set<string>();
  for (const fileName of files) {
    const file = join(dir, fileName);
    const docs = parseAllDocuments(await readFile(file, "utf8"));
    const list = Array.isArray(docs) ? docs : [docs];
    list.forEach((doc, index) => {
      const where = `${file} (document ${index})`;
      if (doc.errors.length > 0) throw new Error(`invalid YAML in ${where}: ${doc.errors[0]?.message}`);
      const object = asRecord(doc.toJS());
      if (!object) throw new Error(`${where} is not a YAML mapping`);
      if (object.apiVersion !== "kwok.x-k8s.io/v1alpha1" || object.kind !== "Stage") {
        throw new Error(`${where} is ${String(object.apiVersion)}/${String(object.kind)}, expected kwok.x-k8s.io/v1alpha1 Stage`);
      }
      const name = asRecord(object.metadata)?.name;
      const spec = asRecord(object.spec);
      const kind = asRecord(spec?.resourceRef)?.kind;
      if (typeof name !== "string" || name === "") throw new Error(`${where}: Stage has no metadata.name`);
      if (typeof kind !== "string" || kind === "") throw new Error(`${where}: Stage ${name} has no spec.resourceRef.kind`);
      if (!asRecord(spec?.next)) throw new Error(`${where}: Stage ${name} has no spec.next`);
      if (names.has(name)) throw new Error(`${where}: Stage name ${name} is used twice`);
      names.add(name);
      stages.push({ name, kind, file, document: object });
    });
  }
  return stages;
}
