/**
 * The `consistency` role: the consistency coordinator and its piscina pool of refresh threads.
 *
 * One leader per database (advisory lock on its own connection); other instances stand by and take over
 * when the leader's connection drops. Scale the refresh work with CONSISTENCY_THREADS.
 */
import pg from "pg";
import { Piscina } from "piscina";
import type { Config } from "../config";
import type { RefreshResult } from "../consistency/apply-refresh";
import { type ConsistencyService, startConsistencyService } from "../consistency/consistency-service";
import { eventStreamBounds, startJetStreamEventFeed } from "../consistency/event-feed";
import { consistencySubject, encodeUpdate } from "../consistency/update-wire";
import { createPool } from "../db";
import type { Logger } from "../logging";
import { type Metrics, reconcileMetrics, refreshMetrics } from "../metrics";
import { connectNats } from "../nats";
import { ensureStreams } from "../transport/jetstream/streams";
import { type RunningRole, requireUrl } from "./worker";

/** Starts the consistency role; resolves once it leads or stands by. */
export async function startConsistencyRole(
  config: Config,
  log: Logger,
  metrics?: Metrics,
): Promise<RunningRole> {
  const databaseUrl = requireUrl(config.databaseUrl, "DATABASE_URL");
  const nats = await connectNats(requireUrl(config.natsUrl, "NATS_URL"), "clone-consistency");
  await ensureStreams(nats.jsm, config.natsPrefix, config.natsStreamReplicas);
  const db = createPool(databaseUrl, { max: 4, applicationName: "clone-consistency" });
  const threads = config.consistencyThreads;
  const pool = new Piscina({
    filename: new URL("../../workers/consistency-refresh.ts", import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
  });
  const subject = consistencySubject(config.natsPrefix);
  let service: ConsistencyService | undefined;
  let lock: pg.Client | undefined;
  let stopped = false;
  /** The election in progress, if any: one at a time, and a stop waits for it. */
  let electing: Promise<void> | undefined;

  function elect(): Promise<void> {
    electing ??= lead().finally(() => {
      electing = undefined;
    });
    return electing;
  }

  async function lead(): Promise<void> {
    const client = new pg.Client({
      connectionString: databaseUrl,
      application_name: "clone-consistency-leader",
    });
    await client.connect();
    const res = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext($1)) AS ok", [
      `clone_consistency:${config.natsPrefix}`,
    ]);
    if (!res.rows[0]?.ok || stopped) {
      await client.end();
      return;
    }
    lock = client;
    client.on("error", (error) => {
      log.error({ error: String(error) }, "consistency leader lost its lock connection; standing by");
      lock = undefined;
      void service?.stop();
      service = undefined;
    });
    const starting = startConsistencyService({
      db,
      runRefresh: (task) =>
        pool.run({
          databaseUrl,
          poolSize: 2,
          task,
          mode: config.consistencyRefreshMode,
        }) as Promise<RefreshResult>,
      startFeed: (afterSeq, onEvent) =>
        startJetStreamEventFeed(
          nats.nc,
          config.natsPrefix,
          afterSeq,
          onEvent,
          log.child({ component: "event-feed" }),
        ),
      bounds: () => eventStreamBounds(nats.jsm, config.natsPrefix),
      publish: (update, caughtUpAt) => nats.nc.publish(subject, encodeUpdate(update, caughtUpAt)),
      ...(metrics ? refreshMetrics(metrics, config.consistencyRefreshMode) : {}),
      // Only the leader reconciles: the reconciler is part of the service it runs.
      reconcile: { ...config.reconcile, ...(metrics ? reconcileMetrics(metrics) : {}) },
      log: log.child({ component: "consistency-service" }),
    });
    try {
      service = await starting;
    } catch (error) {
      // Give the lock back, or this process would hold the leadership without leading.
      lock = undefined;
      await client.end().catch(() => {});
      throw error;
    }
    log.info({ threads, mode: config.consistencyRefreshMode }, "consistency leader: refreshing read views");
  }

  await elect();
  if (!service) log.info("consistency standby: another instance leads");
  const timer = setInterval(() => {
    if (!service && !stopped)
      elect().catch((error: unknown) => log.warn({ error: String(error) }, "leader election failed"));
  }, config.outboxPollMs);
  log.info({ leader: service !== undefined }, "consistency started");
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await electing?.catch(() => {});
      // Finishes the refreshes in flight (their checkpoint included); pending ones are left to the next leader.
      await service?.stop();
      service = undefined;
      // Ending the lock's connection hands the leadership to a standby.
      const held = lock;
      lock = undefined;
      await held?.end().catch(() => {});
      await pool.destroy();
      await nats.nc.drain();
      await db.end();
    },
  };
}
