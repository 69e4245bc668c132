/**
 * The object model every part of kubeloop shares: objects, keys, resource types (GVK + REST
 * mapping) and the built-in types. Nothing here talks to a cluster.
 */
export * from "./object.ts";
export * from "./resource.ts";
export * from "./builtin.ts";
export * from "./labels.ts";
export { isDNS1123Label, isDNS1123Subdomain, isDNS1035Label, nameIsDNSLabel, nameIsDNSSubdomain, nameIsDNS1035Label } from "./dns-names.ts";
export * from "./deep-readonly.ts";
export * from "./resource-version.ts";
