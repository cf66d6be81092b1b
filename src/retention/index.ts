/**
 * Retention of the command store: `command_results` and `command_blobs` rows older than
 * `COMMAND_RESULT_RETENTION` are deleted, in batches of `batchRows`, each batch its own short transaction (a
 * long write transaction anywhere on the server holds back the outbox relay). Run every `intervalMs` by one
 * process per database, the holder of an advisory lock (the relay role runs it; standbys take over when the
 * leader's connection ends). Events are not pruned: they are the audit trail (src/erasure erases a deleted
 * user's personal data in them instead).
 *
 * A retry whose command id is still stored is answered from the stored result (`duplicate: true`); once the
 * row is pruned, a retry is a new command, see README "Retention".
 */
import type pg from "pg";
import type { Logger } from "../logging";
import type { RetainedTable } from "../metrics";
import type { SqlClient } from "../write-model";

/** Options of {@link pruneCommandStore}. */
export interface PruneOptions {
  /** Rows older than this are deleted, ms. */
  readonly retentionMs: number;
  /** Rows one transaction deletes at most. */
  readonly batchRows: number;
  /** Called after each batch (metrics, tests). */
  readonly onBatch?: (table: RetainedTable, rows: number) => void;
}

/** What one pruning pass deleted, by table, and in how many transactions. */
export interface PruneReport {
  readonly rows: Record<RetainedTable, number>;
  readonly batches: number;
}

/** The oldest rows of `table` past the retention, at most `$2` of them, deleted in one statement. */
const pruneSql = (table: RetainedTable) => ({
  name: `prune_${table}`,
  text: `DELETE FROM ${table} WHERE command_id IN (
           SELECT command_id FROM ${table}
            WHERE created_at < now() - $1::bigint * interval '1 millisecond'
            ORDER BY created_at LIMIT $2)`,
});

/** Deletes the command store's rows past the retention, one short transaction per batch. */
export async function pruneCommandStore(db: SqlClient, options: PruneOptions): Promise<PruneReport> {
  const rows: Record<RetainedTable, number> = { command_results: 0, command_blobs: 0 };
  let batches = 0;
  for (const table of ["command_results", "command_blobs"] as const) {
    for (;;) {
      const res = await db.query({ ...pruneSql(table), values: [options.retentionMs, options.batchRows] });
      const n = res.rowCount ?? 0;
      batches++;
      rows[table] += n;
      options.onBatch?.(table, n);
      if (n < options.batchRows) break;
    }
  }
  return { rows, batches };
}

/** The advisory lock of the retention leader (any constant distinct from the others would do). */
export const RETENTION_LOCK_KEY = "7306215948115302";

/** Options of {@link startRetention}. */
export interface RetentionOptions extends PruneOptions {
  readonly pool: pg.Pool;
  /** How often a pass runs (and a standby tries to lead), ms. */
  readonly intervalMs: number;
  readonly log?: Logger;
}

/** A running retention loop. */
export interface Retention {
  isLeader(): boolean;
  /** Runs a pass now if this process leads (tests); resolves with its report, or undefined when standing by. */
  runOnce(): Promise<PruneReport | undefined>;
  stop(): Promise<void>;
}

/** Starts pruning every `intervalMs` while this process holds the retention lock. */
export function startRetention(options: RetentionOptions): Retention {
  let lock: pg.PoolClient | undefined;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let round: Promise<unknown> = Promise.resolve();

  async function lead(): Promise<boolean> {
    if (lock) return true;
    const client = await options.pool.connect();
    try {
      const res = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1::bigint) AS ok", [
        RETENTION_LOCK_KEY,
      ]);
      if (res.rows[0]?.ok !== true) {
        client.release();
        return false;
      }
    } catch (error) {
      client.release(true);
      throw error;
    }
    // A lost connection frees the lock on the server: stand down (the client goes back to the pool destroyed,
    // so the pool can end) and try again at the next pass.
    client.on("error", (error) => {
      if (lock !== client) return;
      lock = undefined;
      client.release(error);
    });
    lock = client;
    options.log?.info("retention leader");
    return true;
  }

  async function pass(): Promise<PruneReport | undefined> {
    try {
      if (!(await lead())) return undefined;
      const report = await pruneCommandStore(options.pool, options);
      if (report.rows.command_results + report.rows.command_blobs > 0) {
        options.log?.info({ ...report.rows, batches: report.batches }, "command store pruned");
      }
      return report;
    } catch (error) {
      options.log?.warn({ error: String(error) }, "retention pass failed");
      const held = lock;
      lock = undefined;
      held?.release(true);
      return undefined;
    }
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      round = pass().finally(schedule);
    }, options.intervalMs);
  }
  round = pass().finally(schedule);

  return {
    isLeader: () => lock !== undefined,
    runOnce() {
      const next = round.then(() => pass());
      round = next;
      return next;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await round.catch(() => {});
      clearTimeout(timer);
      const held = lock;
      lock = undefined;
      if (held) {
        await held.query("SELECT pg_advisory_unlock($1::bigint)", [RETENTION_LOCK_KEY]).catch(() => {});
        held.release();
      }
    },
  };
}
