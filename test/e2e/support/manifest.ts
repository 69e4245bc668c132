/** Rendered manifests (`helm template`, `helm get manifest`) as objects the client can create, get and delete. */
import YAML from "yaml";
import { guessResourceName, resourceType, type KubeObject, type ResourceType } from "../../../framework/meta/index.ts";

/** The objects of a multi-document YAML text, empty documents left out. */
export function manifestObjects(text: string): KubeObject[] {
  return YAML.parseAllDocuments(text).map((d) => d.toJS() as KubeObject | null).filter((o): o is KubeObject => o !== null);
}

/**
 * The resource type of a manifest object: group and version from its apiVersion, the plural
 * guessed from its kind (the charts' kinds all have regular plurals), namespaced when it names a
 * namespace.
 */
export function manifestResourceType(obj: KubeObject): ResourceType<KubeObject> {
  const [group, version] = obj.apiVersion!.includes("/") ? obj.apiVersion!.split("/") as [string, string] : ["", obj.apiVersion!];
  return resourceType<KubeObject>({ group, version, kind: obj.kind!, plural: guessResourceName(obj.kind!), namespaced: obj.metadata?.namespace !== undefined });
}
