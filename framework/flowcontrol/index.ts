/** Flow control shared by the REST client and the work queues (client-go `util/flowcontrol`). */
export { TokenBucket } from "./token_bucket.ts";
