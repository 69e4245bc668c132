import type { IPod } from "kubernetes-models/v1/Pod";
import type { INode } from "kubernetes-models/v1/Node";
import type { INamespace } from "kubernetes-models/v1/Namespace";
import type { IService } from "kubernetes-models/v1/Service";
import type { IEndpoints } from "kubernetes-models/v1/Endpoints";
import type { IEvent } from "kubernetes-models/events.k8s.io/v1/Event";
import type { ILease } from "kubernetes-models/coordination.k8s.io/v1/Lease";
import type { IReplicaSet } from "kubernetes-models/apps/v1/ReplicaSet";
import type { ICustomResourceDefinition } from "kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition";
import type { IServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import { resourceType } from "./resource.ts";

export type Pod = IPod;
export type Node = INode;
export type Namespace = INamespace;
export type Service = IService;
export type Endpoints = IEndpoints;
export type Event = IEvent;
export type Lease = ILease;
export type AppsReplicaSet = IReplicaSet;
export type CustomResourceDefinition = ICustomResourceDefinition;
export type ServiceAccount = IServiceAccount;
export type ConfigMap = IConfigMap;

/** core/v1 Pods. */
export const Pods = resourceType<Pod>({ group: "", version: "v1", kind: "Pod", plural: "pods", namespaced: true });
/** core/v1 Nodes (cluster-scoped). */
export const Nodes = resourceType<Node>({ group: "", version: "v1", kind: "Node", plural: "nodes", namespaced: false });
/** core/v1 Namespaces (cluster-scoped). */
export const Namespaces = resourceType<Namespace>({ group: "", version: "v1", kind: "Namespace", plural: "namespaces", namespaced: false });
/** core/v1 Services. */
export const Services = resourceType<Service>({ group: "", version: "v1", kind: "Service", plural: "services", namespaced: true });
/** core/v1 Endpoints. */
export const EndpointsResource = resourceType<Endpoints>({ group: "", version: "v1", kind: "Endpoints", plural: "endpoints", namespaced: true });
/** core/v1 ServiceAccounts. */
export const ServiceAccounts = resourceType<ServiceAccount>({ group: "", version: "v1", kind: "ServiceAccount", plural: "serviceaccounts", namespaced: true });
/** core/v1 ConfigMaps. */
export const ConfigMaps = resourceType<ConfigMap>({ group: "", version: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true });
/** events.k8s.io/v1 Events. */
export const Events = resourceType<Event>({ group: "events.k8s.io", version: "v1", kind: "Event", plural: "events", namespaced: true });
/** coordination.k8s.io/v1 Leases. */
export const Leases = resourceType<Lease>({ group: "coordination.k8s.io", version: "v1", kind: "Lease", plural: "leases", namespaced: true });
/** apps/v1 ReplicaSets (the built-in controller's kind, used by benchmarks). */
export const AppsReplicaSets = resourceType<AppsReplicaSet>({ group: "apps", version: "v1", kind: "ReplicaSet", plural: "replicasets", namespaced: true });
/** apiextensions.k8s.io/v1 CustomResourceDefinitions (cluster-scoped). */
export const CustomResourceDefinitions = resourceType<CustomResourceDefinition>({
  group: "apiextensions.k8s.io", version: "v1", kind: "CustomResourceDefinition", plural: "customresourcedefinitions", namespaced: false,
});
