/**
 * `kubeloop init` and `kubeloop create api`: a new operator project, and a new API in it, as
 * kubebuilder's `init` and `create api` make them. The files are in `scaffold-templates.ts`.
 */
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Manager } from "../manager/index.ts";
import { guessResourceName } from "../meta/index.ts";
import { clusterRoleYaml, policyRulesYaml } from "../rbac/index.ts";
import * as t from "./scaffold-templates.ts";

const usage = `usage:
  kubeloop init <dir> [--name NAME] [--kubeloop SPEC]
      a new operator project in <dir> (created; must be empty): package.json depending on
      kubeloop (SPEC: a version range, or file:<tarball>; default this kubeloop's version),
      tsconfig.json, main.ts (the manager), apis/index.ts, generate.ts, .ci/run, a Helm chart
  kubeloop create api <Kind> --group GROUP --version VERSION [--dir DIR] [--operator NAME]
      a new API in the project in DIR (default .): apis/<kind>/api.ts (the zod definition),
      apis/<kind>/controller.ts (the reconciler), test/<kind>.test.ts (an e2e test), registered
      in apis/index.ts; \`npm run generate\` then writes its CRD and the chart's ClusterRole.
      In the kubeloop repository itself: a new sample operator NAME (default <kind>s):
      operators/NAME/ (api.ts, controller.ts, index.ts), test/e2e/operators/NAME.test.ts,
      registered in operators/registry.ts and the chart's values.schema.json
`;

/** This kubeloop's package.json (found by walking up from this module: the repository, or the installed package). */
async function ownPackage(): Promise<{ version: string; dependencies: Record<string, string>; devDependencies?: Record<string, string> }> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "package.json");
    if (existsSync(candidate)) {
      const pkg = JSON.parse(await readFile(candidate, "utf8")) as { name?: string; version: string; dependencies: Record<string, string>; devDependencies?: Record<string, string> };
      if (pkg.name === "kubeloop") return pkg;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error("kubeloop's package.json not found above the CLI");
    dir = up;
  }
}

/** `Widget` -> plural `widgets` (apimachinery `UnsafeGuessKindToResource`), folder `widget`, constant `WidgetDefinition`. */
export function apiNames(kind: string, group: string, version: string): t.ApiNames {
  if (!/^[A-Z][A-Za-z0-9]*$/.test(kind)) throw new Error(`kind ${JSON.stringify(kind)} must be UpperCamelCase letters and digits`);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/.test(group)) throw new Error(`group ${JSON.stringify(group)} must be a DNS subdomain with a dot, e.g. example.com`);
  if (!/^v[1-9][0-9]*((alpha|beta)[1-9][0-9]*)?$/.test(version)) throw new Error(`version ${JSON.stringify(version)} must look like v1, v1beta1 or v1alpha1`);
  return { kind, group, version, plural: guessResourceName(kind), folder: kind.toLowerCase(), constant: `${kind}Definition` };
}

async function writeNew(path: string, text: string): Promise<void> {
  if (existsSync(path)) throw new Error(`${path} exists already; not overwritten`);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

async function init(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { name: { type: "string" }, kubeloop: { type: "string" } } });
  if (positionals.length !== 1) {
    process.stderr.write(usage);
    return 2;
  }
  const dir = resolve(positionals[0]!);
  const name = values.name ?? basename(dir);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) throw new Error(`project name ${JSON.stringify(name)} must be a DNS label (lowercase letters, digits, '-')`);
  const own = await ownPackage();
  const dev = own.devDependencies ?? {};
  await writeNew(join(dir, "package.json"), t.packageJson(name, {
    kubeloop: values.kubeloop ?? `^${own.version}`, zod: own.dependencies["zod"]!, yaml: own.dependencies["yaml"]!,
    typescript: dev["typescript"] ?? "^5.9.3", typesNode: dev["@types/node"] ?? "^24.0.0",
  }));
  await writeNew(join(dir, "tsconfig.json"), t.tsconfigJson);
  await writeNew(join(dir, "main.ts"), t.mainTs);
  await writeNew(join(dir, "apis", "index.ts"), t.apisIndexTs);
  await writeNew(join(dir, "generate.ts"), t.generateTs(name));
  await writeNew(join(dir, ".ci", "run"), t.ciRun);
  await chmod(join(dir, ".ci", "run"), 0o755);
  await writeNew(join(dir, "README.md"), t.readme(name));
  await writeNew(join(dir, ".gitignore"), "node_modules/\n.kubeloop/\n");
  await writeNew(join(dir, "charts", name, "Chart.yaml"), t.chartYaml(name));
  await writeNew(join(dir, "charts", name, "values.yaml"), t.chartValues(name));
  await writeNew(join(dir, "charts", name, "templates", "deployment.yaml"), t.chartDeployment(name));
  await writeNew(join(dir, "charts", name, "templates", "rbac.yaml"), t.chartRbac(policyRulesYaml(Manager.leaderElectionRules())));
  await writeNew(join(dir, t.clusterRolePath(name)), clusterRoleYaml("{{ .Release.Name }}", Manager.policyRulesOf(() => {}), t.CLUSTER_ROLE_COMMENT));
  process.stdout.write(`created ${name} in ${dir}; next: cd ${dir} && npm install && npx kubeloop create api <Kind> --group <group> --version v1alpha1\n`);
  return 0;
}

/** Inserts `line` before the line holding `marker` in `path`. @throws Error when the marker is missing. */
async function insertAtMarker(path: string, marker: string, line: string): Promise<void> {
  const text = await readFile(path, "utf8");
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`${path}: the marker ${JSON.stringify(marker.trim())} is missing; add the API by hand`);
  const lineStart = text.lastIndexOf("\n", at) + 1;
  await writeFile(path, text.slice(0, lineStart) + line + text.slice(lineStart));
}

async function createApi(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { group: { type: "string" }, version: { type: "string" }, dir: { type: "string", default: "." }, operator: { type: "string" } },
  });
  if (positionals[0] !== "api" || positionals.length !== 2 || !values.group || !values.version) {
    process.stderr.write(usage);
    return 2;
  }
  const api = apiNames(positionals[1]!, values.group, values.version);
  const dir = resolve(values.dir);
  if (existsSync(join(dir, "operators", "registry.ts"))) return createSampleOperator(dir, api, values.operator ?? api.plural);
  const index = join(dir, "apis", "index.ts");
  if (!existsSync(index)) throw new Error(`${index} not found: run kubeloop create api in a project made by kubeloop init (or pass --dir)`);
  await writeNew(join(dir, "apis", api.folder, "api.ts"), t.apiTs(api));
  await writeNew(join(dir, "apis", api.folder, "controller.ts"), t.controllerTs(api));
  await writeNew(join(dir, "test", `${api.folder}.test.ts`), t.e2eTestTs(api));
  await insertAtMarker(index, t.IMPORTS_MARKER, `import { ${api.constant} } from "./${api.folder}/api.ts";\nimport { setup${api.kind}Controller } from "./${api.folder}/controller.ts";\n`);
  await insertAtMarker(index, t.DEFINITIONS_MARKER, `  ${api.constant},\n`);
  await insertAtMarker(index, t.SETUP_MARKER, `  setup${api.kind}Controller(mgr);\n`);
  process.stdout.write(`created ${api.kind} (${api.plural}.${api.group}/${api.version}): apis/${api.folder}/, test/${api.folder}.test.ts; next: npm run generate (its CRD and the chart's ClusterRole) && npm test\n`);
  return 0;
}

/**
 * `create api` inside the kubeloop repository: a sample operator in `operators/<operator>/`, its
 * e2e test, its entry in `operators/registry.ts` (at the markers) and in the chart's
 * `values.schema.json`. `npm run generate` then writes its CRD and its RBAC rules.
 * @throws Error for a bad operator name, an existing file or a missing marker.
 */
async function createSampleOperator(dir: string, api: t.ApiNames, operator: string): Promise<number> {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(operator)) throw new Error(`operator name ${JSON.stringify(operator)} must be a DNS label (lowercase letters, digits, '-')`);
  const folder = join("operators", operator);
  if (existsSync(join(dir, folder))) throw new Error(`${join(dir, folder)} exists already; choose another --operator`);
  await writeNew(join(dir, folder, "api.ts"), t.inRepository(t.apiTs(api), folder, api, operator));
  await writeNew(join(dir, folder, "controller.ts"), t.inRepository(t.controllerTs(api), folder, api, operator));
  await writeNew(join(dir, folder, "index.ts"), t.operatorIndexTs(api));
  const testFolder = join("test", "e2e", "operators");
  await writeNew(join(dir, testFolder, `${operator}.test.ts`), t.inRepository(t.e2eTestTs(api), testFolder, api, operator));
  const registry = join(dir, "operators", "registry.ts");
  await insertAtMarker(registry, t.REGISTRY_IMPORTS_MARKER, `import { ${api.constant}, setup${api.kind}Controller } from "./${operator}/index.ts";\n`);
  await insertAtMarker(registry, t.REGISTRY_OPERATORS_MARKER, t.registryEntry(api, operator));
  const schemaPath = join(dir, "charts", "kubeloop", "values.schema.json");
  const schema = JSON.parse(await readFile(schemaPath, "utf8")) as { properties: { operators: { items: { enum: string[] } } } };
  schema.properties.operators.items.enum.push(operator);
  await writeFile(schemaPath, JSON.stringify(schema, null, 2) + "\n");
  process.stdout.write(`created the ${operator} sample operator (${api.kind}, ${api.plural}.${api.group}/${api.version}): ${folder}/, ${testFolder}/${operator}.test.ts; ` +
    "next: npm run generate, then node test/run.ts " + `${testFolder}/${operator}.test.ts\n`);
  return 0;
}

/** `init` and `create api`; resolves to the exit code (0 ok, 2 usage). @throws Error for a bad name or an existing file. */
export async function runScaffoldCommand(command: "init" | "create", argv: string[]): Promise<number> {
  try {
    return command === "init" ? await init(argv) : await createApi(argv);
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`${(err as Error).message}\n\n${usage}`);
      return 2;
    }
    throw err;
  }
}
