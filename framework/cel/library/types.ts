import { create, createFileRegistry, type DescMessage, type Registry } from "@bufbuild/protobuf";
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { objectType, type CelObjectType } from "@bufbuild/cel";

/**
 * The opaque CEL types of the Kubernetes libraries (`kubernetes.Quantity`, `kubernetes.Semver`,
 * `net.IP`, `net.CIDR`, `kubernetes.URL`, `kubernetes.NamedFormat`), declared as protobuf messages with one string field
 * holding a canonical form, so the engine's equality equals the library's `Equal`
 * (k8s.io/apiserver/pkg/cel/{quantity,semver,ip,cidr,url}.go in Kubernetes v1.36).
 */
const TYPES = [
  ["kubernetes", "Quantity"],
  ["kubernetes", "Semver"],
  ["kubernetes", "URL"],
  ["kubernetes", "NamedFormat"],
  ["net", "IP"],
  ["net", "CIDR"],
] as const;

const FIELD = "kubeloop_canonical";

function file(pkg: string, names: string[]) {
  return create(FileDescriptorProtoSchema, {
    name: `kubeloop/cel/${pkg || "optional"}.proto`,
    package: pkg,
    syntax: "proto3",
    messageType: names.map((name) => ({
      name,
      field: [{ name: FIELD, jsonName: FIELD, number: 1, type: FieldDescriptorProto_Type.STRING, label: FieldDescriptorProto_Label.OPTIONAL }],
    })),
  });
}

const kubernetesFile = file("kubernetes", TYPES.filter(([p]) => p === "kubernetes").map(([, n]) => n));
const netFile = file("net", TYPES.filter(([p]) => p === "net").map(([, n]) => n));
const optionalFile = file("", ["optional_type"]);
const kubernetesRegistry = createFileRegistry(kubernetesFile, () => undefined);
const netRegistry = createFileRegistry(netFile, () => undefined);
const optionalRegistry = createFileRegistry(optionalFile, () => undefined);

/** The registry of the opaque types, for `celEnv({ registry })`. */
export const opaqueRegistry: Registry = createFileRegistry(kubernetesRegistry, netRegistry, optionalRegistry);

function desc(name: string): DescMessage {
  const d = opaqueRegistry.getMessage(name);
  if (!d) throw new Error(`kubeloop/cel: opaque type ${name} is not registered`);
  return d;
}

/** One opaque type: its CEL type and how to wrap and unwrap the canonical string. */
export interface OpaqueType {
  readonly celType: CelObjectType;
  wrap(canonical: string): ReflectMessage;
  unwrap(value: ReflectMessage): string;
}

function opaque(name: string): OpaqueType {
  const d = desc(name);
  const field = d.fields[0]!;
  return {
    celType: objectType(d),
    wrap: (canonical) => reflect(d, create(d, { [field.localName]: canonical } as never)),
    unwrap: (value) => value.get(field) as string,
  };
}

export const QuantityType = opaque("kubernetes.Quantity");
export const SemverType = opaque("kubernetes.Semver");
export const URLType = opaque("kubernetes.URL");
/** A named format of the format library; the canonical string is its name (`dns1123Label`). */
export const NamedFormatType = opaque("kubernetes.NamedFormat");
export const IPType = opaque("net.IP");
export const CIDRType = opaque("net.CIDR");
/** cel-go's `optional_type` (the value is kept beside the message; the field holds a unique id, so `==` on optionals is refused by compile). */
export const OptionalType = opaque("optional_type");
