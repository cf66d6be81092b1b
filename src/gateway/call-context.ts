/**
 * Builds a {@link CallContext} for any transport and owns its abort signal: the transport reports a client
 * cancel, and a timer aborts the signal when the deadline passes, so handlers wait on one signal for both.
 *
 * Once the call is over ({@link ManagedCallContext.dispose}) a cancel is ignored: grpc-js reports every call as
 * cancelled when its stream closes, also after the status was sent, and nothing is listening any more then.
 */
import { AppError } from "../errors";
import type { CallContext, MethodKind } from "./handler";

/** setTimeout cannot wait longer than this (about 24.8 days); later deadlines never fire. */
const maxTimerMs = 2 ** 31 - 1;

/**
 * A client cancels its call itself when its deadline passes, usually a moment before the server's timer (the
 * server counts from when the request arrived). A cancel this close to the deadline is reported as the deadline.
 */
const deadlineCancelToleranceMs = 100;

/** What a transport knows about an incoming call. */
export interface CallContextInit {
  readonly service: string;
  readonly method: string;
  readonly kind: MethodKind;
  readonly headers: ReadonlyMap<string, string>;
  /** Epoch milliseconds, or undefined for no deadline. */
  readonly deadline: number | undefined;
}

/** A call context with the controls only the transport may use. */
export interface ManagedCallContext {
  readonly ctx: CallContext;
  /**
   * Aborts the signal with CANCELLED (the client went away), or DEADLINE_EXCEEDED at the deadline; or with
   * `reason` when the server ends the call (e.g. UNAVAILABLE while shutting down).
   */
  cancel(reason?: AppError): void;
  /** Stops the deadline timer and ignores later cancels; call once the call is over. */
  dispose(): void;
}

/** Creates the context of one call; its signal aborts on {@link ManagedCallContext.cancel} or at the deadline. */
export function createCallContext(init: CallContextInit): ManagedCallContext {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let over = false;
  if (init.deadline !== undefined) {
    const remainingMs = Math.max(0, init.deadline - Date.now());
    if (remainingMs <= maxTimerMs) {
      timer = setTimeout(
        () => controller.abort(new AppError("DEADLINE_EXCEEDED", "the call's deadline passed")),
        remainingMs,
      );
    }
  }
  const ctx: CallContext = {
    service: init.service,
    method: init.method,
    kind: init.kind,
    headers: init.headers,
    signal: controller.signal,
    deadline: init.deadline,
    actor: undefined,
  };
  return {
    ctx,
    cancel(reason) {
      if (over || controller.signal.aborted) return;
      if (reason instanceof AppError) return controller.abort(reason);
      const atDeadline =
        init.deadline !== undefined && Date.now() >= init.deadline - deadlineCancelToleranceMs;
      controller.abort(
        atDeadline
          ? new AppError("DEADLINE_EXCEEDED", "the call's deadline passed")
          : new AppError("CANCELLED", "the client cancelled the call"),
      );
    },
    dispose() {
      over = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}

/**
 * The error to report for a failed call: once the signal is aborted, whatever the handler threw (often a
 * generic AbortError from a library) is reported as the abort reason, CANCELLED or DEADLINE_EXCEEDED.
 */
export function callError(error: unknown, ctx: CallContext): unknown {
  if (ctx.signal.aborted && !(error instanceof AppError && error.code !== "INTERNAL"))
    return ctx.signal.reason;
  return error;
}
