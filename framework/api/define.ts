import { z } from "zod";
import type { ICustomResourceDefinition } from "kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition";
import { resourceType, type KubeObject, type ObjectMeta, type ResourceType } from "../meta/index.ts";
import type { CelRule } from "./extensions.ts";
import { celRuleProblems } from "./cel-rules.ts";
import { toStructuralSchema, type JSONSchemaProps } from "./structural.ts";

/**
 * The object type of a custom resource: `{ apiVersion, kind, metadata?, spec, status? }` with
 * `spec` and `status` as zod *outputs* (defaults applied), which is what the API server returns
 * once its structural defaulting has run.
 */
export interface CustomObject<Spec, Status> extends KubeObject {
  apiVersion: string;
  kind: string;
  metadata?: ObjectMeta;
  spec: Spec;
  status?: Status;
}

/** One `additionalPrinterColumns` entry: a column of `kubectl get`. */
export interface PrinterColumn {
  name: string;
  type: "integer" | "number" | "string" | "boolean" | "date";
  /** JSON path into the object, e.g. `.status.readyReplicas`. */
  jsonPath: string;
  description?: string;
  format?: string;
  /** 0 (default) shows in `kubectl get`; higher only with `-o wide`. */
  priority?: number;
}

/** The scale subresource: paths of `.spec.replicas`, `.status.replicas` and the selector string. */
export interface ScaleSubresource {
  specReplicasPath: string;
  statusReplicasPath: string;
  /** Path of a *string* label selector in status (e.g. `.status.selector`), used by the HPA. */
  labelSelectorPath?: string;
}

/** What `defineCustomResource` takes. `spec` and `status` are zod object schemas. */
export interface CustomResourceOptions<Spec extends z.ZodType, Status extends z.ZodType> {
  group: string;
  version: string;
  kind: string;
  /** Lower-case plural used in URLs, e.g. `replicasets`. */
  plural: string;
  /** Lower-case singular; defaults to the lower-cased kind. */
  singular?: string;
  shortNames?: string[];
  /** `kubectl get <category>` groups, e.g. `["all"]`. */
  categories?: string[];
  scope: "Namespaced" | "Cluster";
  /** Description of the whole object in the CRD schema. */
  description?: string;
  spec: Spec;
  status: Status;
  printerColumns?: PrinterColumn[];
  /** `status` defaults to true; `scale` adds `/scale`. */
  subresources?: { status?: boolean; scale?: ScaleSubresource };
  /** CEL rules on the whole object (`self` is the object; use for rules across metadata and spec). */
  validations?: CelRule[];
}

/** One path and message of a failed `parse`. */
export interface FieldIssue {
  /** JSON path, e.g. `spec.selector.matchLabels`. */
  path: string;
  message: string;
}

/** Thrown by `CustomResourceDefinitionOf.parse` with every failing field. */
export class ObjectValidationError extends Error {
  readonly issues: FieldIssue[];
  constructor(what: string, issues: FieldIssue[]) {
    super(`${what} is invalid:\n${issues.map((i) => `  ${i.path || "<root>"}: ${i.message}`).join("\n")}`);
    this.name = "ObjectValidationError";
    this.issues = issues;
  }
}

/** A custom resource defined from zod: its ResourceType, its CRD and its validation. */
export interface CustomResourceDefinitionOf<Spec extends z.ZodType, Status extends z.ZodType> {
  /** GVK + REST mapping carrying the object type, for the client, the cache and the builder. */
  readonly resource: ResourceType<CustomObject<z.output<Spec>, z.output<Status>>>;
  /** The options this definition was made from. */
  readonly options: Readonly<CustomResourceOptions<Spec, Status>>;
  /** The zod schema of the whole object (apiVersion and kind are checked literally). */
  readonly schema: z.ZodType<CustomObject<z.output<Spec>, z.output<Status>>>;
  /** `<plural>.<group>`: the CRD's name. */
  readonly name: string;
  /**
   * The apiextensions.k8s.io/v1 CustomResourceDefinition (one served, stored version).
   * @throws Error when the schema has no structural form (see `toStructuralSchema`), or when a
   *   CEL rule does not compile (each rule's path, expression, position and reason listed).
   */
  crd(): ICustomResourceDefinition;
  /**
   * Validates `value` against the zod schemas and returns it with defaults applied.
   * CEL rules are not evaluated (the API server does that).
   * @throws ObjectValidationError listing every failing path.
   */
  parse(value: unknown): CustomObject<z.output<Spec>, z.output<Status>>;
  /** Builds an object of this kind from `metadata` and a spec input (defaults applied, apiVersion and kind set). @throws ObjectValidationError */
  make(input: { metadata: ObjectMeta; spec: z.input<Spec>; status?: z.input<Status> }): CustomObject<z.output<Spec>, z.output<Status>>;
}

/** The object type of a definition: `ObjectOfDefinition<typeof ReplicaSetDefinition>`. */
export type ObjectOfDefinition<D> = D extends CustomResourceDefinitionOf<infer Spec, infer Status> ? CustomObject<z.output<Spec>, z.output<Status>> : never;

/**
 * Defines a custom resource from zod schemas of its spec and status: one source for the
 * TypeScript type, the CRD (structural schema, defaults, CEL rules, printer columns,
 * subresources) and run-time validation. Mirrors what controller-tools derives from Go types
 * and `+kubebuilder` markers.
 */
export function defineCustomResource<Spec extends z.ZodType, Status extends z.ZodType>(
  options: CustomResourceOptions<Spec, Status>,
): CustomResourceDefinitionOf<Spec, Status> {
  type T = CustomObject<z.output<Spec>, z.output<Status>>;
  const apiVersion = `${options.group}/${options.version}`;
  const resource = resourceType<T>({
    group: options.group,
    version: options.version,
    kind: options.kind,
    plural: options.plural,
    namespaced: options.scope === "Namespaced",
  });
  const schema = z.object({
    apiVersion: z.literal(apiVersion),
    kind: z.literal(options.kind),
    metadata: z.custom<ObjectMeta>((v) => typeof v === "object" && v !== null && !Array.isArray(v), { message: "expected an object" }).optional(),
    spec: options.spec,
    status: options.status.optional(),
  }) as unknown as z.ZodType<T>;
  const name = `${options.plural}.${options.group}`;
  const what = `${options.kind}.${options.version}.${options.group}`;

  function parse(value: unknown): T {
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    const meta = (value as { metadata?: ObjectMeta } | null)?.metadata;
    const key = meta?.name ? ` ${meta.namespace ? `${meta.namespace}/` : ""}${meta.name}` : "";
    throw new ObjectValidationError(
      `${what}${key}`,
      result.error.issues.map((issue) => ({ path: issue.path.map(String).join("."), message: issue.message })),
    );
  }

  function crd(): ICustomResourceDefinition {
    const specSchema = toStructuralSchema(options.spec, `${what} .spec`);
    const statusSchema = toStructuralSchema(options.status, `${what} .status`);
    const specRequired = !options.spec.safeParse(undefined).success;
    const root: JSONSchemaProps = {
      type: "object",
      ...(options.description ? { description: options.description } : {}),
      properties: {
        apiVersion: { type: "string", description: "APIVersion defines the versioned schema of this representation of an object." },
        kind: { type: "string", description: "Kind is a string value representing the REST resource this object represents." },
        metadata: { type: "object" },
        spec: specSchema,
        status: statusSchema,
      },
      ...(specRequired ? { required: ["spec"] } : {}),
      ...(options.validations?.length ? { "x-kubernetes-validations": options.validations } : {}),
    };
    const problems = celRuleProblems(root, what);
    if (problems.length > 0) throw new Error(`CEL rules of ${what} are invalid:\n  ${problems.join("\n  ")}`);
    const subresources: Record<string, unknown> = {};
    if (options.subresources?.status ?? true) subresources.status = {};
    if (options.subresources?.scale) subresources.scale = { ...options.subresources.scale };
    return {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name },
      spec: {
        group: options.group,
        names: {
          kind: options.kind,
          listKind: `${options.kind}List`,
          plural: options.plural,
          singular: options.singular ?? options.kind.toLowerCase(),
          ...(options.shortNames?.length ? { shortNames: [...options.shortNames] } : {}),
          ...(options.categories?.length ? { categories: [...options.categories] } : {}),
        },
        scope: options.scope,
        versions: [
          {
            name: options.version,
            served: true,
            storage: true,
            schema: { openAPIV3Schema: root },
            ...(Object.keys(subresources).length ? { subresources } : {}),
            ...(options.printerColumns?.length ? { additionalPrinterColumns: options.printerColumns.map((c) => ({ ...c })) } : {}),
          },
        ],
      },
    };
  }

  return {
    resource,
    options,
    schema,
    name,
    crd,
    parse,
    make(input) {
      return parse({ apiVersion, kind: options.kind, ...input });
    },
  };
}
