import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, lstat, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import {
  allComponents,
  buildsFor,
  cachedPathOf,
  cacheEntryOf,
  componentVersions,
  defaultBinaryCacheDir,
  ensureBinaries,
  goBuildPlan,
  multiCallComponents,
} from "../../../framework/testing/binaries.ts";

const run = promisify(execFile);
const toolchain = new URL("../../../framework/testing/toolchain/", import.meta.url);

async function executable(path: string, body = "#!/bin/sh\n"): Promise<void> {
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(path, body);
  await chmod(path, 0o755);
}

function ldflagsOf(args: readonly string[]): string {
  return args[args.indexOf("-ldflags") + 1] ?? "";
}

describe("build plan", () => {
  it("builds the control plane in two go invocations, without kubectl or helm", () => {
    assert.deepEqual([...allComponents].sort(), ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]);
    assert.deepEqual(buildsFor(allComponents), ["kubernetes", "etcd"]);
    assert.deepEqual(buildsFor(["kwok"]), ["kubernetes"]);
    assert.deepEqual(buildsFor(["kube-scheduler", "kube-apiserver"]), ["kubernetes"]);
    assert.deepEqual(buildsFor(["kubectl"]), ["kubectl"]);
    assert.deepEqual(buildsFor(["helm"]), ["helm"]);
  });

  it("builds the multi-call binary and kwok in one go build of the Kubernetes module, versions stamped", () => {
    const plan = goBuildPlan("kubernetes", "/out");
    assert.equal(plan.module, "kubernetes");
    assert.equal(plan.env.CGO_ENABLED, "0");
    assert.equal(plan.env.GOTOOLCHAIN, "local");
    assert.ok(plan.args.includes("-trimpath"));
    assert.equal(plan.args[0], "build");
    // A directory output ("/out/") so go writes one executable per main package.
    assert.equal(plan.args[plan.args.indexOf("-o") + 1], "/out/");
    assert.deepEqual(plan.args.slice(-2), [".", "sigs.k8s.io/kwok/cmd/kwok"]);
    const ldflags = ldflagsOf(plan.args);
    assert.match(ldflags, /-X k8s\.io\/component-base\/version\.gitVersion=v1\.36\.3 /);
    assert.match(ldflags, /gitMajor=1 /);
    assert.match(ldflags, /gitMinor=36 /);
    assert.match(ldflags, /gitTreeState=clean/);
    assert.match(ldflags, /-X sigs\.k8s\.io\/kwok\/pkg\/consts\.Version=v0\.8\.0\b/);
  });

  it("builds kubectl from the same module with the same version stamp, and helm with go install", () => {
    const kubectl = goBuildPlan("kubectl", "/out/kubectl");
    assert.equal(kubectl.module, "kubernetes");
    assert.equal(kubectl.args.at(-1), "k8s.io/kubernetes/cmd/kubectl");
    assert.equal(ldflagsOf(kubectl.args), ldflagsOf(goBuildPlan("kubernetes", "/out").args));
    const helm = goBuildPlan("helm", "/gobin");
    assert.equal(helm.module, undefined);
    assert.equal(helm.env.GOBIN, "/gobin");
    assert.equal(helm.args.at(-1), `helm.sh/helm/v3/cmd/helm@${componentVersions.helm}`);
  });

  it("keeps kube-apiserver, kube-controller-manager, kube-scheduler, validate-crd, typecheck-policy and kwok in one cache entry named apart from the old one-file-per-component layout", () => {
    const entry = cacheEntryOf("kubernetes");
    for (const c of [...multiCallComponents, "kwok"] as const) assert.equal(cachedPathOf(c, "/cache"), join("/cache", entry, c));
    assert.match(entry, /v1\.36\.3/);
    assert.match(entry, /v0\.8\.0/);
    for (const old of ["kube-apiserver-v1.36.3", "kube-controller-manager-v1.36.3", "kube-scheduler-v1.36.3", "kwok-v0.8.0"]) assert.notEqual(entry, old);
    assert.equal(cachedPathOf("etcd", "/cache"), "/cache/etcd-v3.6.10");
    assert.equal(cachedPathOf("kubectl", "/cache"), "/cache/kubectl-v1.36.3");
  });

  it("pins the same versions as the toolchain modules, and the multi-call main answers to the names the harness links", async () => {
    const kubernetes = await readFile(new URL("kubernetes/go.mod", toolchain), "utf8");
    const etcd = await readFile(new URL("etcd/go.mod", toolchain), "utf8");
    const esc = (v: string): string => v.replaceAll(".", "\\.");
    assert.match(kubernetes, new RegExp(`^(?:require |\\t)k8s\\.io/kubernetes ${esc(componentVersions.kubernetes)}$`, "m"));
    assert.match(kubernetes, new RegExp(`^(?:require |\\t)sigs\\.k8s\\.io/kwok ${esc(componentVersions.kwok)}$`, "m"));
    assert.match(etcd, new RegExp(`require go\\.etcd\\.io/etcd/server/v3 ${esc(componentVersions.etcd)}\\b`));
    const main = await readFile(new URL("kubernetes/main.go", toolchain), "utf8");
    const names = [...main.matchAll(/^\t"([a-z-]+)":/gm)].map((m) => m[1]);
    assert.deepEqual(names.sort(), [...multiCallComponents].sort());
  });
});

describe("ensureBinaries", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "kubeloop-binaries-"));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("caches under XDG_CACHE_HOME/kubeloop/bin", () => {
    assert.equal(defaultBinaryCacheDir({ XDG_CACHE_HOME: "/x" }), "/x/kubeloop/bin");
  });

  it("takes etcd, kube-apiserver and kubectl from KUBEBUILDER_ASSETS and the rest from the cache, without building", async () => {
    const assets = join(root, "assets");
    const cache = join(root, "cache");
    for (const c of ["etcd", "kube-apiserver", "kubectl"]) await executable(join(assets, c));
    for (const c of ["kube-controller-manager", "kube-scheduler", "kwok"] as const) await executable(cachedPathOf(c, cache));
    const lines: string[] = [];
    // PATH without go: any build would throw.
    const paths = await ensureBinaries({
      cacheDir: cache,
      components: [...allComponents, "kubectl"],
      env: { KUBEBUILDER_ASSETS: assets, PATH: "" },
      onProgress: (l) => lines.push(l),
    });
    assert.equal(paths.etcd, join(assets, "etcd"));
    assert.equal(paths["kube-apiserver"], join(assets, "kube-apiserver"));
    assert.equal(paths.kubectl, join(assets, "kubectl"));
    assert.equal(paths["kube-scheduler"], cachedPathOf("kube-scheduler", cache));
    assert.equal(paths.kwok, cachedPathOf("kwok", cache));
    assert.ok(lines.some((l) => l.includes("using etcd from KUBEBUILDER_ASSETS")));
  });

  it("does not take a cache of the old one-file-per-component layout for the new one", async () => {
    const cache = join(root, "old-cache");
    for (const f of ["etcd-v3.6.10", "kube-apiserver-v1.36.3", "kube-controller-manager-v1.36.3", "kube-scheduler-v1.36.3", "kubectl-v1.36.3", "kwok-v0.8.0"]) {
      await executable(join(cache, f));
    }
    const etcd = await ensureBinaries({ cacheDir: cache, components: ["etcd"], env: { PATH: "" } });
    assert.equal(etcd.etcd, join(cache, "etcd-v3.6.10"), "etcd's entry is unchanged");
    await assert.rejects(
      ensureBinaries({ cacheDir: cache, components: ["kube-apiserver"], env: { PATH: join(root, "no-such-dir") } }),
      /needs the Go toolchain/,
      "the old kube-apiserver file must not be reused: a build is due",
    );
  });

  it("says Go is needed when a build is due and go is not on PATH", async () => {
    await assert.rejects(
      ensureBinaries({ cacheDir: join(root, "empty"), components: ["kwok"], env: { PATH: join(root, "no-such-dir") } }),
      /needs the Go toolchain \(go 1\.26 or newer\) on PATH/,
    );
  });

  it("runs one go build for the control plane's Kubernetes programs, links the multi-call names, and reuses the entry afterwards", async () => {
    // A stand-in `go` that logs its arguments and writes, for `build -o DIR/`, executables
    // that print the name they were started under.
    const bin = join(root, "fake-go");
    const log = join(root, "go-invocations.log");
    await executable(
      join(bin, "go"),
      `#!/bin/sh
if [ "$1" = env ]; then echo go1.26.8; exit 0; fi
echo "$*" >> "${log}"
while [ "$#" -gt 0 ]; do
  if [ "$1" = -o ]; then out="$2"; fi
  shift
done
case "$out" in
  */) for p in kubernetes kwok; do printf '#!/bin/sh\\nbasename "$0"\\n' > "$out$p"; done ;;
  *) printf '#!/bin/sh\\nbasename "$0"\\n' > "$out" ;;
esac
`,
    );
    const cache = join(root, "fake-cache");
    const env = { PATH: `${bin}:/usr/bin:/bin`, HOME: root };
    const lines: string[] = [];
    const paths = await ensureBinaries({ cacheDir: cache, env, components: [...allComponents, "validate-crd", "typecheck-policy"], onProgress: (l) => lines.push(l) });

    const invocations = (await readFile(log, "utf8")).trim().split("\n");
    assert.equal(invocations.length, 2, `two go builds, got:\n${invocations.join("\n")}`);
    assert.match(invocations[0] ?? "", /sigs\.k8s\.io\/kwok\/cmd\/kwok$/);
    assert.match(invocations[1] ?? "", /-o \S+etcd-v3\.6\.10\.[0-9a-f]+\.tmp \.$/);
    assert.ok(!invocations.some((i) => i.includes("kubectl")), "kubectl is not built unless asked for");

    const entry = join(cache, cacheEntryOf("kubernetes"));
    for (const name of multiCallComponents) {
      assert.equal(paths[name], join(entry, name));
      assert.ok((await lstat(paths[name])).isSymbolicLink());
      assert.equal(await readlink(paths[name]), "kubernetes", "a relative link, valid wherever the cache is");
      // The program sees the component's name as argv[0], which is how it dispatches.
      assert.equal((await run(paths[name])).stdout.trim(), name);
    }
    assert.equal(paths.kwok, join(entry, "kwok"));
    assert.equal(paths.etcd, join(cache, "etcd-v3.6.10"));

    // Everything cached now: no further go invocation, for any of them.
    await ensureBinaries({ cacheDir: cache, env });
    assert.equal((await readFile(log, "utf8")).trim().split("\n").length, 2);

    // kubectl when asked: one more build, from the Kubernetes module.
    const { kubectl } = await ensureBinaries({ cacheDir: cache, components: ["kubectl"], env });
    assert.equal(kubectl, join(cache, "kubectl-v1.36.3"));
    const all = (await readFile(log, "utf8")).trim().split("\n");
    assert.equal(all.length, 3);
    assert.match(all[2] ?? "", /k8s\.io\/kubernetes\/cmd\/kubectl$/);
  });
});
