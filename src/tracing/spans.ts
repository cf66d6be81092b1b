/**
 * The few span helpers the services use. Every one of them is meant to be called only when
 * {@link tracingOn} is true; the callers check first, so with tracing off no span, context or header is made.
 *
 * Context crosses processes as a W3C `traceparent` string: in a NATS header (commands, events), in an
 * event's metadata (from the worker's transaction to the outbox relay), in gRPC metadata (from clients).
 */
import {
  type Attributes,
  type Context,
  context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { tracingOn } from "./setup";

/** The W3C trace-context header, as NATS headers and gRPC metadata carry it. */
export const TRACEPARENT = "traceparent";

const tracer = () => trace.getTracer("clone");

/** The `traceparent` of a context (default: the active one); undefined when it holds no span. */
export function traceparentOf(ctx: Context = context.active()): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier[TRACEPARENT];
}

/** The `traceparent` of a span. */
export function traceparentOfSpan(span: Span): string | undefined {
  return traceparentOf(trace.setSpan(ROOT_CONTEXT, span));
}

/** The context a `traceparent` names (a remote parent); the root context when there is none or it is malformed. */
export function contextOf(traceparent: string | undefined): Context {
  if (traceparent === undefined || traceparent === "") return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { [TRACEPARENT]: traceparent });
}

/** The link to the span a `traceparent` names, if it names one. */
function linkTo(traceparent: string | undefined): Link | undefined {
  const spanContext = trace.getSpanContext(contextOf(traceparent));
  return spanContext === undefined ? undefined : { context: spanContext };
}

/** Options of {@link startSpan}. */
export interface SpanOptions {
  readonly kind?: SpanKind;
  readonly attributes?: Attributes;
  /** The parent: a context, or a remote parent's `traceparent`; default the active context. */
  readonly parent?: Context | string | undefined;
  readonly links?: readonly Link[];
}

/** Starts a span (not made active); end it with {@link endSpan}. */
export function startSpan(name: string, options: SpanOptions = {}): Span {
  const parent =
    typeof options.parent === "string" ? contextOf(options.parent) : (options.parent ?? context.active());
  return tracer().startSpan(
    name,
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      ...(options.attributes === undefined ? {} : { attributes: options.attributes }),
      ...(options.links === undefined ? {} : { links: [...options.links] }),
    },
    parent,
  );
}

/** Ends a span, with status ERROR and the error's message when `error` is given. */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    });
  }
  span.end();
}

/** Runs `fn` in a new span made active for it; the span ends when `fn` settles (with ERROR if it throws). */
export async function inSpan<T>(
  name: string,
  options: SpanOptions,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const span = startSpan(name, options);
  try {
    const result = await context.with(contextWith(span, options.parent), () => fn(span));
    endSpan(span);
    return result;
  } catch (error) {
    endSpan(span, error);
    throw error;
  }
}

/** The spans of one batch of work whose items belong to traces of their own; see {@link startBatchSpans}. */
export interface BatchSpans {
  /** The batch span's context: what the batch's own work (its statements) runs in. */
  readonly context: Context;
  /** Each item's span, in the order of the parents given. */
  readonly items: readonly Span[];
  /** Ends the item spans (with ERROR for those `failed` says) and then the batch span. */
  end(failed?: (index: number) => unknown): void;
}

/**
 * A batch (a group commit of several commands, a view refresh for several events) joins several traces. It
 * gets a span of its own, a root linked to every item's parent, under which its statements run; and each item
 * gets a span in its own trace, a child of its parent (`traceparent`), linked back to the batch span and
 * lasting as long as the batch. So each command's (or event's) trace shows when its batch ran, and the batch
 * span shows which traces it served.
 */
export function startBatchSpans(
  name: string,
  itemName: string,
  parents: readonly (string | undefined)[],
  attributes: Attributes = {},
): BatchSpans {
  const links = parents.flatMap((p) => {
    const link = linkTo(p);
    return link === undefined ? [] : [link];
  });
  const batch = startSpan(name, {
    parent: ROOT_CONTEXT,
    links,
    attributes: { ...attributes, "batch.size": parents.length },
  });
  const batchLink: Link = { context: batch.spanContext() };
  const items = parents.map((p) => startSpan(itemName, { parent: p, links: [batchLink], attributes }));
  return {
    context: trace.setSpan(ROOT_CONTEXT, batch),
    items,
    end(failed) {
      for (const [i, span] of items.entries()) endSpan(span, failed?.(i));
      endSpan(batch);
    },
  };
}

/** `parent` (default: the active context) with `span` as its active span. */
export function contextWith(span: Span, parent: Context | string | undefined = undefined): Context {
  const base = typeof parent === "string" ? contextOf(parent) : (parent ?? context.active());
  return trace.setSpan(base, span);
}

/**
 * Runs `fn` in a span when tracing is on, else just runs it: for work (a statement) that is worth a span of
 * its own and is not per command.
 */
export function traced<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  return tracingOn() ? inSpan(name, { attributes }, fn) : fn();
}

/** Runs `fn` with `ctx` as the active context. */
export function withContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}

/** The trace and span ids of the active span, for log lines; undefined when none is active. */
export function activeTraceIds(): { traceId: string; spanId: string } | undefined {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (spanContext === undefined) return undefined;
  return { traceId: spanContext.traceId, spanId: spanContext.spanId };
}

export type { Span };
export { SpanKind };
