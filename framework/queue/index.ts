/**
 * Work queues for controllers, layered as client-go `util/workqueue`:
 * `WorkQueue` (dirty and processing sets, priorities, shutdown and drain) ->
 * `DelayingQueue` (`addAfter`, one timer heap) -> `RateLimitingQueue` (`addRateLimited`,
 * `forget`, `numRequeues`), with the rate limiters of client-go and the `workqueue_*` metrics.
 */
export { WorkQueue, LOW_PRIORITY, type AddOptions, type QueueOptions } from "./queue.ts";
export { DelayingQueue } from "./delaying.ts";
export { RateLimitingQueue, type RateLimitingQueueOptions } from "./rate-limiting.ts";
export {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  defaultControllerRateLimiter,
  type RateLimiter,
} from "./rate-limiters.ts";
