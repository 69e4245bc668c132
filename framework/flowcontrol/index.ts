/** Flow control shared by the REST client, the work queues and the retry loops (client-go `util/flowcontrol`). */
export { TokenBucket, type Reservation } from "./token-bucket.ts";
export { sleep, sleepOrThrow } from "./sleep.ts";
export { realClock, sleepOn, timeoutSignal, type Clock } from "./clock.ts";
