import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { defaultBinaryCacheDir, ensureBinaries } from "../../../framework/testing/index.ts";

describe("ensureBinaries", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "kubeloop-binaries-"));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function executable(path: string): Promise<void> {
    await mkdir(join(path, ".."), { recursive: true });
    await writeFile(path, "#!/bin/sh\n");
    await chmod(path, 0o755);
  }

  it("caches under XDG_CACHE_HOME/kubeloop/bin", () => {
    assert.equal(defaultBinaryCacheDir({ XDG_CACHE_HOME: "/x" }), "/x/kubeloop/bin");
  });

  it("takes etcd, kube-apiserver and kubectl from KUBEBUILDER_ASSETS and the rest from the cache, without building", async () => {
    const assets = join(root, "assets");
    const cache = join(root, "cache");
    for (const c of ["etcd", "kube-apiserver", "kubectl"]) await executable(join(assets, c));
    for (const c of ["kube-controller-manager-v1.36.3", "kube-scheduler-v1.36.3", "kwok-v0.8.0"]) await executable(join(cache, c));
    const lines: string[] = [];
    const paths = await ensureBinaries({ cacheDir: cache, env: { KUBEBUILDER_ASSETS: assets, PATH: "" }, onProgress: (l) => lines.push(l) });
    assert.equal(paths.etcd, join(assets, "etcd"));
    assert.equal(paths["kube-apiserver"], join(assets, "kube-apiserver"));
    assert.equal(paths.kubectl, join(assets, "kubectl"));
    assert.equal(paths["kube-scheduler"], join(cache, "kube-scheduler-v1.36.3"));
    assert.equal(paths.kwok, join(cache, "kwok-v0.8.0"));
    assert.ok(lines.some((l) => l.includes("using etcd from KUBEBUILDER_ASSETS")));
  });

  it("says Go is needed when a build is due and go is not on PATH", async () => {
    await assert.rejects(
      ensureBinaries({ cacheDir: join(root, "empty"), components: ["kwok"], env: { PATH: join(root, "no-such-dir") } }),
      /needs the Go toolchain \(go 1\.26 or newer\) on PATH/,
    );
  });
});
