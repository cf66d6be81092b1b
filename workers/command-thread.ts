/**
 * Entry point of a command thread (node:worker_threads). Messages: see src/actors/thread-messages.ts.
 */
import { parentPort, workerData } from "node:worker_threads";
import { createCommandRuntime } from "../src/actors/command-thread";
import type {
  CommandThreadData,
  ThreadCommand,
  ThreadInput,
  ThreadOutcome,
  ThreadOutput,
} from "../src/actors/thread-messages";
import { createTickBatch } from "../src/actors/tick-batch";
import type { CommandOutcome } from "../src/commands/envelope";
import { createPool } from "../src/db";
import { AppError } from "../src/errors";
import { createLogger } from "../src/logging";

const port = parentPort;
if (!port) throw new Error("command-thread.ts must run as a worker thread");
const data = workerData as CommandThreadData;
const log = createLogger({ level: data.logLevel, name: `command-thread-${data.threadIndex}` });
const pool = createPool(data.databaseUrl, {
  max: data.poolSize,
  applicationName: `command-thread-${data.threadIndex}`,
  // The executor's statements are primary-key reads and writes whose texts repeat (write-model/): one plan each.
  genericPlans: true,
});
const runtime = createCommandRuntime({
  connect: () => pool.connect(),
  concurrency: data.poolSize,
  maxBatch: data.maxBatch,
  ...(data.minBatchWhileBusy === undefined ? {} : { minBatchWhileBusy: data.minBatchWhileBusy }),
  log: (message, fields) => log.warn(fields ?? {}, message),
});

function post(message: ThreadOutput): void {
  port?.postMessage(message);
}

/** Commands received and not yet answered. */
let unanswered = 0;
let shuttingDown = false;
let drained: () => void = () => {};

/** Outcomes settled in this tick, posted together at its end. */
const answers = createTickBatch<ThreadOutcome>((outcomes) => post({ kind: "outcomes", outcomes }));

function answer(id: number, outcome: CommandOutcome): void {
  answers.add({ id, outcome });
}

function accept({ id, envelope }: ThreadCommand): void {
  if (shuttingDown) {
    answer(id, { ok: false, error: new AppError("UNAVAILABLE", "command thread is stopping").serialize() });
    return;
  }
  unanswered++;
  runtime
    .submit(envelope)
    .then(
      (outcome) => answer(id, outcome),
      (error: unknown) => answer(id, { ok: false, error: AppError.from(error).serialize() }),
    )
    .finally(() => {
      if (--unanswered === 0) drained();
    });
}

port.on("message", (message: ThreadInput) => {
  if (message.kind === "commands") {
    for (const command of message.commands) accept(command);
  } else if (message.kind === "shutdown") {
    // Graceful: every command already received runs to its commit and is answered; only then does the
    // pool close. Messages posted before port.close() still reach the main thread, ahead of `exit`.
    shuttingDown = true;
    const allAnswered = unanswered === 0 ? Promise.resolve() : new Promise<void>((r) => (drained = r));
    void allAnswered
      .then(() => pool.end())
      .catch((error: unknown) => log.warn({ error: String(error) }, "closing the pool failed"))
      .finally(() => {
        post({ kind: "stopped" });
        port.close();
      });
  }
});

pool
  .query("SELECT 1")
  .then(() => post({ kind: "ready" }))
  .catch((error: unknown) => post({ kind: "fatal", error: AppError.from(error).serialize() }));
