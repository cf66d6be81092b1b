/**
 * Structured JSON logs (pino). Fields such as `commandId` and `aggregateId` go in the object argument so they
 * can be searched: `log.info({ commandId, aggregateId }, "command applied")`.
 */
import pino from "pino";
import { activeTraceIds, tracingOn } from "../tracing";

/** The logger type used across the service. */
export type Logger = pino.Logger;

/** Creates a JSON logger writing to stdout. */
export function createLogger(options: {
  level: string;
  name: string;
  base?: Record<string, unknown>;
}): Logger {
  return pino({
    level: options.level,
    name: options.name,
    base: { pid: process.pid, ...options.base },
    mixin: traceFields,
  });
}

const none = {};

/** `traceId` and `spanId` of the active span on every line logged inside one (only while tracing is on). */
function traceFields(): object {
  return tracingOn() ? (activeTraceIds() ?? none) : none;
}

/** A logger that writes nothing: the default of components whose caller passes none. */
export const silentLogger: Logger = pino({ level: "silent" });
