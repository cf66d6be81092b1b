/**
 * A pino logger for tests that keeps what it logs: pass `logs.log` (or a child of it) where a component takes
 * a logger, then read `logs.lines` (each line parsed: `msg`, `level` as a name, the fields, and `at`).
 */
import pino from "pino";
import type { Logger } from "../logging";

/** One logged line, parsed. */
export interface LogLine {
  readonly msg: string;
  readonly level: string;
  /** `performance.now()` when it was logged. */
  readonly at: number;
  readonly [field: string]: unknown;
}

/** A logger at level `debug` and the lines it has written so far. */
export function captureLogs(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino(
    { level: "debug", formatters: { level: (label) => ({ level: label }) } },
    { write: (line: string) => void lines.push({ ...JSON.parse(line), at: performance.now() } as LogLine) },
  );
  return { log, lines };
}
