/**
 * The relay loop, whatever it publishes to: it reads committed events from the Postgres `events` table in
 * (transaction_id, position) order and hands each batch to a publisher, checkpointing what was acked.
 *
 * One relay per database and name is active: the leader (its {@link RelayDriver} holds the lock). Others
 * stand by and retry the lock every `pollMs`. The leader runs a round when woken (a NOTIFY on `clone_outbox`,
 * a wake-up over NATS from the workers, see sql/0012, or {@link OutboxRelay.wake}), and every `pollMs` in any
 * case; it keeps going while rounds return full batches, and retries soon (10 ms, doubling up to `pollMs`)
 * while committed events wait behind a running transaction that may never NOTIFY. A failed round keeps the
 * checkpoint (past whatever prefix was acked) and is retried after a backoff; no event is ever skipped.
 */
import type pg from "pg";
import { loadConfig } from "../config";
import { ORIGIN, type StreamPoint } from "../contracts";
import { ConfigError } from "../errors";
import { type Logger, silentLogger } from "../logging";
import type { PublishedEvent } from "./published-event";
import {
  type CheckpointMove,
  type EventPublisher,
  moveCheckpoint,
  type RoundResult,
  runRound,
} from "./round";
import { backoffMs, createWakeSignal, heldBackRetryMs } from "./wake-signal";

/** The settings of a relay loop, whatever it publishes to. */
export interface RelayLoopOptions {
  /** Relay name: one leader and one checkpoint per name. Default `default`. */
  readonly name?: string;
  /** Polling fallback and standby retry period, ms. Default config `OUTBOX_POLL_MS`. */
  readonly pollMs?: number;
  /**
   * How long after a round a wake-up waits before the next, so back-to-back commits share it; a wake-up that
   * finds the relay idle for longer starts a round at once (config `OUTBOX_WAKE_DELAY_MS`). Default 0: always
   * at once.
   */
  readonly wakeDelayMs?: number;
  /** Events per round. Default 500. */
  readonly batchSize?: number;
  /**
   * Longest backoff after repeated failures, ms. Default 1000: a relay must resume within about a second of
   * Postgres or NATS answering again (a failed round costs one connection attempt or one 503).
   */
  readonly maxBackoffMs?: number;
  /** Where the relay logs (a pino logger; the relay adds `relay: name`). Default: nowhere. */
  readonly log?: Logger;
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

/** The default of {@link RelayLoopOptions.maxBackoffMs}. */
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

/**
 * The relay loop over a driver: rounds on wake-ups, polls, full batches and held-back retries, with backoff
 * after failures. Used by the JetStream relay (relay.ts) and the embedded mode's pooled relay (pooled-relay.ts).
 * @throws ConfigError for a bad `pollMs` or `batchSize`.
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
    throw new ConfigError("outbox relay batchSize must be a positive integer");
  }
  if (!(pollMs > 0)) throw new ConfigError("outbox relay pollMs must be positive");
  const log = (options.log ?? silentLogger).child({ relay: name });
  const signal = createWakeSignal(options.wakeDelayMs ?? 0);
  io.setWake?.(() => signal.wake());
  let point: StreamPoint = ORIGIN;
  /** The connection on which this relay last moved the checkpoint to `point` (it need not read it there). */
  let trustedOn: unknown;
  /** The checkpoint move the last round left to the next (it published; the move is not made yet). */
  let carried: CheckpointMove | undefined;
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
      // A failed round drops the move it was given: the next reads the checkpoint where it still is and
      // publishes those events again (JetStream drops the copies by Nats-Msg-Id).
      const move = carried;
      carried = undefined;
      round = await runRound({
        client,
        publish: io.publish,
        target: driver.target,
        name,
        batchSize,
        ...(trusted ? { checkpoint: point } : {}),
        ...(move === undefined ? {} : { carried: move }),
        goOn: () => signal.takeWake(),
      });
    } finally {
      connection.done();
    }
    point = round.checkpoint;
    trustedOn = client;
    carried = round.carried;
    if (round.published.length > 0) notify(round.published);
    if (round.error !== undefined) throw round.error;
    if (round.full || carried !== undefined) return "now";
    return round.heldBack ? "soon" : "poll";
  }

  /** Makes a carried move alone (the relay stops with one): its events are not published again on restart. */
  async function settle(): Promise<void> {
    const move = carried;
    carried = undefined;
    if (move === undefined) return;
    try {
      const connection = await driver.lead();
      if (connection === undefined) return;
      try {
        await moveCheckpoint(connection.client, name, move);
      } finally {
        connection.done();
      }
    } catch (error) {
      log.warn(describe(error), "outbox relay could not move its checkpoint while stopping");
    }
  }

  function notify(events: readonly PublishedEvent[]): void {
    try {
      options.onPublished?.(events);
    } catch (error) {
      log.error({ error: String(error) }, "outbox relay onPublished callback failed");
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
        log.warn({ failures, waitMs, ...describe(error) }, "outbox relay round failed; retrying");
        if (driver.lost()) log.warn("outbox relay stepped down");
        await signal.pause(waitMs);
        continue;
      }
      heldBack = next === "soon" ? heldBack + 1 : 0;
      if (next === "soon") await signal.nap(heldBackRetryMs(heldBack, pollMs));
      if (next === "poll") await signal.nap(pollMs);
    }
    await settle();
  }

  try {
    (await driver.lead())?.done();
  } catch (error) {
    log.warn(describe(error), "outbox relay could not reach the database; retrying");
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
