/**
 * Turns a handler and the interceptor chain into one transport-neutral function per method: decoded request
 * in, response message(s) out. Transports only decode, call it, and encode.
 */
import { create, type DescMethod, type Message } from "@bufbuild/protobuf";
import { AppError } from "../errors";
import type { AnyHandler, CallResponse, Interceptor, Next } from "./handler";

/** Applies interceptors around `next`; the first in the list is the outermost (runs first). */
export function applyInterceptors<I, O>(next: Next<I, O>, interceptors: readonly Interceptor[]): Next<I, O> {
  return interceptors.reduceRight<Next<I, O>>((inner, interceptor) => interceptor(inner), next);
}

/**
 * The invoker of one method: runs the interceptors, then the handler (or fails with UNIMPLEMENTED), and
 * turns whatever the handler returns (a message or its init shape) into messages of the output type.
 */
export function createMethodInvoker(
  method: DescMethod,
  handler: AnyHandler | undefined,
  interceptors: readonly Interceptor[],
): Next<Message, Message> {
  const toMessage = (init: unknown): Message => create(method.output, init as Record<string, unknown>);
  const inner: Next<Message, Message> = async (request, ctx): Promise<CallResponse<Message>> => {
    if (handler === undefined) {
      throw new AppError("UNIMPLEMENTED", `${method.parent.typeName}.${method.name} is not implemented`);
    }
    const call = handler as (request: Message, ctx: unknown) => Promise<unknown> | AsyncIterable<unknown>;
    switch (method.methodKind) {
      case "unary":
        return { kind: "unary", message: toMessage(await call(request, ctx)) };
      case "server_streaming": {
        const stream = call(request, ctx);
        if (!isAsyncIterable(stream))
          throw new AppError("INTERNAL", "a streaming handler returned no stream");
        return { kind: "server_streaming", stream: mapStream(stream, toMessage) };
      }
      default:
        throw new AppError("UNIMPLEMENTED", `${method.methodKind} methods are not supported`);
    }
  };
  return applyInterceptors(inner, interceptors);
}

/**
 * Maps a stream (and optionally observes its end) without a generator, so that `return()` reaches the source
 * at once even while a `next()` is pending; an async generator would queue it until the pending step finished,
 * and a handler blocked waiting for live data would never hear that the client left. Interceptors that wrap
 * a response stream (metrics, logging) should use this rather than an async generator.
 * `onEnd` runs once: with undefined when the stream ends or is closed early, with the error when it fails.
 */
export function mapStream<T, U>(
  source: AsyncIterable<T>,
  map: (value: T) => U,
  onEnd?: (error?: unknown) => void,
): AsyncIterable<U> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<U> {
      const inner = source[Symbol.asyncIterator]();
      let ended = false;
      const end = (error?: unknown): void => {
        if (ended) return;
        ended = true;
        onEnd?.(error);
      };
      return {
        async next() {
          let result: IteratorResult<T>;
          try {
            result = await inner.next();
          } catch (error) {
            end(error);
            throw error;
          }
          if (!result.done) return { done: false, value: map(result.value) };
          end();
          return { done: true, value: undefined };
        },
        async return() {
          end();
          await inner.return?.();
          return { done: true, value: undefined };
        },
      };
    },
  };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === "object" && value !== null && Symbol.asyncIterator in value;
}
