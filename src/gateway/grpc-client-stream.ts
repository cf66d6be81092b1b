/**
 * Reads a grpc-js client stream as an async iterable. grpc-js ends the readable before it reports a failed
 * status, so the end of iteration waits for the status: messages first, then the error if there is one.
 */
import type { ClientReadableStream, ServiceError } from "@grpc/grpc-js";

/** Messages buffered before the stream is paused (the server then sees backpressure). */
const highWaterMark = 16;

/**
 * Starts the call when iteration starts and yields its messages; throws the `ServiceError` of a failed
 * status; cancels the call when the loop is left early or `signal` aborts.
 */
export async function* readStream<T>(
  start: () => ClientReadableStream<T>,
  signal?: AbortSignal,
): AsyncGenerator<T, void, undefined> {
  const call = start();
  const queue: T[] = [];
  let failure: ServiceError | undefined;
  let ended = false;
  let statusReceived = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  call.on("data", (message: T) => {
    queue.push(message);
    if (queue.length >= highWaterMark) call.pause();
    notify();
  });
  call.on("error", (error: ServiceError) => {
    failure = error;
    notify();
  });
  call.on("end", () => {
    ended = true;
    notify();
  });
  call.on("status", () => {
    statusReceived = true;
    notify();
  });
  const cancel = (): void => call.cancel();
  signal?.addEventListener("abort", cancel, { once: true });
  try {
    for (;;) {
      const next = queue.shift();
      if (next !== undefined) {
        if (call.isPaused() && queue.length < highWaterMark / 2) call.resume();
        yield next;
        continue;
      }
      if (statusReceived && (ended || failure !== undefined)) {
        if (failure !== undefined) throw failure;
        return;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    signal?.removeEventListener("abort", cancel);
    if (!statusReceived) call.cancel();
  }
}
