/**
 * Retention metrics: the size of the command store that retention prunes (`command_results`, `command_blobs`),
 * read at scrape time by the process that tracks them (the relay, like the outbox backlog), and the rows
 * pruned. Rows are Postgres' live-tuple count (statistics, kept current by every write, no table scan).
 */
import { Counter, Gauge, type Registry } from "prom-client";
import { type CollectFailures, guardedRead, sourcesOf } from "./collect";
import { type BacklogDatabase, readBounded } from "./outbox";

/** The tables retention prunes. */
export const retainedTables = ["command_results", "command_blobs"] as const;

/** One of {@link retainedTables}. */
export type RetainedTable = (typeof retainedTables)[number];

/** Retention metrics. */
export interface RetentionMetrics {
  /** `clone_command_store_rows{table}`: live rows; NaN when the read failed. */
  readonly rows: Gauge<"table">;
  /** `clone_command_store_bytes{table}`: size on disk with indexes and TOAST; NaN when the read failed. */
  readonly bytes: Gauge<"table">;
  /** `clone_command_store_pruned_rows_total{table}`: rows deleted by retention. */
  readonly pruned: Counter<"table">;
  /** Reads the sizes from `db` at every scrape; returns a function that stops it. */
  trackCommandStore(db: BacklogDatabase, options?: { timeoutMs?: number }): () => void;
}

const sizeSql = `SELECT t AS table, pg_stat_get_live_tuples(t::regclass)::bigint AS n,
                        pg_total_relation_size(t::regclass)::bigint AS b
                   FROM unnest(ARRAY['command_results', 'command_blobs']) AS t`;

/** Creates the retention metrics on `registry`. */
export function createRetentionMetrics(registry: Registry, failures: CollectFailures): RetentionMetrics {
  type Source = { readonly db: BacklogDatabase; readonly timeoutMs: number };
  /** A gauge by table whose value is column `column` of {@link sizeSql}, read at each scrape. */
  function sizeGauge(name: string, help: string, column: "n" | "b"): Gauge<"table"> {
    const gauge: Gauge<"table"> = new Gauge({
      name,
      help,
      labelNames: ["table"],
      registers: [],
      async collect() {
        const current = [...tracked.sources].at(-1);
        if (current === undefined) return;
        const sizes = await guardedRead(
          failures,
          name,
          current.timeoutMs + 250,
          () =>
            readBounded(current.db, current.timeoutMs, async (client) => {
              const res = await client.query(sizeSql);
              return res.rows as { table: RetainedTable; n: string; b: string }[];
            }),
          () => {
            for (const table of retainedTables) gauge.set({ table }, Number.NaN);
          },
        );
        for (const r of sizes ?? []) gauge.set({ table: r.table }, Number(r[column]));
      },
    });
    return gauge;
  }
  const rows = sizeGauge(
    "clone_command_store_rows",
    "Live rows of the command store tables retention prunes, by table; NaN when the read failed.",
    "n",
  );
  const bytes = sizeGauge(
    "clone_command_store_bytes",
    "Size of the command store tables retention prunes (with indexes and TOAST), by table; NaN when the read failed.",
    "b",
  );
  const pruned = new Counter({
    name: "clone_command_store_pruned_rows_total",
    help: "Rows of the command store deleted by retention (older than COMMAND_RESULT_RETENTION), by table.",
    labelNames: ["table"],
    registers: [registry],
  });
  for (const table of retainedTables) pruned.inc({ table }, 0);
  const tracked = sourcesOf<Source>(registry, [rows, bytes]);
  return {
    rows,
    bytes,
    pruned,
    trackCommandStore(db, options = {}) {
      return tracked.add({ db, timeoutMs: options.timeoutMs ?? 1_000 });
    },
  };
}
