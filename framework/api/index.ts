/**
 * Custom resources from zod: one definition gives the TypeScript type, the structural
 * CustomResourceDefinition (defaults, CEL rules, printer columns, subresources) and run-time
 * validation. Mirrors what controller-tools derives from Go types and kubebuilder markers.
 *
 * ```ts
 * const Widgets = defineCustomResource({ group: "example.dev", version: "v1", kind: "Widget",
 *   plural: "widgets", scope: "Namespaced", spec: z.object({ size: z.int32().min(0).default(1) }),
 *   status: z.object({ ready: z.boolean().optional() }) });
 * client.get(Widgets.resource, key); Widgets.crd(); Widgets.parse(obj);
 * ```
 */
export {
  defineCustomResource,
  ObjectValidationError,
  type CustomObject,
  type CustomResourceDefinitionOf,
  type CustomResourceOptions,
  type FieldIssue,
  type ObjectOfDefinition,
  type PrinterColumn,
  type ScaleSubresource,
} from "./define.ts";
export { withCel, listMap, listType, atomicMap, maxProperties, opaqueObject, intOrString, type CelRule } from "./extensions.ts";
export { toStructuralSchema, structuralViolations, type JSONSchemaProps } from "./structural.ts";
export {
  labels,
  annotations,
  labelSelector,
  labelSelectorRequirement,
  nonEmptySelectorRule,
  selectorMatchesLabelsCel,
  templateMetadata,
  podTemplateSpec,
  conditions,
} from "./schemas.ts";
export { installCustomResourceDefinitions, type InstallOptions } from "./install.ts";
