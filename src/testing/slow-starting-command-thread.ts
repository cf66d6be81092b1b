/**
 * A command thread for the thread pool's start test: the real one (workers/command-thread.ts), except that the
 * first two threads 0 started for a NATS prefix fail at start-up (as when NATS or Postgres does not answer in
 * time on a loaded machine): the pool must start them again rather than fail. A marker file per prefix counts
 * them.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import type { CommandThreadData, ThreadOutput } from "../contracts";
import { AppError } from "../errors";

/** How many starts of thread 0 fail. */
export const FAILED_STARTS = 2;

/** The marker file of a prefix: how many starts of thread 0 failed so far. */
export function slowStartMarker(prefix: string): string {
  return join(tmpdir(), `clone-slow-starting-thread-${prefix}`);
}

// Imported by the test on its main thread for `slowStartMarker` only; a thread runs the rest.
if (!isMainThread) {
  const data = workerData as CommandThreadData;
  const marker = slowStartMarker(data.prefix);
  const failed = existsSync(marker) ? Number(readFileSync(marker, "utf8")) : 0;
  if (data.threadIndex === 0 && failed < FAILED_STARTS) {
    writeFileSync(marker, String(failed + 1));
    const fatal: ThreadOutput = {
      kind: "fatal",
      error: new AppError("UNAVAILABLE", "NATS did not answer in time (simulated)").serialize(),
    };
    parentPort?.postMessage(fatal);
    setInterval(() => {}, 60_000); // stays up doing nothing, as a hung start would
  } else {
    await import("../../workers/command-thread");
  }
}
