/**
 * The outbox relay: publishes committed events from the Postgres `events` table to the JetStream EVENTS
 * stream, in (transaction_id, position) order, each exactly once within JetStream's duplicate window.
 *
 * One relay per database and name is active: the leader, holding an advisory lock on its own connection
 * (see relay-session.ts). Others stand by and retry the lock every `pollMs`. The leader runs a round when a
 * NOTIFY on `clone_outbox` arrives (workers wake the relay role over NATS instead, see sql/0012), when {@link OutboxRelay.wake} is called, and every `pollMs`
 * in any case; it keeps going while rounds return full batches, and retries soon (10 ms, doubling up to
 * `pollMs`) while committed events wait behind a running transaction that may never NOTIFY. A failed round keeps the checkpoint (past
 * whatever prefix was acked) and is retried after a backoff; no event is ever skipped.
 *
 * A crash between publishing and checkpointing re-publishes the batch on restart; JetStream drops the copies
 * by `Nats-Msg-Id` = event id within its duplicate window (DUPLICATE_WINDOW_MS). Consumers must still
 * tolerate a repeat after a longer outage, e.g. by the event's position.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import type pg from "pg";
import { loadConfig } from "../config";
import { ORIGIN, type StreamPoint } from "../contracts";
import { AppError } from "../errors/app-error";
import { createAckedPublisher } from "../transport/jetstream/acked-publisher";
import { streamNames } from "../transport/jetstream/streams";
import { publishBatch } from "./publish-batch";
import type { PublishedEvent } from "./published-event";
import { openRelaySession, type RelaySession } from "./relay-session";
import { type EventPublisher, type RoundResult, runRound } from "./round";
import { backoffMs, createWakeSignal, heldBackRetryMs } from "./wake-signal";

/** Options of {@link startOutboxRelay}. */
export interface OutboxRelayOptions {
  readonly databaseUrl: string;
  /** The NATS connection events are published on (to the EVENTS stream). */
  readonly nc: NatsConnection;
  /** Stream and subject prefix (config `NATS_PREFIX`). */
  readonly prefix: string;
  /** Relay name: one leader and one checkpoint per name. Default `default`. */
  readonly name?: string;
  /** Polling fallback and standby retry period, ms. Default config `OUTBOX_POLL_MS`. */
  readonly pollMs?: number;
  /**
   * How long a wake-up waits before the round it starts, so the commits of those milliseconds share it
   * (config `OUTBOX_WAKE_DELAY_MS`). Default 0: at once.
   */
  readonly wakeDelayMs?: number;
  /** Events per round. Default 500. */
  readonly batchSize?: number;
  /** Ack timeout per published message, ms. Default 5000. */
  readonly publishTimeoutMs?: number;
  /**
   * Longest backoff after repeated failures, ms. Default 1000: a relay must resume within about a second of
   * Postgres or NATS answering again (a failed round costs one connection attempt or one 503).
   */
  readonly maxBackoffMs?: number;
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
  /** Called after each checkpointed batch, in order (for metrics). Errors it throws are logged. */
  readonly onPublished?: (events: readonly PublishedEvent[]) => void;
}

/** A running relay. */
export interface OutboxRelay {
  /** Finishes the round in flight, then closes the connection (freeing the lock for a standby). */
  stop(): Promise<void>;
  /** True while this relay holds the leadership. */
  isLeader(): boolean;
  /** The checkpoint as this relay last read or moved it: the last published event; ORIGIN before any round. */
  published(): StreamPoint;
  /** Runs a round now (a leader) or retries the lock now (a standby). */
  wake(): void;
}

/**
 * Starts a relay. Resolves after its first attempt to take the leadership, so of relays started together
 * exactly one reports {@link OutboxRelay.isLeader}. Never rejects for an unreachable Postgres or NATS: it
 * logs and keeps retrying.
 * @throws AppError INVALID_ARGUMENT for a bad `pollMs` or `batchSize`; ConfigError when `pollMs` is left to
 * the configuration and the environment is invalid.
 */
export async function startOutboxRelay(options: OutboxRelayOptions): Promise<OutboxRelay> {
  const name = options.name ?? "default";
  const log = options.log ?? (() => {});
  const names = streamNames(options.prefix);
  let session: RelaySession | undefined;
  let wake = () => {};

  async function currentSession(): Promise<RelaySession> {
    if (session !== undefined && !session.lost()) return session;
    await session?.close();
    session = undefined;
    session = await openRelaySession({
      databaseUrl: options.databaseUrl,
      name,
      onNotify: () => wake(),
      onLost: (error) => {
        log("outbox relay lost its database connection", { name, error: error?.message });
        wake();
      },
    });
    return session;
  }

  const driver: RelayDriver = {
    target: "JetStream",
    async lead() {
      const s = await currentSession();
      if (s.leading()) return { client: s.client, done: () => {} };
      if (!(await s.tryLead())) return undefined;
      log("outbox relay is the leader", { name });
      return { client: s.client, done: () => {} };
    },
    leading: () => session?.leading() ?? false,
    lost: () => session?.lost() ?? false,
    close: async () => {
      await session?.close();
    },
  };
  const publisher = createAckedPublisher(options.nc);
  const relay = await runRelay(options, driver, {
    publish: (events) =>
      publishBatch(publisher, names, events, {
        ...(options.publishTimeoutMs === undefined ? {} : { timeoutMs: options.publishTimeoutMs }),
      }),
    setWake: (fn) => {
      wake = fn;
    },
  });
  return {
    ...relay,
    async stop() {
      await relay.stop();
      publisher.close();
    },
  };
}

/** The default of {@link OutboxRelayOptions.maxBackoffMs}. */
const DEFAULT_MAX_BACKOFF_MS = 1_000;

/** A connection for one round; `done` gives it back. */
export interface RelayConnection {
  readonly client: pg.ClientBase;
  done(): void;
}

/** How a relay gets its connection and leadership: a dedicated session (real tier) or a shared pool. */
export interface RelayDriver {
  /** Where events are published, for messages. */
  readonly target: string;
  /** Takes (or keeps) the leadership; a connection for one round, or undefined while standing by. */
  lead(): Promise<RelayConnection | undefined>;
  leading(): boolean;
  /** True once the leader's connection was lost (it steps down). */
  lost(): boolean;
  close(): Promise<void>;
}

/** The settings every relay shares (see {@link OutboxRelayOptions}). */
export type RelayLoopOptions = Pick<
  OutboxRelayOptions,
  "name" | "pollMs" | "batchSize" | "maxBackoffMs" | "log" | "onPublished" | "wakeDelayMs"
>;

/**
 * The relay loop over a driver: rounds on wake-ups, polls, full batches and held-back retries, with backoff
 * after failures. Used by {@link startOutboxRelay} and the embedded mode's pooled relay.
 */
export async function runRelay(
  options: RelayLoopOptions,
  driver: RelayDriver,
  io: { readonly publish: EventPublisher; readonly setWake?: (wake: () => void) => void },
): Promise<OutboxRelay> {
  const name = options.name ?? "default";
  const pollMs = options.pollMs ?? loadConfig().outboxPollMs;
  const batchSize = options.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new AppError("INVALID_ARGUMENT", "outbox relay batchSize must be a positive integer");
  }
  if (!(pollMs > 0)) throw new AppError("INVALID_ARGUMENT", "outbox relay pollMs must be positive");
  const log = options.log ?? (() => {});
  const signal = createWakeSignal(options.wakeDelayMs ?? 0);
  io.setWake?.(() => signal.wake());
  let point: StreamPoint = ORIGIN;
  /** The connection on which this relay last moved the checkpoint to `point` (it need not read it there). */
  let trustedOn: unknown;
  let stopped = false;
  let failures = 0;

  /** One step; says when the next should run. */
  async function step(): Promise<"now" | "soon" | "poll"> {
    const connection = await driver.lead();
    if (connection === undefined) return "poll";
    let round: RoundResult;
    const client = connection.client;
    try {
      if (stopped) return "poll";
      const trusted = trustedOn === client;
      trustedOn = undefined;
      round = await runRound({
        client,
        publish: io.publish,
        target: driver.target,
        name,
        batchSize,
        ...(trusted ? { checkpoint: point } : {}),
      });
    } finally {
      connection.done();
    }
    point = round.checkpoint;
    trustedOn = client;
    if (round.published.length > 0) notify(round.published);
    if (round.error !== undefined) throw round.error;
    if (round.full) return "now";
    return round.heldBack ? "soon" : "poll";
  }

  function notify(events: readonly PublishedEvent[]): void {
    try {
      options.onPublished?.(events);
    } catch (error) {
      log("outbox relay onPublished callback failed", { name, error: String(error) });
    }
  }

  async function loop(): Promise<void> {
    let heldBack = 0;
    while (!stopped) {
      let next: "now" | "soon" | "poll";
      try {
        next = await step();
        failures = 0;
      } catch (error) {
        failures += 1;
        const waitMs = backoffMs(failures, options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS);
        log("outbox relay round failed; retrying", { name, failures, waitMs, ...describe(error) });
        if (driver.lost()) log("outbox relay stepped down", { name });
        await signal.pause(waitMs);
        continue;
      }
      heldBack = next === "soon" ? heldBack + 1 : 0;
      if (next === "soon") await signal.nap(heldBackRetryMs(heldBack, pollMs));
      if (next === "poll") await signal.nap(pollMs);
    }
  }

  try {
    (await driver.lead())?.done();
  } catch (error) {
    log("outbox relay could not reach the database; retrying", { name, ...describe(error) });
  }
  const running = loop();
  let stopping: Promise<void> | undefined;

  return {
    stop() {
      stopping ??= (async () => {
        stopped = true;
        signal.stop();
        await running;
        await driver.close();
      })();
      return stopping;
    },
    isLeader: () => driver.leading(),
    published: () => point,
    wake: () => signal.wake(),
  };
}

function describe(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { error: String(error) };
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return { error: error.message, ...(cause === undefined ? {} : { cause }) };
}
