/**
 * The relay's dedicated Postgres connection. It holds the leadership lock, LISTENs for appends and runs every
 * relay query, so a relay can only move the checkpoint while the session that holds the lock is alive.
 *
 * Why a session-level advisory lock: the lock lives exactly as long as the connection, so when the leader's
 * process dies Postgres frees it at once and a standby takes over on its next try, with no lease to expire.
 * Short TCP keepalives on both ends bound how long a silently vanished peer (a network partition) can hold it.
 */
import pg from "pg";
import { GENERIC_PLANS_OPTION } from "../db/pool";
import { ENSURE_CHECKPOINT_SQL, TRY_LOCK_SQL } from "./sql";

/** The connection option of the relay's session: its checkpoint moves commit without waiting for the WAL flush. */
export const RELAY_COMMIT_OPTION = "-c synchronous_commit=off";

/** The channel the relay LISTENs on (a NOTIFY there wakes it; nothing sends one automatically since sql/0012). */
export const OUTBOX_CHANNEL = "clone_outbox";

/** Options of {@link openRelaySession}. */
export interface RelaySessionOptions {
  readonly databaseUrl: string;
  /** Relay name: the lock and checkpoint row. */
  readonly name: string;
  /** Called on each NOTIFY on {@link OUTBOX_CHANNEL} (only while leading). */
  readonly onNotify: () => void;
  /** Called once when the connection fails or ends unexpectedly. */
  readonly onLost: (error?: Error) => void;
}

/** An open relay connection, leading or standing by. */
export interface RelaySession {
  /** The connection; run relay queries here only. */
  readonly client: pg.Client;
  /** True while this session holds the lock (and the connection is up). */
  leading(): boolean;
  /** True once the connection failed or ended. */
  lost(): boolean;
  /** Tries to take the lock without waiting; when taken, ensures the checkpoint row and LISTENs. */
  tryLead(): Promise<boolean>;
  /** Closes the connection, which releases the lock. Safe to call twice; never rejects. */
  close(): Promise<void>;
}

/**
 * Connects a relay session (not yet leading).
 * @throws the connection error when Postgres cannot be reached.
 */
export async function openRelaySession(options: RelaySessionOptions): Promise<RelaySession> {
  const client = new pg.Client({
    connectionString: options.databaseUrl,
    application_name: `clone-outbox-relay:${options.name}`,
    connectionTimeoutMillis: 5_000,
    // Generic plans: the round's statements are planned once, not at every round (sql.ts is written so
    // that the generic plan walks the relay-order index). Asynchronous commit: a round's checkpoint move does
    // not wait for its WAL flush, which on this machine's disk (fdatasync ~0.8 ms) queued in front of the
    // commands' own commits, one relay flush per command at concurrency 1. A crash of Postgres can lose the
    // last ~0.6 s of moves (3 × wal_writer_delay); the relay then publishes those events again from the
    // checkpoint that was kept, which JetStream drops as duplicates (their Nats-Msg-Id, within its two-minute
    // window), and consumers tolerate anyway. Nothing else is written on this session.
    options: `${GENERIC_PLANS_OPTION} ${RELAY_COMMIT_OPTION}`,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  let lost = false;
  let closing = false;
  let leading = false;
  const markLost = (error?: Error) => {
    if (lost) return;
    lost = true;
    leading = false;
    if (!closing) options.onLost(error);
  };
  client.on("error", (error) => markLost(error));
  client.on("end", () => markLost());
  client.on("notification", (message) => {
    if (message.channel === OUTBOX_CHANNEL) options.onNotify();
  });
  try {
    await client.connect();
    await client.query(
      "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3",
    );
  } catch (error) {
    closing = true;
    await client.end().catch(() => {});
    throw error;
  }

  let closed: Promise<void> | undefined;
  return {
    client,
    leading: () => leading && !lost,
    lost: () => lost,
    async tryLead() {
      if (leading) return !lost;
      const result = await client.query<{ locked: boolean }>(TRY_LOCK_SQL, [options.name]);
      if (result.rows[0]?.locked !== true) return false;
      await client.query(ENSURE_CHECKPOINT_SQL, [options.name]);
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
      leading = !lost;
      return leading;
    },
    close() {
      closing = true;
      leading = false;
      closed ??= client.end().catch(() => {});
      return closed;
    },
  };
}
