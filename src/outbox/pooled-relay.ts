/**
 * The outbox relay of the embedded mode: the same rounds as {@link startOutboxRelay}, but each one runs on a
 * connection borrowed from a shared pool and given back right after, with no advisory lock and no LISTEN.
 *
 * Why: PGlite behind pglite-socket serves one connection at a time, so the embedded mode funnels every
 * query through a one-connection pool, and nothing may hold that connection between rounds. There is
 * exactly one relay in the process, so no leadership is needed, and since commands are applied in the same
 * process the command path calls {@link OutboxRelay.wake} after each commit instead of a NOTIFY; the poll
 * every `pollMs` stays as the fallback.
 */
import type pg from "pg";
import { type OutboxRelay, type RelayDriver, type RelayLoopOptions, runRelay } from "./relay-loop";
import type { EventPublisher } from "./round";
import { ENSURE_CHECKPOINT_SQL } from "./sql";

/** Options of {@link startPooledOutboxRelay}. */
export interface PooledOutboxRelayOptions extends RelayLoopOptions {
  /** Where each round borrows its connection (a `pg.Pool`). */
  readonly pool: { connect(): Promise<pg.PoolClient> };
  /** Publishes a batch in order (the in-process event bus). */
  readonly publish: EventPublisher;
  /** Where `publish` puts events, for messages. Default `the in-process event bus`. */
  readonly target?: string;
}

/**
 * Starts a relay that is always the leader, on a shared pool. Resolves after its first round's connection
 * was taken (and the checkpoint row ensured); never rejects for an unreachable database, it logs and retries.
 * @throws AppError INVALID_ARGUMENT for a bad `pollMs` or `batchSize`.
 */
export function startPooledOutboxRelay(options: PooledOutboxRelayOptions): Promise<OutboxRelay> {
  const name = options.name ?? "default";
  let ensured = false;
  let closed = false;
  const driver: RelayDriver = {
    target: options.target ?? "the in-process event bus",
    async lead() {
      if (closed) return undefined;
      const client = await options.pool.connect();
      try {
        if (!ensured) {
          await client.query(ENSURE_CHECKPOINT_SQL, [name]);
          ensured = true;
        }
      } catch (error) {
        client.release();
        throw error;
      }
      return { client, done: () => client.release() };
    },
    leading: () => !closed,
    lost: () => false,
    async close() {
      closed = true;
    },
  };
  return runRelay(options, driver, { publish: options.publish });
}
