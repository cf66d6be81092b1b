export type { Tracing } from "./setup";
export { startTracing, tracingOn } from "./setup";
export type { BatchSpans, Span, SpanOptions } from "./spans";
export {
  activeTraceIds,
  contextOf,
  contextWith,
  endSpan,
  inSpan,
  SpanKind,
  startBatchSpans,
  startSpan,
  TRACEPARENT,
  traced,
  traceparentOf,
  traceparentOfSpan,
  withContext,
} from "./spans";
