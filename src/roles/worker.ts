/**
 * The `worker` role: command threads consuming the command partitions this process owns (the JetStream
 * command receiver holds the leases on the main thread), and the document processor.
 *
 * Several worker processes may run against one NATS and one Postgres; they share the command partitions
 * (see src/transport/partition-ownership.ts) and each runs `WORKER_THREADS` threads.
 */

import type { NatsConnection } from "@nats-io/nats-core";
import { startCommandDeadLetterRetrier } from "../actors/dead-letter-command";
import { createCommandThreadPool } from "../actors/thread-pool";
import type { Config } from "../config";
import type { CommandSender } from "../contracts";
import { createPool } from "../db";
import { startDocumentProcessor } from "../documents/processor";
import { startUserErasure } from "../erasure";
import { ConfigError } from "../errors";
import { createJetStreamEraser, createJetStreamEventSource, type EventSource } from "../events";
import type { Logger } from "../logging";
import type { Metrics } from "../metrics";
import { connectNats } from "../nats";
import { startJetStreamCommandReceiver } from "../transport/jetstream/command-receiver";
import { createJetStreamCommandSender } from "../transport/jetstream/command-sender";
import { quarantineAsDeadLetter } from "../transport/jetstream/poison-pill";
import { ensureStreams } from "../transport/jetstream/streams";
import type { SqlClient } from "../write-model";
import { findStoredOutcome } from "../write-model";

/** A running role. */
export interface RunningRole {
  /** Graceful stop: no new work, in-flight work finished and acked, connections closed. */
  stop(): Promise<void>;
}

/** Starts the command worker role. */
export async function startWorkerRole(config: Config, log: Logger, metrics?: Metrics): Promise<RunningRole> {
  const databaseUrl = requireUrl(config.databaseUrl, "DATABASE_URL");
  const natsUrl = requireUrl(config.natsUrl, "NATS_URL");
  const nats = await connectNats(natsUrl, "clone-worker");
  await ensureStreams(nats.jsm, config.natsPrefix, config.natsStreamReplicas);
  const pool = await createCommandThreadPool({
    threads: config.workerThreads,
    entry: new URL("../../workers/command-thread.ts", import.meta.url),
    data: {
      databaseUrl,
      natsUrl,
      prefix: config.natsPrefix,
      // Few transactions at once per thread, so commands queue up behind them and share their commits.
      poolSize: config.workerTransactions,
      minBatchWhileBusy: config.workerBusyBatch,
      logLevel: config.logLevel,
      ...(config.tracing === undefined ? {} : { tracing: config.tracing }),
    },
    ...(metrics === undefined
      ? {}
      : {
          onExecutions: (executions) => {
            for (const e of executions)
              metrics.commands.observeExecution(e.commandType, e.outcome, e.seconds);
          },
        }),
    log: log.child({ component: "command-threads" }),
  });
  // The document processor's pool; also where commands that keep killing their thread are recorded.
  const db = createPool(databaseUrl, { max: 4, applicationName: "clone-document-processor" });
  const receiver = await startJetStreamCommandReceiver({
    jsm: nats.jsm,
    nc: nats.nc,
    // On a cluster the consumers are replicated too: a reconnect is a node lost, not a server's state lost.
    startOverAfterReconnect: config.natsStreamReplicas === 1,
    prefix: config.natsPrefix,
    partitions: config.commandPartitions,
    databaseUrl,
    host: pool,
    quarantine: quarantineAsDeadLetter(db, nats.nc),
    log: log.child({ component: "command-receiver" }),
  });
  // The document processor records its results through the same command path, as role `service`.
  const sender = commandSenderOf(config, nats.nc, db);
  const events = instrumentedEvents(
    metrics,
    createJetStreamEventSource({
      ...nats,
      prefix: config.natsPrefix,
      log: log.child({ component: "event-source" }),
    }),
  );
  const documents = await startDocumentProcessor({
    events,
    sender,
    db,
    chunking: config.chunking,
    log: log.child({ component: "document-processor" }),
  });
  // A deleted user's personal data is erased after the deletion, in short batches (src/erasure).
  const erasure = await startUserErasure({
    events,
    db,
    sender,
    stream: createJetStreamEraser({ ...nats, prefix: config.natsPrefix }),
    log: log.child({ component: "user-erasure" }),
  });
  // Command dead letters an operator asked to retry (bun run cli dead-letters retry).
  const commandRetrier = startCommandDeadLetterRetrier({
    connect: () => db.connect(),
    db,
    log: log.child({ component: "command-dead-letters" }),
  });
  log.info(
    {
      threads: config.workerThreads,
      partitions: receiver.ownership.owned(),
      threadOfPartition: Object.fromEntries(pool.assignment()),
    },
    "command worker started",
  );
  return {
    async stop() {
      const started = performance.now();
      log.info({ partitions: receiver.ownership.owned() }, "command worker stopping");
      // The document processor first: what it sends still goes through this worker's receiver.
      await documents.stop();
      await erasure.stop();
      await commandRetrier.stop();
      // No new commands; those in flight commit, are answered and acked; the partitions go to the others.
      await receiver.stop();
      await pool.stop();
      await sender.close();
      await nats.nc.drain();
      await db.end();
      log.info({ ms: Math.round(performance.now() - started) }, "command worker stopped");
    },
  };
}

/** An event source whose handlers are timed per consumer and event type when there are metrics. */
export function instrumentedEvents(metrics: Metrics | undefined, events: EventSource): EventSource {
  if (!metrics) return events;
  return {
    subscribe: (name, types, handler, options) =>
      events.subscribe(name, types, metrics.events.instrument(name, handler), options),
  };
}

/**
 * The JetStream command sender of a role (the gateway's, and the worker's document processor): the
 * configured prefix, partitions and timeout, and stored outcomes read from `db`.
 */
export function commandSenderOf(config: Config, nc: NatsConnection, db: SqlClient): CommandSender {
  return createJetStreamCommandSender({
    nc,
    prefix: config.natsPrefix,
    partitions: config.commandPartitions,
    defaultTimeoutMs: config.commandTimeoutMs,
    lookup: (commandId) => findStoredOutcome(db, commandId),
  });
}

/** The URL, or a clear error naming the variable. */
export function requireUrl(value: string | undefined, name: string): string {
  if (value === undefined)
    throw new ConfigError(`${name} is required for this role (or run all roles embedded without it)`);
  return value;
}
