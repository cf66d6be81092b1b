/**
 * grpc-js answers a request whose gzip or deflate body does not decompress with INTERNAL ("Failed to decompress
 * message"), inside its own call object, before any deserializer, interceptor or handler of ours runs, and
 * offers no hook for it. The caller caused it, so {@link answerUndecompressableAsInvalid} makes it
 * INVALID_ARGUMENT with the message the HTTP port gives for the same bytes, by wrapping that one method of
 * grpc-js's server call once per process. Anything else grpc-js reports there (a body that decompresses past
 * the size limit: RESOURCE_EXHAUSTED; an unknown encoding: UNIMPLEMENTED) is left as it is. The wrapped method
 * is grpc-js internals (1.14): if an upgrade moves it, start-up fails here, and src/http/bad-input.e2e.test.ts
 * sends a corrupt gzip body to every wire.
 */
import { createRequire } from "node:module";
import { status } from "@grpc/grpc-js";

interface CallPrototype {
  decompressMessage(this: unknown, message: Buffer, encoding: string): Buffer | Promise<Buffer>;
}

let wrapped = false;

/** Makes grpc-js answer an undecompressable request body INVALID_ARGUMENT (idempotent). */
export function answerUndecompressableAsInvalid(): void {
  if (wrapped) return;
  const internals = createRequire(import.meta.url)("@grpc/grpc-js/build/src/server-interceptors") as {
    BaseServerInterceptingCall?: { prototype: CallPrototype };
  };
  const prototype = internals.BaseServerInterceptingCall?.prototype;
  if (typeof prototype?.decompressMessage !== "function") {
    throw new Error("grpc-js changed: BaseServerInterceptingCall.prototype.decompressMessage is gone");
  }
  const original = prototype.decompressMessage;
  prototype.decompressMessage = function decompressMessage(message, encoding) {
    const result = original.call(this, message, encoding);
    if (!(result instanceof Promise)) return result;
    return result.catch((error: unknown) => {
      if ((error as { code?: number } | undefined)?.code !== status.INTERNAL) throw error;
      throw { code: status.INVALID_ARGUMENT, details: `the request body does not decompress (${encoding})` };
    });
  };
  wrapped = true;
}
