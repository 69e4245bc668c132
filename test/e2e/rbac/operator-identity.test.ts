/**
 * The identity the operators' e2e suites run their operators as (`operatorClient`): the API
 * server sees the chart's ServiceAccount of a release with just that operator, allows what the
 * operator's generated rules grant and refuses the rest. Were the suites to fall back to the
 * test's admin credentials, a missing rule could not fail them; this test fails instead.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { isForbidden, type KubeClient } from "../../../framework/client/index.ts";
import { resourceType, type KubeObject } from "../../../framework/meta/index.ts";
import { testEnvironment, type TestEnvironment } from "../../../framework/testing/index.ts";
import { operators } from "../../../operators/registry.ts";
import { OPERATOR_IDENTITY_NAMESPACE, operatorClient } from "../support/chart-rbac.ts";
import { selfSubject } from "../support/self-subject.ts";

/** Nothing any operator is granted: the identity must be refused it. */
const Secrets = resourceType<KubeObject>({ group: "", version: "v1", kind: "Secret", plural: "secrets", namespaced: true });

let env: TestEnvironment;
before(async () => { env = await testEnvironment(); });
after(() => env?.client.close());

for (const name of Object.keys(operators)) {
  test(`operator ${name} in the e2e suites acts as the chart's ServiceAccount, allowed its own rules only`, async (t) => {
    if (process.env.KUBELOOP_E2E_OPERATOR_IDENTITY === "admin") {
      t.skip("KUBELOOP_E2E_OPERATOR_IDENTITY=admin: the suites run their operators with the test's credentials");
      return;
    }
    const client: KubeClient = await operatorClient(env, name);
    try {
      assert.equal((await selfSubject(client)).username, `system:serviceaccount:${OPERATOR_IDENTITY_NAMESPACE}:e2e-${name}-kubeloop`);
      await assert.rejects(client.list(Secrets, {}), (err: unknown) => isForbidden(err), "secrets are granted to no operator");
      // Its own custom resources it lists (its informers do).
      for (const definition of operators[name]!.definitions) {
        assert.ok(Array.isArray((await client.list(definition.resource, {})).items), `${name} lists ${definition.resource.plural}`);
      }
    } finally {
      client.close();
    }
  });
}
