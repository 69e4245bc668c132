import type { Manager } from "../framework/manager/index.ts";
import { setupReplicaSetController } from "./replicaset/index.ts";

/**
 * Every operator this process can run, by the name `--operators` takes. An entry wires one
 * operator's controllers (or schedulers) into a manager. One line per operator.
 */
export const operators: Readonly<Record<string, (mgr: Manager) => void>> = {
  replicaset: (mgr) => {
    setupReplicaSetController(mgr);
  },
};

/**
 * Sets up the named operators on `mgr`.
 * @throws Error naming the unknown operator and the known ones.
 */
export function setupOperators(mgr: Manager, names: readonly string[]): void {
  for (const name of names) {
    const setup = operators[name];
    if (!setup) throw new Error(`unknown operator ${JSON.stringify(name)}; known: ${Object.keys(operators).join(", ")}`);
    setup(mgr);
  }
}
