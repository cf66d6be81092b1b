/**
 * Entry point of a command thread (node:worker_threads). Messages: see src/contracts/thread-messages.ts.
 *
 * The thread consumes the partitions its main thread gives it, on its own NATS connection: each command goes
 * from the partition's consumer to this thread's mailboxes and group-commit executor, and its answer goes
 * back to the gateway from here, then the message is acked (src/transport/jetstream/partition-consumer.ts).
 */
import { parentPort, workerData } from "node:worker_threads";
import { jetstream } from "@nats-io/jetstream";
import { logged, wakeRelayAfterEvents } from "../src/actors/command-handlers";
import { createCommandRuntime } from "../src/actors/command-thread";
import { createKeyedQueue } from "../src/actors/keyed-queue";
import { createTickBatch } from "../src/actors/tick-batch";
import type { CommandThreadData, ThreadExecution, ThreadInput, ThreadOutput } from "../src/contracts";
import { createPool } from "../src/db";
import { AppError } from "../src/errors";
import { createLogger } from "../src/logging";
import { timeExecution } from "../src/metrics/commands";
import { connectNats } from "../src/nats";
import { startTracing } from "../src/tracing";
import { consumePartition, type PartitionConsumer } from "../src/transport/jetstream/partition-consumer";
import { createReplyBatcher } from "../src/transport/jetstream/replies";
import { streamNames } from "../src/transport/jetstream/streams";

const port = parentPort;
if (!port) throw new Error("command-thread.ts must run as a worker thread");
const data = workerData as CommandThreadData;
// Each thread has its own tracer provider and exporter (the API's globals are per thread).
const tracing = startTracing(data.tracing, "worker");
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
  ...(data.maxBatch === undefined ? {} : { maxBatch: data.maxBatch }),
  ...(data.minBatchWhileBusy === undefined ? {} : { minBatchWhileBusy: data.minBatchWhileBusy }),
  log: log.child({ component: "command-runtime" }),
});

function post(message: ThreadOutput): void {
  port?.postMessage(message);
}

/** Executions finished in this tick, posted together at its end for the main thread's metrics. */
const executions = createTickBatch<ThreadExecution>((items) =>
  post({ kind: "executions", executions: items }),
);

/**
 * The timeout of the partition consumers' JetStream requests, ms. When a consumer's leader dies (a node of a
 * cluster), the client's lookups of the consumer go unanswered until the survivors elect a new leader, and
 * each one waits this long before the next: with the default 5 s a partition stood still up to 5.8 s after
 * the new leader was elected (see PULL_EXPIRES_MS in partition-consumer.ts).
 */
const PARTITION_API_TIMEOUT_MS = 1_000;

/** The partitions being consumed, by number. */
const consumers = new Map<number, PartitionConsumer>();
/** A partition's operations (consume, release), one after another in the order asked. */
const queue = createKeyedQueue<number>();

/** Logs a partition operation that failed (consume reports its own failure; a release is answered anyway). */
const failed = (partition: number) => (error: unknown) =>
  log.warn({ partition, error: String(error) }, "a partition operation failed");

async function start(): Promise<void> {
  const nats = await connectNats(data.natsUrl, `clone-worker-thread-${data.threadIndex}`);
  const js = jetstream(nats.nc, { timeout: PARTITION_API_TIMEOUT_MS });
  const wakeSubject = streamNames(data.prefix).outboxWake;
  // One batcher for all of this thread's partitions: a group commit spans them.
  const replies = createReplyBatcher(nats.nc);
  const handler = logged(
    log,
    timeExecution(
      wakeRelayAfterEvents(
        (envelope) => runtime.submit(envelope),
        () => nats.nc.publish(wakeSubject),
      ),
      (commandType, outcome, seconds) => executions.add({ commandType, outcome, seconds }),
    ),
  );

  async function consume(partition: number, durable: string, maxMessages: number): Promise<void> {
    // Already consumed here (asked again): one consumer per partition, or its order would split.
    if (!consumers.has(partition)) {
      try {
        const consumer = await consumePartition({
          nc: nats.nc,
          js,
          prefix: data.prefix,
          durable,
          handler,
          maxMessages,
          replies,
          log: log.child({ component: "partition-consumer" }),
        });
        consumers.set(partition, consumer);
      } catch (error) {
        post({ kind: "consume-failed", partition, error: AppError.from(error).serialize() });
        return;
      }
    }
    post({ kind: "consuming", partition });
  }

  async function release(partition: number): Promise<void> {
    const consumer = consumers.get(partition);
    consumers.delete(partition);
    const draining = (await consumer?.close()) ?? 0;
    if (draining > 0) log.info({ partition, commands: draining }, "drained partition");
  }

  port?.on("message", (message: ThreadInput) => {
    if (message.kind === "consume") {
      const { partition, durable, maxMessages } = message;
      queue.run(partition, () => consume(partition, durable, maxMessages)).catch(failed(partition));
    } else if (message.kind === "release") {
      const { partition } = message;
      queue
        .run(partition, () => release(partition))
        .catch(failed(partition))
        .then(() => post({ kind: "released", partition }));
    } else if (message.kind === "shutdown") {
      // Graceful: every command already delivered runs to its commit, is answered and acked; only then do
      // the connections close. Messages posted before port.close() still reach the main thread, ahead of `exit`.
      void queue
        .idle()
        .then(() =>
          Promise.all(
            [...consumers.keys()].map((partition) =>
              queue.run(partition, () => release(partition)).catch(failed(partition)),
            ),
          ),
        )
        .then(() => nats.nc.drain())
        .then(() => pool.end())
        .then(() => tracing?.shutdown())
        .catch((error: unknown) => log.warn({ error: String(error) }, "closing the command thread failed"))
        .finally(() => {
          executions.flush();
          post({ kind: "stopped" });
          port?.close();
        });
    }
  });
}

pool
  .query("SELECT 1")
  .then(start)
  .then(() => post({ kind: "ready" }))
  .catch((error: unknown) => post({ kind: "fatal", error: AppError.from(error).serialize() }));
