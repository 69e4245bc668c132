import { z } from "zod";
import type { IEndpointSlice } from "kubernetes-models/discovery.k8s.io/v1/EndpointSlice";
import { defineCustomResource, type ObjectOfDefinition } from "../../framework/api/index.ts";
import { resourceType } from "../../framework/meta/index.ts";

/** The API group of this operator's resources. */
export const GROUP = "discovery.kubeloop.dev";

/** core/v1 `ObjectReference` as the endpoints controllers fill it: `{kind: Pod, namespace, name, uid}`. */
const objectReference = z.object({
  kind: z.string().optional(),
  namespace: z.string().optional(),
  name: z.string().optional(),
  uid: z.string().optional(),
  apiVersion: z.string().optional(),
  resourceVersion: z.string().optional(),
  fieldPath: z.string().optional(),
}).describe("The object this address belongs to (a Pod).");

/** core/v1 `EndpointAddress`. */
const endpointAddress = z.object({
  ip: z.string().describe("The IP of this endpoint."),
  hostname: z.string().optional().describe("The pod's hostname when its subdomain is the Service's name."),
  nodeName: z.string().optional().describe("The node hosting this endpoint."),
  targetRef: objectReference.optional(),
});

/** core/v1 `EndpointPort`. */
const endpointPort = z.object({
  name: z.string().optional().describe("The name of the Service port."),
  port: z.int32().describe("The port number of the endpoint."),
  protocol: z.string().optional().describe("TCP, UDP or SCTP."),
  appProtocol: z.string().optional().describe("The application protocol of this port."),
});

/** core/v1 `EndpointSubset`. */
const endpointSubset = z.object({
  addresses: z.array(endpointAddress).optional().describe("Ready addresses."),
  notReadyAddresses: z.array(endpointAddress).optional().describe("Addresses not ready (or published although not ready)."),
  ports: z.array(endpointPort).optional().describe("Ports all these addresses expose."),
});

/**
 * The definition of `discovery.kubeloop.dev/v1alpha1` Endpoints: core/v1 Endpoints, computed
 * from a Service's pods as kube-controller-manager's endpoints controller does. `spec.subsets`
 * holds what core/v1 keeps at the top level (a custom resource has spec and status only); the
 * controller writes the whole object in one request.
 */
export const EndpointsDefinition = defineCustomResource({
  group: GROUP,
  version: "v1alpha1",
  kind: "Endpoints",
  plural: "endpoints",
  singular: "endpoints",
  shortNames: ["kep"],
  scope: "Namespaced",
  description: "Endpoints of a Service, like core/v1 Endpoints: ready and not-ready pod addresses grouped by port set.",
  spec: z.object({
    subsets: z.array(endpointSubset).optional().describe("Addresses grouped by the set of ports they expose (core/v1 Endpoints.subsets)."),
  }),
  status: z.object({}),
  subresources: { status: false },
  printerColumns: [
    { name: "Endpoints", type: "string", jsonPath: ".spec.subsets[*].addresses[*].ip", description: "Ready addresses" },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
  ],
});

/** discovery.k8s.io/v1 `EndpointConditions`. */
const endpointConditions = z.object({
  ready: z.boolean().optional().describe("Serving and not terminating, or the Service publishes not-ready addresses."),
  serving: z.boolean().optional().describe("The pod's Ready condition."),
  terminating: z.boolean().optional().describe("The pod is being deleted."),
});

const forZone = z.object({ name: z.string() });
const forNode = z.object({ name: z.string() });

/** discovery.k8s.io/v1 `Endpoint`. */
const sliceEndpoint = z.object({
  addresses: z.array(z.string()).describe("The endpoint's IPs of the slice's address type."),
  conditions: endpointConditions.optional(),
  hostname: z.string().optional(),
  targetRef: objectReference.optional(),
  nodeName: z.string().optional(),
  zone: z.string().optional(),
  hints: z.object({
    forZones: z.array(forZone).optional(),
    forNodes: z.array(forNode).optional(),
  }).optional().describe("Topology hints from the Service's trafficDistribution."),
});

/** discovery.k8s.io/v1 `EndpointPort`. */
const slicePort = z.object({
  name: z.string().optional(),
  port: z.int32().optional(),
  protocol: z.string().optional(),
  appProtocol: z.string().optional(),
});

/**
 * The definition of `discovery.kubeloop.dev/v1alpha1` EndpointSlice: discovery.k8s.io/v1
 * EndpointSlice, computed as kube-controller-manager's EndpointSlice controller does; the
 * fields of the built-in kind sit under `spec`.
 */
export const EndpointSliceDefinition = defineCustomResource({
  group: GROUP,
  version: "v1alpha1",
  kind: "EndpointSlice",
  plural: "endpointslices",
  singular: "endpointslice",
  shortNames: ["keps"],
  scope: "Namespaced",
  description: "A slice of a Service's endpoints, like discovery.k8s.io/v1 EndpointSlice.",
  spec: z.object({
    addressType: z.enum(["IPv4", "IPv6", "FQDN"]).describe("The type of every address of this slice."),
    endpoints: z.array(sliceEndpoint).optional().describe("Up to maxEndpointsPerSlice endpoints."),
    ports: z.array(slicePort).optional().describe("The ports every endpoint of this slice exposes."),
  }),
  status: z.object({}),
  subresources: { status: false },
  printerColumns: [
    { name: "AddressType", type: "string", jsonPath: ".spec.addressType" },
    { name: "Ports", type: "string", jsonPath: ".spec.ports[*].port" },
    { name: "Endpoints", type: "string", jsonPath: ".spec.endpoints[*].addresses[0]" },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
  ],
});

/** `discovery.kubeloop.dev/v1alpha1` Endpoints for the client, the cache and the builder. */
export const KubeloopEndpoints = EndpointsDefinition.resource;
/** `discovery.kubeloop.dev/v1alpha1` EndpointSlices for the client, the cache and the builder. */
export const KubeloopEndpointSlices = EndpointSliceDefinition.resource;

/** A `discovery.kubeloop.dev/v1alpha1` Endpoints. */
export type EndpointsObject = ObjectOfDefinition<typeof EndpointsDefinition>;
/** A `discovery.kubeloop.dev/v1alpha1` EndpointSlice. */
export type EndpointSliceObject = ObjectOfDefinition<typeof EndpointSliceDefinition>;
/** core/v1 `EndpointSubset` (the shape both APIs share). */
export type EndpointSubset = z.output<typeof endpointSubset>;
/** core/v1 `EndpointAddress`. */
export type EndpointAddress = z.output<typeof endpointAddress>;
/** core/v1 `EndpointPort`. */
export type EndpointPort = z.output<typeof endpointPort>;
/** discovery.k8s.io/v1 `Endpoint`. */
export type SliceEndpoint = z.output<typeof sliceEndpoint>;
/** discovery.k8s.io/v1 `EndpointPort`. */
export type SlicePort = z.output<typeof slicePort>;
/** discovery.k8s.io/v1 `AddressType` as the controller uses it. */
export type AddressType = "IPv4" | "IPv6";

/** The built-in discovery.k8s.io/v1 EndpointSlice (the reference the tests compare with). */
export type BuiltinEndpointSlice = IEndpointSlice;
/** discovery.k8s.io/v1 EndpointSlices (read only: the built-in controller owns them). */
export const BuiltinEndpointSlices = resourceType<BuiltinEndpointSlice>({
  group: "discovery.k8s.io", version: "v1", kind: "EndpointSlice", plural: "endpointslices", namespaced: true,
});
