/**
 * Keeping a JetStream consumer's pulls going across NATS restarts. The client's own recovery of a consumer
 * waits for two missed idle heartbeats, then backs off for the pull's `expires` after any failed lookup (30 s
 * by default): read views stood still for ~44 s, and the document processor for ~21 s, after a NATS restart.
 * {@link keepConsuming} opens the consumer, and opens it again after each reconnect of the connection and
 * whenever its owner asks (heartbeats missed), retrying every {@link CONSUMER_RETRY_MS} until JetStream
 * answers. Used by the consistency role's ordered event feed and by the durable event source.
 */
import type { ConsumerMessages } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Logger } from "../../logging";

/**
 * How long each pull waits (ms); the server's idle heartbeat is half of it, and two missed heartbeats (a
 * consumer lost without a reconnect the client saw) make the owner start over.
 */
export const CONSUMER_EXPIRES_MS = 4_000;
/** How long one JetStream API request of a consumer being (re)opened may take. */
export const CONSUMER_API_TIMEOUT_MS = 2_000;
/** Time between attempts to open a consumer again while JetStream does not answer. */
export const CONSUMER_RETRY_MS = 250;

const RECONNECTED = "NATS reconnected";

/** A consumer kept going by {@link keepConsuming}. */
export interface ConsumerRestarts {
  /** The current consumer's generation, bumped at each start-over: what an older one delivers is stale. */
  generation(): number;
  /** Closes the current consumer and opens a new one; asked during a start-over, it runs again afterwards. */
  startOver(reason: string): void;
  /** Stops starting over and waits for a start-over in progress (the owner closes its last consumer). */
  stop(): Promise<void>;
}

/** Options of {@link keepConsuming}. */
export interface KeepConsumingOptions {
  readonly nc: NatsConnection;
  /** Opens a consumer of `generation` (throws while JetStream does not answer). */
  readonly open: (generation: number) => Promise<void>;
  /** Closes the current consumer, before a new one is opened. */
  readonly close: () => void;
  /** What is consumed, for the logs (`event feed`). */
  readonly what: string;
  /** Fields of the log line of a start-over (where it resumes). */
  readonly fields?: () => Record<string, unknown>;
  readonly log?: Logger;
}

/** Opens the consumer (a failure is the caller's), then keeps it going; see the module comment. */
export async function keepConsuming(options: KeepConsumingOptions): Promise<ConsumerRestarts> {
  const { log, what } = options;
  let generation = 0;
  let stopped = false;
  /** The start-over in progress, and whether another was asked for meanwhile. */
  let restarting: Promise<void> | undefined;
  let again = false;
  /** Whether a start-over asked for during one has another reason than a reconnect. */
  let againForced = false;
  /** False from a disconnect to the next reconnect. */
  let connected = true;
  /** Reconnects so far. */
  let epoch = 0;

  function startOver(reason: string): void {
    if (stopped) return;
    if (restarting) {
      again = true;
      if (reason !== RECONNECTED) againForced = true;
      return;
    }
    restarting = (async () => {
      do {
        again = false;
        againForced = false;
        generation++;
        options.close();
        for (let attempt = 0; !stopped; attempt++) {
          // A request made while the connection is down would wait out its whole timeout after NATS is back.
          while (!connected && !stopped) await Bun.sleep(CONSUMER_RETRY_MS / 5);
          const at = epoch;
          try {
            await options.open(generation);
            // A consumer opened after the last reconnect needs no other start-over for it: closing it at once
            // would leave its pull waiting on the server, where it would take (and lose) the next message.
            if (!againForced && epoch === at) again = false;
            log?.info({ reason, ...options.fields?.(), attempts: attempt + 1 }, `${what} resumed`);
            break;
          } catch (error) {
            if (attempt === 0)
              log?.warn({ reason, error: String(error) }, `${what} cannot resume yet; retrying`);
            await Bun.sleep(CONSUMER_RETRY_MS);
          }
        }
      } while (again && !stopped);
    })().finally(() => {
      restarting = undefined;
    });
  }

  await options.open(generation);
  const statuses = options.nc.status();
  void (async () => {
    for await (const status of statuses) {
      if (stopped) break;
      if (status.type === "disconnect") connected = false;
      if (status.type === "reconnect") {
        connected = true;
        epoch++;
        startOver(RECONNECTED);
      }
    }
  })().catch(() => {});
  return {
    generation: () => generation,
    startOver,
    async stop() {
      stopped = true;
      (statuses as { stop?: () => void }).stop?.();
      await restarting;
    },
  };
}

/** Calls `onMissed` when `messages` misses the server's heartbeats (its consumer or its pull was lost). */
export function onHeartbeatsMissed(messages: ConsumerMessages, onMissed: () => void): void {
  void (async () => {
    for await (const status of messages.status()) if (status.type === "heartbeats_missed") onMissed();
  })().catch(() => {});
}
