/**
 * Turns OpenTelemetry tracing on for this process (or thread), from {@link TracingConfig}: a tracer provider
 * with a batch processor and the OTLP/HTTP exporter, the AsyncLocalStorage context manager (so a span started
 * in a handler is the parent of what it awaits) and the W3C `traceparent` propagator.
 *
 * Off by default. While it is off nothing is registered, and the code on the hot paths checks
 * {@link tracingOn} (a boolean) before it makes any span, header or context: no cost beyond that check.
 */
import { context, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import type { TracingConfig } from "../config";

let enabled = false;

/** Whether tracing is on in this process: the one check the hot paths make before anything else. */
export function tracingOn(): boolean {
  return enabled;
}

/** A process's tracing, once started. */
export interface Tracing {
  /** Exports the spans finished so far. */
  flush(): Promise<void>;
  /** Exports the spans still buffered and stops (call at shutdown). */
  shutdown(): Promise<void>;
}

/**
 * Starts tracing when `config` is given (else does nothing and returns undefined). `role` names the process
 * (`gateway`, `worker`, ...): the resource's `service.name` is `OTEL_SERVICE_NAME` or `clone-<role>`, and
 * `clone.role` says which role sent a span. A span exporter may be given (tests: an in-memory exporter).
 */
export function startTracing(
  config: TracingConfig | undefined,
  role: string,
  exporter?: SpanExporter,
): Tracing | undefined {
  if (config === undefined && exporter === undefined) return undefined;
  const spanExporter = exporter ?? createExporter(config as TracingConfig);
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: config?.serviceName || `clone-${role}`,
      "clone.role": role,
    }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config?.sampleRatio ?? 1) }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: spanExporter,
        scheduledDelayMillis: config?.scheduleDelayMs ?? 5_000,
      }),
    ],
  });
  const contextManager = new AsyncLocalStorageContextManager();
  contextManager.enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  enabled = true;
  return {
    flush: () => provider.forceFlush(),
    async shutdown() {
      enabled = false;
      await provider.shutdown().catch(() => {});
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

function createExporter(config: TracingConfig): SpanExporter {
  if (config.exporter === "console") return new ConsoleSpanExporter();
  return new OTLPTraceExporter({ url: config.tracesUrl, headers: { ...config.headers } });
}
