/**
 * The `relay` role: publishes the outbox to the EVENTS stream. Run two or more for availability: one leads
 * (advisory lock), the others stand by and take over within `OUTBOX_POLL_MS` when it dies.
 */
import type { Config } from "../config";
import { createPool } from "../db";
import type { Logger } from "../logging";
import type { Metrics } from "../metrics";
import { connectNats } from "../nats";
import { startOutboxRelay } from "../outbox";
import { startRetention } from "../retention";
import { ensureStreams, streamNames } from "../transport/jetstream/streams";
import { type RunningRole, requireUrl } from "./worker";

/** Starts the outbox relay role. */
export async function startRelayRole(config: Config, log: Logger, metrics?: Metrics): Promise<RunningRole> {
  const nats = await connectNats(requireUrl(config.natsUrl, "NATS_URL"), "clone-relay");
  await ensureStreams(nats.jsm, config.natsPrefix, config.natsStreamReplicas);
  const relay = await startOutboxRelay({
    databaseUrl: requireUrl(config.databaseUrl, "DATABASE_URL"),
    nc: nats.nc,
    prefix: config.natsPrefix,
    pollMs: config.outboxPollMs,
    wakeDelayMs: config.outboxWakeDelayMs,
    log: log.child({ component: "outbox-relay" }),
    ...(metrics ? { onPublished: metrics.outbox.published } : {}),
  });
  // The relay's process also exports the outbox backlog, the dead letters waiting and the JetStream consumers'
  // pending counts.
  const backlogDb = createPool(requireUrl(config.databaseUrl, "DATABASE_URL"), {
    max: 1,
    applicationName: "clone-relay-metrics",
  });
  if (metrics) {
    const names = streamNames(config.natsPrefix);
    metrics.outbox.trackBacklog(backlogDb);
    metrics.deadLetters.trackDeadLetters(backlogDb);
    metrics.retention.trackCommandStore(backlogDb);
    metrics.jetstream.trackConsumers(nats.jsm, [names.commandStream, names.eventStream]);
  }
  // One relay process per database (the holder of an advisory lock) prunes old command results and blobs.
  const retentionDb = createPool(requireUrl(config.databaseUrl, "DATABASE_URL"), {
    max: 2,
    applicationName: "clone-retention",
  });
  const retention = startRetention({
    pool: retentionDb,
    retentionMs: config.retention.commandResultMs,
    intervalMs: config.retention.intervalMs,
    batchRows: config.retention.batchRows,
    log: log.child({ component: "retention" }),
    ...(metrics ? { onBatch: (table, rows) => metrics.retention.pruned.inc({ table }, rows) } : {}),
  });
  // Workers wake the relay after each commit with events; wake-ups that come while a round runs share the next.
  const wake = nats.nc.subscribe(streamNames(config.natsPrefix).outboxWake, { callback: () => relay.wake() });
  log.info({ leader: relay.isLeader() }, "outbox relay started");
  return {
    async stop() {
      // Finishes the round in flight (published and checkpointed), then frees the lock for a standby.
      wake.unsubscribe();
      await relay.stop();
      await retention.stop();
      await retentionDb.end();
      await backlogDb.end();
      await nats.nc.drain();
    },
  };
}
