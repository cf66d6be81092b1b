/**
 * The embedded mode: every role in this process, on an embedded Postgres (PGlite) and in-process buses,
 * for trying the service without Postgres or NATS. The pieces are the real tier's:
 *
 *   gateway (buildGateway) -> in-process sender -> command runtime (mailboxes + group-commit executor)
 *   -> events table -> pooled outbox relay -> in-process event bus -> document processor -> command path
 *                                                                  -> consistency service -> read views,
 *                                                                     gateway cache and tracker (QueryService)
 *
 * Every database access shares one connection (see database.ts), so commands apply one transaction at a time
 * (group commit still batches up to 16 commands, `MAX_PREPARED_PARTS`, per statement). The relay is woken after each command that
 * emitted events, and polls every `OUTBOX_POLL_MS` in any case.
 */

import type pg from "pg";
import { createCommandRuntime } from "../actors/command-thread";
import { startCommandDeadLetterRetrier } from "../actors/dead-letter-command";
import type { Config } from "../config";
import { applyRefreshTask } from "../consistency/apply-refresh";
import { startConsistencyService } from "../consistency/consistency-service";
import { migrate } from "../db";
import { DOCUMENT_PROCESSOR, startDocumentProcessor } from "../documents/processor";
import { startUserErasure, userErasureConsumers } from "../erasure";
import { createInProcessEventSource } from "../events";
import { createPgCursorStore, replayPublished } from "../events/durable-cursors";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { QueryService } from "../gen/clone/v1/query_service_pb";
import { createHealthMonitor, poolProbe } from "../health";
import type { Logger } from "../logging";
import { createMetrics, refreshMetrics } from "../metrics";
import { type OutboxRelay, startPooledOutboxRelay } from "../outbox";
import { createLiveTurnsHub, liveTypes } from "../queries/live-turns";
import { createReadSide } from "../queries/read-side";
import { buildGateway, readSideMetrics } from "../roles/gateway";
import { tracingOn } from "../tracing";
import { createInProcessCommandSender } from "../transport/in-process";
import { createOwnerLookup } from "../write-model";
import { startEmbeddedDatabase } from "./database";
import { drainEmbedded } from "./drain";

/** The running embedded mode. */
export interface RunningEmbedded {
  /** The gRPC port bound (GRPC_PORT, or the one picked for 0). */
  readonly grpcPort: number;
  /** The HTTP port bound (HTTP_PORT, or the one picked for 0): gRPC-web, Connect, /metrics, /healthz, /readyz. */
  readonly httpPort: number;
  /** The one-connection pool to the embedded Postgres (for tests and tools; it is shared, keep queries short). */
  readonly pool: pg.Pool;
  /** Start-up time in ms: total, PGlite alone, and migrations. */
  readonly timings: {
    readonly totalMs: number;
    readonly pgliteMs: number;
    readonly migrateMs: number;
    /** True when PGlite loaded the cached initdb snapshot (see initdb-snapshot.ts). */
    readonly fromSnapshot: boolean;
  };
  /**
   * Graceful stop: no new calls, the commands accepted are applied, their events published and handled (up
   * to `graceMs`), then everything is closed. Safe to call twice.
   */
  stop(graceMs?: number): Promise<void>;
}

/** Starts the embedded mode on `config.embeddedDataDir`, binding `config.grpc`. */
export async function startEmbedded(config: Config, log: Logger): Promise<RunningEmbedded> {
  const started = performance.now();
  const database = await startEmbeddedDatabase({
    dataDir: config.embeddedDataDir,
    onIdleError: (error) => log.warn({ error: error.message }, "embedded database connection failed"),
  });
  const cleanup: Array<() => Promise<void>> = [() => database.stop()];
  try {
    const migrateStarted = performance.now();
    const { applied } = await migrate(database.pool);
    const migrateMs = Math.round(performance.now() - migrateStarted);
    if (applied.length > 0) log.info({ applied }, "migrations applied");

    const metrics = createMetrics({ role: "all" });
    // The document processor's cursor is durable (Postgres), so a document accepted before a crash is processed
    // after the restart: the events published after it are read again from the outbox below.
    const events = createInProcessEventSource({
      log: log.child({ component: "event-source" }),
      cursors: {
        store: createPgCursorStore(database.pool),
        names: [DOCUMENT_PROCESSOR, ...userErasureConsumers.map((c) => c.name)],
      },
    });
    let relay: OutboxRelay | undefined;
    const sender = createInProcessCommandSender({
      runtime: createCommandRuntime({
        connect: () => database.pool.connect(),
        concurrency: 1,
        log: log.child({ component: "command-runtime" }),
      }),
      defaultTimeoutMs: config.commandTimeoutMs,
      onCommitted: () => relay?.wake(),
      log: log.child({ component: "command-sender" }),
    });
    cleanup.unshift(() => sender.close());
    const documents = await startDocumentProcessor({
      events,
      sender,
      db: database.pool,
      chunking: config.chunking,
      log: log.child({ role: "documents", component: "document-processor" }),
    });
    cleanup.unshift(() => documents.stop());
    const erasure = await startUserErasure({
      events,
      db: database.pool,
      sender,
      log: log.child({ role: "erasure", component: "user-erasure" }),
    });
    cleanup.unshift(() => erasure.stop());
    const replayed = await replayPublished(database.pool, [
      DOCUMENT_PROCESSOR,
      ...userErasureConsumers.map((c) => c.name),
    ]);
    if (replayed.length > 0) {
      log.info(
        { events: replayed.length },
        "events published before the last stop handed to their subscribers again",
      );
      await events.publish(replayed);
    }
    relay = await startPooledOutboxRelay({
      onPublished: metrics.outbox.published,
      pool: database.pool,
      publish: (batch) => events.publish(batch),
      pollMs: config.outboxPollMs,
      log: log.child({ role: "relay", component: "outbox-relay" }),
    });
    const runningRelay = relay;
    cleanup.unshift(() => runningRelay.stop());
    const commandRetrier = startCommandDeadLetterRetrier({
      connect: () => database.pool.connect(),
      db: database.pool,
      log: log.child({ component: "command-dead-letters" }),
    });
    cleanup.unshift(() => commandRetrier.stop());

    // The read side: the consistency service refreshes the views inline (the one connection cannot be
    // shared with piscina threads) and feeds the gateway's tracker directly instead of over NATS.
    const live = createLiveTurnsHub();
    const liveFeed = await events.subscribe("live-turns", liveTypes, async (event) => live.dispatch(event));
    cleanup.unshift(() => liveFeed.stop());
    const readSide = await createReadSide({
      ...readSideMetrics(metrics),
      db: database.pool,
      ownerOf: createOwnerLookup(database.pool),
      live,
      cache: config.cache,
      reads: config.reads,
      pageTokenSecret: config.auth.jwtSecret,
    });
    let seq = 0;
    const consistency = await startConsistencyService({
      ...refreshMetrics(metrics, config.consistencyRefreshMode),
      db: database.pool,
      runRefresh: (task) => applyRefreshTask(database.pool, task, config.consistencyRefreshMode),
      startFeed: async (_afterSeq, onEvent) =>
        // No relay publish in between: a refresh continues the trace of the command that wrote the event.
        events.subscribe("consistency", [], async (event) =>
          onEvent(event, ++seq, 0, tracingOn() ? String(event.metadata.traceparent ?? "") : undefined),
        ),
      publish: (update, caughtUpAt) =>
        readSide.tracker.apply(caughtUpAt === undefined ? update : { ...update, caughtUpAt }),
      log: log.child({ role: "consistency", component: "consistency-service" }),
    });
    cleanup.unshift(() => consistency.stop());

    const gatewayLog = log.child({ role: "gateway" });
    // Health: the embedded database is only reached through the shared connection, probed gently.
    const health = createHealthMonitor({
      probes: [poolProbe(database.pool)],
      services: [CommandService.typeName, QueryService.typeName],
      intervalMs: 1_000,
      timeoutMs: 5_000,
    });
    await health.start();
    cleanup.unshift(() => health.stop());
    const servers = buildGateway(
      config,
      { db: database.pool, sender, readSide, health, metrics },
      gatewayLog,
    );
    const { grpcPort, httpPort } = await servers.listen(config.grpc.host, {
      grpc: config.grpc.port,
      http: config.httpPort,
    });
    gatewayLog.info({ grpcPort, httpPort }, "gateway listening");
    const timings = {
      totalMs: Math.round(performance.now() - started),
      pgliteMs: database.startMs,
      migrateMs,
      fromSnapshot: database.fromSnapshot,
    };

    let stopping: Promise<void> | undefined;
    return {
      grpcPort,
      httpPort,
      pool: database.pool,
      timings,
      stop(graceMs = 10_000) {
        stopping ??= (async () => {
          await servers.close();
          const drained = await drainEmbedded({
            pool: database.pool,
            runtime: sender.runtime,
            events,
            relay: runningRelay,
            graceMs,
          });
          if (!drained) log.warn({ graceMs }, "stopping with events not yet published or handled");
          for (const step of cleanup) await step();
        })();
        return stopping;
      },
    };
  } catch (error) {
    for (const step of cleanup) await step().catch(() => {});
    throw error;
  }
}
