import type { EndpointAddress, EndpointPort, EndpointSubset } from "./api.ts";
import {
  canonicalIp, findPort, isIpv6String, isPodReady, isServiceIpSet, podIps, shouldPodBeInEndpoints, shouldSetHostname,
  type PodLike, type ServiceLike,
} from "./pods.ts";
import { repackSubsets } from "./repack.ts";

/** Label of a headless Service's Endpoints and slices. */
export const HEADLESS_LABEL = "service.kubernetes.io/headless";

/**
 * The address of `pod` for the Endpoints of `service`, or undefined when the pod has no IP of
 * the Service's family: `spec.ipFamilies[0]`, else the family of the cluster IP, else (headless)
 * of the pod IP. `nodeName` is always set (possibly empty), `hostname` when the pod's subdomain
 * is the Service's name. Mirrors `podToEndpointAddressForService` in `pkg/controller/endpoint` v1.36.
 */
export function podToEndpointAddress(service: ServiceLike, pod: PodLike): EndpointAddress | undefined {
  let ipv6: boolean;
  const families = service.spec?.ipFamilies ?? [];
  if (families.length > 0) ipv6 = families[0] === "IPv6";
  else if (isServiceIpSet(service)) ipv6 = isIpv6String(service.spec!.clusterIP!);
  else ipv6 = isIpv6String(pod.status?.podIP ?? "");
  const ip = podIps(pod).find((candidate) => isIpv6String(candidate) === ipv6);
  if (ip === undefined) return undefined;
  return {
    ip: canonicalIp(ip),
    ...(shouldSetHostname(pod, service) ? { hostname: pod.spec!.hostname! } : {}),
    nodeName: pod.spec?.nodeName ?? "",
    targetRef: { kind: "Pod", namespace: pod.metadata?.namespace ?? "", name: pod.metadata?.name ?? "", uid: pod.metadata?.uid ?? "" },
  };
}

/** What `desiredSubsets` computes: the repacked subsets and the counts before repacking. */
export interface DesiredSubsets {
  subsets: EndpointSubset[];
  readyCount: number;
  notReadyCount: number;
}

/**
 * The subsets of `service`'s Endpoints given the pods its selector matches: steps 6-10 of
 * `syncService` in `pkg/controller/endpoint` v1.36. A pod goes in when `shouldPodBeInEndpoints`
 * (terminating pods only with `publishNotReadyAddresses`) and it has an IP of the Service's
 * family; per Service port, when the target port resolves on it; ready when the Service
 * publishes not-ready addresses or the pod is Ready. A headless Service without ports gets its
 * addresses without ports; any other Service without ports gets none.
 */
export function desiredSubsets(service: ServiceLike, pods: readonly PodLike[]): DesiredSubsets {
  const publishNotReady = service.spec?.publishNotReadyAddresses ?? false;
  const ports = service.spec?.ports ?? [];
  const subsets: EndpointSubset[] = [];
  let readyCount = 0;
  let notReadyCount = 0;
  const add = (pod: PodLike, address: EndpointAddress, port: EndpointPort | undefined): void => {
    const portList = port ? [port] : [];
    if (publishNotReady || isPodReady(pod)) {
      subsets.push({ addresses: [address], ports: portList });
      readyCount++;
    } else {
      subsets.push({ notReadyAddresses: [address], ports: portList });
      notReadyCount++;
    }
  };
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue;
    const address = podToEndpointAddress(service, pod);
    if (!address) continue;
    if (ports.length === 0) {
      if (service.spec?.clusterIP === "None") add(pod, address, undefined);
      continue;
    }
    for (const servicePort of ports) {
      const port = findPort(pod, servicePort);
      if (port === undefined) continue;
      add(pod, address, {
        ...(servicePort.name ? { name: servicePort.name } : {}),
        port,
        protocol: servicePort.protocol ?? "TCP",
        ...(servicePort.appProtocol !== undefined ? { appProtocol: servicePort.appProtocol } : {}),
      });
    }
  }
  return { subsets: repackSubsets(subsets), readyCount, notReadyCount };
}

/**
 * The labels an Endpoints of `service` carries: the Service's labels, `HEADLESS_LABEL: ""` when
 * it has no cluster IP, and `managedBy` (upstream: `endpoints.kubernetes.io/managed-by:
 * endpoint-controller`).
 */
export function endpointsLabels(service: ServiceLike, managedBy: Readonly<Record<string, string>>): Record<string, string> {
  const labels: Record<string, string> = { ...service.metadata?.labels };
  if (!isServiceIpSet(service)) labels[HEADLESS_LABEL] = "";
  else delete labels[HEADLESS_LABEL];
  return { ...labels, ...managedBy };
}

/**
 * Whether an Endpoints' labels are what `endpointsLabels` gives: every label but the headless
 * one and the managed-by ones equals the Service's, none missing, and the managed-by labels
 * are set. Mirrors the label part of the no-write check of `syncService`.
 */
export function labelsCorrect(current: Readonly<Record<string, string>> | undefined, service: ServiceLike, managedBy: Readonly<Record<string, string>>): boolean {
  const cur: Record<string, string> = { ...current };
  delete cur[HEADLESS_LABEL];
  for (const [k, v] of Object.entries(managedBy)) {
    if (cur[k] !== v) return false;
    delete cur[k];
  }
  const want: Record<string, string> = { ...service.metadata?.labels };
  for (const k of Object.keys(managedBy)) delete want[k];
  delete want[HEADLESS_LABEL];
  const keys = Object.keys(want);
  return keys.length === Object.keys(cur).length && keys.every((k) => cur[k] === want[k]);
}
