/**
 * A command thread for the thread pool's restart test: the real one (workers/command-thread.ts), except for
 * the first two threads 0 started for a NATS prefix. The first exits abruptly `CRASH_AFTER_MS` after it
 * was ready, in the middle of its work; the one started in its place reports a fatal start-up error (as when
 * its database is unreachable) and stays up doing nothing; the third runs normally. A marker file per prefix
 * counts them.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import type { CommandThreadData, ThreadOutput } from "../contracts";
import { AppError } from "../errors";

/** How long the first thread runs. */
export const CRASH_AFTER_MS = 400;

/** The marker file of a prefix: `crashed`, then `failed`. */
export function crashMarker(prefix: string): string {
  return join(tmpdir(), `clone-crashing-thread-${prefix}`);
}

// Imported by the test on its main thread for `crashMarker` only; a thread runs the rest.
if (!isMainThread) {
  const data = workerData as CommandThreadData;
  const marker = crashMarker(data.prefix);
  const state = existsSync(marker) ? readFileSync(marker, "utf8") : "";
  if (data.threadIndex === 0 && state === "") {
    writeFileSync(marker, "crashed");
    // Counted from the thread's ready message, not its start: on a loaded machine a thread may take longer
    // than CRASH_AFTER_MS to start, and one that dies before it is ready fails the pool's start instead.
    const port = parentPort;
    if (port !== null) {
      const post = port.postMessage.bind(port);
      port.postMessage = (message: ThreadOutput) => {
        if (message.kind === "ready") setTimeout(() => process.exit(70), CRASH_AFTER_MS);
        post(message);
      };
    }
    await import("../../workers/command-thread");
  } else if (data.threadIndex === 0 && state === "crashed") {
    writeFileSync(marker, "failed");
    const fatal: ThreadOutput = {
      kind: "fatal",
      error: new AppError("UNAVAILABLE", "the database is unreachable (simulated)").serialize(),
    };
    parentPort?.postMessage(fatal);
    setInterval(() => {}, 60_000);
  } else {
    await import("../../workers/command-thread");
  }
}
