import type { z } from "zod";
import type { CustomResourceDefinitionOf } from "../framework/api/index.ts";
import type { Manager } from "../framework/manager/index.ts";
import { ReplicaSetDefinition, setupReplicaSetController } from "./replicaset/index.ts";
import { EndpointsDefinition, EndpointSliceDefinition, setupEndpointsControllers } from "./endpoints/index.ts";

/** One sample operator: the custom resources it serves and how it wires itself into a manager. */
export interface Operator {
  /** The custom resources it defines; their CRDs are generated into `crds/`. */
  definitions: ReadonlyArray<CustomResourceDefinitionOf<z.ZodType, z.ZodType>>;
  /** Sets up its controllers (or schedulers) on `mgr`. */
  setup(mgr: Manager): void;
}

/** Every operator this process can run, by the name `--operators` takes. One entry per operator. */
export const operators: Readonly<Record<string, Operator>> = {
  replicaset: {
    definitions: [ReplicaSetDefinition],
    setup: (mgr) => {
      setupReplicaSetController(mgr);
    },
  },
  endpoints: {
    definitions: [EndpointsDefinition, EndpointSliceDefinition],
    setup: (mgr) => {
      setupEndpointsControllers(mgr);
    },
  },
};

/** The custom resource definitions of every operator. */
export const allDefinitions: ReadonlyArray<CustomResourceDefinitionOf<z.ZodType, z.ZodType>> =
  Object.values(operators).flatMap((op) => op.definitions);

/**
 * Sets up the named operators on `mgr`.
 * @throws Error naming the unknown operator and the known ones.
 */
export function setupOperators(mgr: Manager, names: readonly string[]): void {
  for (const name of names) {
    const op = operators[name];
    if (!op) throw new Error(`unknown operator ${JSON.stringify(name)}; known: ${Object.keys(operators).join(", ")}`);
    op.setup(mgr);
  }
}
