/**
 * Events: an events.k8s.io/v1 recorder with client-go's EventCorrelator semantics (spam filter,
 * aggregation of similar events, series written at most once per interval), writing through an
 * asynchronous bounded queue so a reconcile never waits on an Event. Mirrors client-go
 * `tools/events` and `tools/record`.
 */
export { newEventRecorder, type EventInfo, type EventRecorder, type EventRecorderOptions } from "./recorder.ts";
