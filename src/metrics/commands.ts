/**
 * Command metrics: end-to-end at the gateway (`clone_command_duration_seconds`, recorded by the RPC
 * interceptor for CommandService calls, and `clone_command_failures_total`), and the worker's execution
 * (`clone_command_execution_seconds`).
 *
 * Outcomes are `ok` or the gRPC code name of the error (`FAILED_PRECONDITION`, `INTERNAL`, ...), so the
 * label set stays small and alerts can tell a domain rejection from a server failure.
 */
import { Counter, Histogram, type Registry } from "prom-client";
import { AppError } from "../errors";
import { latencyBuckets } from "./buckets";

/** The shape of a command outcome (`CommandOutcome` of src/contracts/envelope.ts fits). */
export type OutcomeLike =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: { readonly code: string } };

/** The outcome label of a command outcome: `ok` or its error code. */
export function outcomeLabel(outcome: OutcomeLike): string {
  return outcome.ok ? "ok" : outcome.error.code;
}

/** The gRPC code name of anything thrown (unknown errors are `INTERNAL`, lost connections `UNAVAILABLE`). */
export function errorCode(error: unknown): string {
  return AppError.from(error).code;
}

/** Command metrics and the helpers that record them. */
export interface CommandMetrics {
  /** `clone_command_duration_seconds{command_type, outcome}`: end to end at the gateway. */
  readonly duration: Histogram<"command_type" | "outcome">;
  /** `clone_command_execution_seconds{command_type, outcome}`: the worker's handling of one command. */
  readonly execution: Histogram<"command_type" | "outcome">;
  /** `clone_command_failures_total{command_type, code}`: commands the gateway answered with an error. */
  readonly failures: Counter<"command_type" | "code">;
  /** Records one command at the gateway; a non-`ok` outcome also counts as a failure. */
  observe(commandType: string, outcome: string, seconds: number): void;
  /** Records one command's execution in a worker (seconds measured in a command thread, see {@link timeExecution}). */
  observeExecution(commandType: string, outcome: string, seconds: number): void;
}

/** Creates the command metrics on `registry`. */
export function createCommandMetrics(registry: Registry): CommandMetrics {
  const duration = new Histogram({
    name: "clone_command_duration_seconds",
    help: "Commands end to end at the gateway (validation, authorization, bus, worker, answer), by outcome.",
    labelNames: ["command_type", "outcome"],
    buckets: [...latencyBuckets],
    registers: [registry],
  });
  const execution = new Histogram({
    name: "clone_command_execution_seconds",
    help: "Command execution in a worker (group-commit transaction, savepoint per command), by outcome.",
    labelNames: ["command_type", "outcome"],
    buckets: [...latencyBuckets],
    registers: [registry],
  });
  const failures = new Counter({
    name: "clone_command_failures_total",
    help: "Commands answered with an error at the gateway, by gRPC code (domain rejections included).",
    labelNames: ["command_type", "code"],
    registers: [registry],
  });
  const observeExecution = (commandType: string, outcome: string, seconds: number): void => {
    execution.observe({ command_type: commandType, outcome }, seconds);
  };
  return {
    duration,
    execution,
    failures,
    observe(commandType, outcome, seconds) {
      duration.observe({ command_type: commandType, outcome }, seconds);
      if (outcome !== "ok") failures.inc({ command_type: commandType, code: outcome });
    },
    observeExecution,
  };
}

/**
 * Wraps a worker-side command handler: times each envelope from hand-over to outcome and tells `observe`
 * its command type, outcome label and seconds (a command thread, which has no registry, passes them on to its
 * main thread). A rejection is observed with its code and rethrown.
 */
export function timeExecution<E extends { readonly commandType: string }, O extends OutcomeLike>(
  handler: (envelope: E) => Promise<O>,
  observe: (commandType: string, outcome: string, seconds: number) => void,
): (envelope: E) => Promise<O> {
  return async (envelope) => {
    const started = performance.now();
    try {
      const outcome = await handler(envelope);
      observe(envelope.commandType, outcomeLabel(outcome), secondsSince(started));
      return outcome;
    } catch (error) {
      observe(envelope.commandType, errorCode(error), secondsSince(started));
      throw error;
    }
  };
}

/** Seconds since a `performance.now()` reading. */
export function secondsSince(started: number): number {
  return (performance.now() - started) / 1000;
}
