/**
 * `npm run build` (and `npm pack`, through `prepack`): compiles `framework/` into `dist/framework/`
 * as the npm package ships it: JavaScript with `.d.ts` files and source maps (`tsconfig.build.json`,
 * relative `.ts` imports rewritten to `.js`), plus the files the test harness reads at run time
 * (`framework/testing/kwok-stages/`, the Go modules in `framework/testing/toolchain/`), and makes
 * the CLI (`bin: kubeloop`) executable. `dist/` is wiped first.
 * @throws (exit code 1) when the TypeScript compiler reports an error.
 */
import { spawnSync } from "node:child_process";
import { chmod, cp, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const dist = join(root, "dist");
/** Files that are not TypeScript but are read at run time, relative to the repository root. */
const runtimeAssets = ["framework/testing/kwok-stages", "framework/testing/toolchain"];

await rm(dist, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.build.json")], { stdio: "inherit" });
if (tsc.status !== 0) {
  process.stderr.write(`build: tsc failed (exit ${tsc.status ?? tsc.signal})\n`);
  process.exit(1);
}
for (const asset of runtimeAssets) await cp(join(root, asset), join(dist, asset), { recursive: true });
await chmod(join(dist, "framework", "cli", "main.js"), 0o755);
process.stdout.write(`build: dist/framework written\n`);
