/**
 * A command thread for the thread pool's restart test: the real one (workers/command-thread.ts), except that
 * the first thread 0 started for a NATS prefix exits abruptly `CRASH_AFTER_MS` after it started, in the middle
 * of its work. A marker file (per prefix) makes the thread started in its place run normally.
 */
import { existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMainThread, workerData } from "node:worker_threads";
import type { CommandThreadData } from "../actors/thread-messages";

/** How long the doomed thread runs. */
export const CRASH_AFTER_MS = 400;

/** The marker file of a prefix: present once its thread 0 crashed. */
export function crashMarker(prefix: string): string {
  return join(tmpdir(), `clone-crashing-thread-${prefix}`);
}

// Imported by the test on its main thread for `crashMarker` only; a thread runs the rest.
if (!isMainThread) {
  const data = workerData as CommandThreadData;
  const marker = crashMarker(data.prefix);
  if (data.threadIndex === 0 && !existsSync(marker)) {
    writeFileSync(marker, "crashed");
    setTimeout(() => process.exit(70), CRASH_AFTER_MS);
  }
  await import("../../workers/command-thread");
}
