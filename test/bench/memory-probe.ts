/**
 * Child process of the memory measurement (run by `memory.ts` with `--expose-gc`): heap used by
 * an `InformerCache` of the Pods in one namespace, measured in a fresh process after `gc()`
 * before the cache starts and after it has synced. Prints one JSON line:
 * `{ pods, heapBefore, heapAfter, bytesPerPod, jsonBytesPerPod }` (the last: the cached objects as JSON).
 *
 *   node --expose-gc test/bench/memory-probe.ts --kubeconfig K --namespace NS --strip true|false
 */
import { parseArgs } from "node:util";
import { InformerCache } from "../../framework/cache/index.ts";
import { createClient, KubeConfig } from "../../framework/client/index.ts";
import { Pods, type KubeObject } from "../../framework/meta/index.ts";

const { values } = parseArgs({
  options: { kubeconfig: { type: "string" }, namespace: { type: "string" }, strip: { type: "string", default: "true" } },
});
const gc = globalThis.gc;
if (!gc || !values.kubeconfig || !values.namespace) {
  process.stderr.write("usage: node --expose-gc test/bench/memory-probe.ts --kubeconfig K --namespace NS --strip true|false\n");
  process.exit(2);
}

function settledHeapUsed(): number {
  for (let i = 0; i < 4; i++) gc!();
  return process.memoryUsage().heapUsed;
}

const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(values.kubeconfig);
const client = createClient({ kubeConfig });
// Warm up what every cache shares (TLS, credentials, code paths) so that only the store is measured.
await client.list(Pods, { namespace: values.namespace, limit: 1 });
const keepAll = <T extends KubeObject>(obj: T): T => obj;
const cache = new InformerCache(client, values.strip === "true" ? {} : { transform: keepAll });
const stop = new AbortController();
const heapBefore = settledHeapUsed();
const informer = cache.informerFor(Pods, { namespace: values.namespace });
cache.start(stop.signal);
await cache.waitForSync(stop.signal);
await new Promise((resolve) => setTimeout(resolve, 500)); // let the list's buffers go
const heapAfter = settledHeapUsed();
const pods = informer.store.size();
const jsonBytes = informer.store.list().reduce((sum, pod) => sum + Buffer.byteLength(JSON.stringify(pod)), 0);
process.stdout.write(JSON.stringify({ pods, heapBefore, heapAfter, bytesPerPod: (heapAfter - heapBefore) / pods, jsonBytesPerPod: jsonBytes / pods }) + "\n");
stop.abort(new Error("measured"));
client.close();
process.exit(0);
