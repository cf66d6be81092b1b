/**
 * Writes a handler's stream to a grpc-js call with backpressure, and closes the handler's iterator as soon as
 * the call is aborted (client cancel or deadline), even while it is waiting for its next item.
 */
import type { Message } from "@bufbuild/protobuf";
import type { ServerWritableStream } from "@grpc/grpc-js";

/**
 * Pulls messages from `stream` and writes them to `call`; when `write()` reports a full buffer it waits for
 * 'drain' before pulling the next one. Resolves when the stream ends or the signal aborts; rejects with the
 * stream's error. The iterator's `return()` is called on abort, without waiting for a pending `next()`.
 */
export async function writeStream(
  call: ServerWritableStream<Message, Message>,
  stream: AsyncIterable<Message>,
  signal: AbortSignal,
): Promise<void> {
  const iterator = stream[Symbol.asyncIterator]();
  let finished = false;
  let closed = false;
  const close = (): void => {
    if (finished || closed) return;
    closed = true;
    Promise.resolve()
      .then(() => iterator.return?.())
      .catch(() => {});
  };
  signal.addEventListener("abort", close, { once: true });
  try {
    while (!signal.aborted) {
      let result: IteratorResult<Message>;
      try {
        result = await iterator.next();
      } catch (error) {
        finished = true; // an iterator that threw is done; return() is not called on it
        throw error;
      }
      if (result.done) {
        finished = true;
        return;
      }
      if (signal.aborted) return;
      if (!call.write(result.value)) await drained(call, signal);
    }
  } finally {
    signal.removeEventListener("abort", close);
    close();
  }
}

/** Resolves on 'drain', on 'close', or when the signal aborts. */
function drained(call: ServerWritableStream<Message, Message>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off("drain", done);
      call.off("close", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    call.on("drain", done);
    call.on("close", done);
    signal.addEventListener("abort", done, { once: true });
  });
}
