/**
 * The `gateway` role: the gRPC server and the HTTP/1.1 server (gRPC-web, Connect, /metrics, /healthz,
 * /readyz) in front of the command bus and the read side. Stateless: run as many as you like behind a load
 * balancer.
 */
import type pg from "pg";
import { createCommandService } from "../commands/command-service";
import type { Config } from "../config";
import { consistencySubject, decodeUpdate } from "../consistency/update-wire";
import type { CommandSender } from "../contracts";
import { createPool } from "../db";
import {
  authInterceptor,
  createAuthenticator,
  type Interceptor,
  maxRequestBytes,
  requestRulesInterceptor,
  tracingInterceptor,
} from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { QueryService } from "../gen/clone/v1/query_service_pb";
import { createHealthMonitor, type HealthMonitor, natsProbe, postgresProbe } from "../health";
import { createGatewayServers, type GatewayServers } from "../http";
import type { Logger } from "../logging";
import { type Metrics, metricsInterceptor } from "../metrics";
import { connectNats } from "../nats";
import { createNatsLiveTurns } from "../queries/live-turns";
import { createReadSide, type ReadSide } from "../queries/read-side";
import { ensureStreams } from "../transport/jetstream/streams";
import { createOwnerLookup } from "../write-model";
import { commandSenderOf, type RunningRole, requireUrl } from "./worker";

/** A running gateway and the port it bound. */
export interface RunningGateway extends RunningRole {
  readonly grpcPort: number;
  /** The HTTP/1.1 port (gRPC-web, Connect, /metrics, /healthz, /readyz). */
  readonly httpPort: number;
}

/** Everything the gateway's services need, from whichever tier (Postgres + JetStream, or embedded). */
export interface GatewayDeps {
  readonly db: pg.Pool;
  readonly sender: CommandSender;
  /** The QueryService (see src/queries/read-side.ts). */
  readonly readSide?: ReadSide;
  /** Serves grpc.health.v1.Health and /readyz (see src/health). */
  readonly health?: HealthMonitor;
  /** This process's metrics: RPC, command and query instruments, and /metrics on the HTTP port. */
  readonly metrics?: Metrics;
}

/** Builds the gRPC and HTTP servers over the given dependencies: one set of services and interceptors. */
export function buildGateway(config: Config, deps: GatewayDeps, log: Logger): GatewayServers {
  const commands = createCommandService({
    sender: deps.sender,
    storeBlob: async (commandId, content) => {
      await deps.db.query(
        "INSERT INTO command_blobs (command_id, content) VALUES ($1, $2) ON CONFLICT (command_id) DO NOTHING",
        [commandId, content],
      );
    },
    ownerOf: createOwnerLookup(deps.db),
  });
  const services = deps.readSide
    ? [commands.registration, deps.readSide.registration]
    : [commands.registration];
  const interceptors: Interceptor[] = [
    tracingInterceptor(),
    ...(deps.metrics ? [metricsInterceptor(deps.metrics)] : []),
    requestRulesInterceptor(services.map((s) => s.service)),
    authInterceptor(createAuthenticator({ jwtSecret: config.auth.jwtSecret, jwksUrl: config.auth.jwksUrl })),
    ...commands.interceptors,
  ];
  return createGatewayServers({
    services,
    interceptors,
    maxReceiveMessageBytes: maxRequestBytes,
    corsOrigins: config.corsOrigins,
    ...(deps.health ? { health: deps.health } : {}),
    ...(deps.metrics ? { metrics: deps.metrics.render } : {}),
    log,
  });
}

/** The read side's metric hooks. */
export function readSideMetrics(metrics: Metrics) {
  return {
    observe: metrics.queries.observe,
    onFallback: metrics.queries.fallback,
    cacheHooks: {
      onHit: metrics.queries.cacheHit,
      onMiss: metrics.queries.cacheMiss,
      onRefresh: metrics.queries.cacheRefresh,
      track: (stats: () => { entries: number; bytes: number }) => {
        metrics.queries.trackCache(stats);
      },
    },
  };
}

/** Starts the gateway on Postgres + JetStream. */
export async function startGatewayRole(
  config: Config,
  log: Logger,
  metrics?: Metrics,
): Promise<RunningGateway> {
  const databaseUrl = requireUrl(config.databaseUrl, "DATABASE_URL");
  const db = createPool(databaseUrl, {
    max: config.dbPoolSize,
    applicationName: "clone-gateway",
  });
  // The views are read from the replica when there is one; the write model always from the primary.
  const readDatabaseUrl =
    config.readDatabaseUrl !== undefined && config.readDatabaseUrl !== databaseUrl
      ? config.readDatabaseUrl
      : undefined;
  const readDb =
    readDatabaseUrl === undefined
      ? undefined
      : createPool(readDatabaseUrl, { max: config.dbPoolSize, applicationName: "clone-gateway-reads" });
  const nats = await connectNats(requireUrl(config.natsUrl, "NATS_URL"), "clone-gateway");
  await ensureStreams(nats.jsm, config.natsPrefix, config.natsStreamReplicas);
  const sender = commandSenderOf(config, nats.nc, db);
  const live = createNatsLiveTurns(nats.nc, config.natsPrefix);
  const readSide = await createReadSide({
    db,
    ...(readDb === undefined ? {} : { readDb }),
    ownerOf: createOwnerLookup(db),
    live,
    cache: config.cache,
    reads: config.reads,
    pageTokenSecret: config.auth.jwtSecret,
    ...(metrics ? readSideMetrics(metrics) : {}),
  });
  const updates = nats.nc.subscribe(consistencySubject(config.natsPrefix), {
    callback: (err, msg) => {
      if (err) return;
      try {
        readSide.accept(decodeUpdate(msg.data));
      } catch (error) {
        log.warn({ error: String(error) }, "unreadable consistency update");
      }
    },
  });
  // An update missed while disconnected: drop the whole cache and re-read the progress.
  void (async () => {
    for await (const s of nats.nc.status()) {
      if (s.type === "reconnect") {
        readSide.cache.invalidateAll();
        await readSide.tracker.refresh().catch(() => {});
      }
    }
  })();
  const stopLagMetric = readSide.replica && metrics?.queries.trackReplicaLag(readSide.replica.lagSeconds);
  const health = createHealthMonitor({
    probes: [
      postgresProbe(databaseUrl),
      ...(readDatabaseUrl === undefined ? [] : [postgresProbe(readDatabaseUrl, "postgres-read")]),
      natsProbe(nats.nc),
    ],
    services: [CommandService.typeName, QueryService.typeName],
    onChange: (name, status) =>
      status.up
        ? log.info({ dependency: name }, "dependency up")
        : log.warn({ dependency: name, error: status.error }, "dependency down"),
  });
  await health.start();
  const servers = buildGateway(
    config,
    { db, sender, readSide, health, ...(metrics ? { metrics } : {}) },
    log,
  );
  const { grpcPort, httpPort } = await servers.listen(config.grpc.host, {
    grpc: config.grpc.port,
    http: config.httpPort,
  });
  log.info({ grpcPort, httpPort }, "gateway listening");
  return {
    grpcPort,
    httpPort,
    async stop() {
      const healthy = health.readiness().ready; // before the close, which marks everything NOT_SERVING
      const closing = servers.close(); // no new calls; running ones get up to the server's grace
      // A command call waits for its answer from the bus; one still waiting after a moment (at once while a
      // dependency is down: it waits on retries that will not succeed soon) is answered UNAVAILABLE (retry
      // with the same command_id: whatever was applied answers from its stored result). So a stop takes as
      // long as the work in flight, not the grace.
      const answerWaiting = setTimeout(() => void sender.close(), healthy ? 1_000 : 0);
      await closing;
      clearTimeout(answerWaiting);
      updates.unsubscribe();
      live.close();
      await sender.close();
      readSide.stop();
      stopLagMetric?.();
      await nats.nc.drain();
      await db.end();
      await readDb?.end();
    },
  };
}
