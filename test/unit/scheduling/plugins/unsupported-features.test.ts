import { test } from "node:test";
import assert from "node:assert/strict";
import { CycleState } from "../../../../framework/scheduling/framework.ts";
import { UnsupportedFeatures, unsupportedFields } from "../../../../framework/scheduling/plugins/index.ts";
import { lister, makePod, pi, type Json } from "./fixtures.ts";

const term = { labelSelector: { matchLabels: { app: "x" } }, topologyKey: "kubernetes.io/hostname" };

function check(spec: Json, plugin = new UnsupportedFeatures()) {
  return plugin.preFilter(new CycleState(), pi(makePod({ spec })), lister([])).status;
}

test("UnsupportedFeatures: each unsupported field is named, UnschedulableAndUnresolvable", () => {
  const cases: Array<[Json, string]> = [
    [{ affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } } }, "spec.affinity.podAffinity"],
    [{ affinity: { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, podAffinityTerm: term }] } } }, "spec.affinity.podAffinity"],
    [{ affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } } }, "spec.affinity.podAntiAffinity"],
    [{ topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "zone", whenUnsatisfiable: "ScheduleAnyway" }] }, "spec.topologySpreadConstraints"],
    [{ volumes: [{ name: "tmp", emptyDir: {} }, { name: "data", persistentVolumeClaim: { claimName: "c" } }] }, "spec.volumes[1].persistentVolumeClaim"],
    [{ volumes: [{ name: "scratch", ephemeral: { volumeClaimTemplate: { spec: {} } } }] }, "spec.volumes[0].ephemeral"],
    [{ resourceClaims: [{ name: "gpu", resourceClaimName: "c" }] }, "spec.resourceClaims"],
  ];
  for (const [spec, field] of cases) {
    assert.deepEqual(check(spec), { code: "UnschedulableAndUnresolvable", reasons: [`kubeloop-scheduler does not support ${field}`] }, field);
  }
});

test("UnsupportedFeatures: several fields give several reasons in a fixed order; the scheduler name is configurable", () => {
  const spec = {
    resourceClaims: [{ name: "gpu", resourceClaimName: "c" }],
    affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] }, podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } },
  };
  assert.deepEqual(check(spec, new UnsupportedFeatures({ schedulerName: "my-sched" })).reasons, [
    "my-sched does not support spec.affinity.podAffinity",
    "my-sched does not support spec.affinity.podAntiAffinity",
    "my-sched does not support spec.resourceClaims",
  ]);
});

test("UnsupportedFeatures: supported and empty constraints pass", () => {
  const ok: Json[] = [
    {},
    { affinity: { podAffinity: {}, nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } } },
    { topologySpreadConstraints: [], resourceClaims: [] },
    { volumes: [{ name: "c", configMap: { name: "x" } }, { name: "e", emptyDir: {} }, { name: "s", secret: { secretName: "s" } }] },
  ];
  for (const spec of ok) assert.deepEqual(check(spec), { code: "Success", reasons: [] }, JSON.stringify(spec));
  assert.deepEqual(unsupportedFields(makePod()), []);
});

test("UnsupportedFeatures: Pod/Update of the pod itself requeues once the fields are gone", () => {
  const [e] = new UnsupportedFeatures().eventsToRegister();
  assert.deepEqual(e!.event, { resource: "Pod", action: "Update" });
  const bad = makePod({ name: "a", spec: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "z", whenUnsatisfiable: "DoNotSchedule" }] } });
  assert.equal(e!.hint!(bad, bad, makePod({ name: "a" })), "Queue");
  assert.equal(e!.hint!(bad, bad, bad), "QueueSkip");
});
