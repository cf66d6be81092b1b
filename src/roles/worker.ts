/**
 * The `worker` role: command threads behind the JetStream command receiver.
 *
 * Several worker processes may run against one NATS and one Postgres; they share the command partitions
 * (see src/transport/partition-ownership.ts) and each runs `WORKER_THREADS` threads.
 */

import type { NatsConnection } from "@nats-io/nats-core";
import { createCommandThreadPool } from "../actors/thread-pool";
import { findStoredOutcome } from "../commands/command-results";
import type { CommandHandler, CommandSender } from "../commands/envelope";
import type { Config } from "../config";
import { createPool } from "../db";
import { startDocumentProcessor } from "../documents/processor";
import { createJetStreamEventSource, type EventSource } from "../events";
import type { Logger } from "../logging";
import { logFn } from "../logging";
import type { Metrics } from "../metrics";
import { connectNats } from "../nats";
import { startJetStreamCommandReceiver } from "../transport/jetstream/command-receiver";
import { createJetStreamCommandSender } from "../transport/jetstream/command-sender";
import { ensureStreams, streamNames } from "../transport/jetstream/streams";
import type { SqlClient } from "../write-model";

/** A running role. */
export interface RunningRole {
  /** Graceful stop: no new work, in-flight work finished and acked, connections closed. */
  stop(): Promise<void>;
}

/** Starts the command worker role. */
export async function startWorkerRole(config: Config, log: Logger, metrics?: Metrics): Promise<RunningRole> {
  const databaseUrl = requireUrl(config.databaseUrl, "DATABASE_URL");
  const nats = await connectNats(requireUrl(config.natsUrl, "NATS_URL"), "clone-worker");
  await ensureStreams(nats.jsm, config.natsPrefix);
  // Few transactions at once per thread, so commands queue up behind them and share their commits.
  const perThreadPool = config.workerTransactions;
  const pool = await createCommandThreadPool({
    threads: config.workerThreads,
    entry: new URL("../../workers/command-thread.ts", import.meta.url),
    data: {
      databaseUrl,
      poolSize: perThreadPool,
      maxBatch: 64,
      minBatchWhileBusy: config.workerBusyBatch,
      logLevel: config.logLevel,
    },
    log: logFn(log, "warn"),
  });
  const receiver = await startJetStreamCommandReceiver({
    ...nats,
    prefix: config.natsPrefix,
    partitions: config.commandPartitions,
    databaseUrl,
    handler: logged(
      log,
      instrumented(
        metrics,
        wakeRelayAfterEvents(pool.handle, () => nats.nc.publish(streamNames(config.natsPrefix).outboxWake)),
      ),
    ),
    log: logFn(log),
  });
  // The document processor records its results through the same command path, as role `service`.
  const db = createPool(databaseUrl, { max: 4, applicationName: "clone-document-processor" });
  const sender = commandSenderOf(config, nats.nc, db);
  const documents = await startDocumentProcessor({
    events: instrumentedEvents(
      metrics,
      createJetStreamEventSource({ ...nats, prefix: config.natsPrefix, log: logFn(log, "warn") }),
    ),
    sender,
    db,
    chunking: config.chunking,
    log: logFn(log, "debug"),
  });
  log.info(
    { threads: config.workerThreads, partitions: receiver.ownership.owned() },
    "command worker started",
  );
  return {
    async stop() {
      const started = performance.now();
      log.info({ partitions: receiver.ownership.owned() }, "command worker stopping");
      // The document processor first: what it sends still goes through this worker's receiver.
      await documents.stop();
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

/**
 * Wraps a command handler so that the outbox relay is woken once per tick after commands that wrote events
 * (instead of a NOTIFY inside every transaction, see sql/0012_outbox_wake.sql).
 */
export function wakeRelayAfterEvents(handler: CommandHandler, wake: () => void): CommandHandler {
  let scheduled = false;
  return async (envelope) => {
    const outcome = await handler(envelope);
    if (outcome.ok && !outcome.result.duplicate && outcome.result.events.length > 0 && !scheduled) {
      scheduled = true;
      queueMicrotask(() => {
        scheduled = false;
        wake();
      });
    }
    return outcome;
  };
}

/**
 * The handler, logging every command with its ids: at debug when it succeeded or a rule refused it, at warn
 * when it failed for another reason (INTERNAL, UNAVAILABLE, ...).
 */
export function logged(log: Logger, handler: CommandHandler): CommandHandler {
  const ruled = new Set([
    "INVALID_ARGUMENT",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "FAILED_PRECONDITION",
    "ABORTED",
    "PERMISSION_DENIED",
  ]);
  return async (envelope) => {
    const started = performance.now();
    const outcome = await handler(envelope);
    const fields = {
      commandId: envelope.commandId,
      aggregateId: envelope.aggregateId,
      commandType: envelope.commandType,
      ms: Math.round((performance.now() - started) * 10) / 10,
    };
    if (outcome.ok)
      log.debug(
        { ...fields, version: outcome.result.version, duplicate: outcome.result.duplicate },
        "command applied",
      );
    else if (ruled.has(outcome.error.code))
      log.debug({ ...fields, code: outcome.error.code }, "command refused");
    else log.warn({ ...fields, code: outcome.error.code, error: outcome.error.message }, "command failed");
    return outcome;
  };
}

/** The handler, timed per command type and outcome when there are metrics. */
function instrumented(metrics: Metrics | undefined, handler: CommandHandler): CommandHandler {
  return metrics ? metrics.commands.instrumentHandler(handler) : handler;
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
    throw new Error(`${name} is required for this role (or run all roles embedded without it)`);
  return value;
}
