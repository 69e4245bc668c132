#!/usr/bin/env node
/**
 * The kubeloop command line: `kubeloop <command> [args]` where the package is installed (its
 * `bin`), `node framework/cli/main.ts <command> [args]` in this repository.
 * A thin dispatcher: each command lives in its own module, loaded only when used.
 */

/** A command: gets the arguments after its name, resolves to the process exit code. */
type Command = { summary: string; run: (argv: string[]) => Promise<number> };

const commands: Record<string, Command> = {
  cluster: {
    summary: "cluster up|down|status: a local Kubernetes control plane with kwok nodes",
    run: async (argv) => (await import("./cluster.ts")).runClusterCommand(argv),
  },
  init: {
    summary: "init <dir>: a new operator project (package.json, manager, generate, chart, .ci/run)",
    run: async (argv) => (await import("./scaffold.ts")).runScaffoldCommand("init", argv),
  },
  create: {
    summary: "create api <Kind> --group G --version V: a new API (definition, reconciler, e2e test)",
    run: async (argv) => (await import("./scaffold.ts")).runScaffoldCommand("create", argv),
  },
  policy: {
    summary: "policy test <policies> <objects>: ValidatingAdmissionPolicy verdicts offline, with the API server's messages",
    run: async (argv) => (await import("./policy.ts")).runPolicyCommand(argv),
  },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: kubeloop <command> [options]\n\ncommands:\n${lines.join("\n")}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 2;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
