/**
 * Dead-letter metrics: `clone_dead_letters{source}`, the dead letters waiting in Postgres (`dead_letters`,
 * sql/0016), counted at scrape time by the process that tracks them (the relay, like the outbox backlog).
 */
import { Gauge, type Registry } from "prom-client";
import { type CollectFailures, guardedRead, sourcesOf } from "./collect";
import { type BacklogDatabase, readBounded } from "./outbox";

/** The sources every count reports, 0 when none waits (src/dead-letters/store.ts). */
const knownSources = ["document-processor", "command", "consistency", "user-erasure"] as const;

/** Dead-letter metrics. */
export interface DeadLetterMetrics {
  /** `clone_dead_letters{source}`: dead letters waiting; NaN when the count failed. */
  readonly waiting: Gauge<"source">;
  /** Counts the dead letters in `db` at every scrape; returns a function that stops it. */
  trackDeadLetters(db: BacklogDatabase, options?: { timeoutMs?: number }): () => void;
}

const countSql = "SELECT source, count(*)::bigint AS n FROM dead_letters GROUP BY source";

/** Creates the dead-letter metrics on `registry`. */
export function createDeadLetterMetrics(registry: Registry, failures: CollectFailures): DeadLetterMetrics {
  type Source = { readonly db: BacklogDatabase; readonly timeoutMs: number };
  const waiting: Gauge<"source"> = new Gauge({
    name: "clone_dead_letters",
    help: "Dead letters waiting in Postgres (work set aside after failing for good), by source; NaN when the count failed.",
    labelNames: ["source"],
    registers: [],
    async collect() {
      const current = [...tracked.sources].at(-1);
      if (current === undefined) return;
      const counts = await guardedRead(
        failures,
        "clone_dead_letters",
        current.timeoutMs + 250,
        () =>
          readBounded(current.db, current.timeoutMs, async (client) => {
            const res = await client.query(countSql);
            const rows = res.rows as { source?: unknown; n: string }[];
            return new Map(
              rows.flatMap((r) => (typeof r.source === "string" ? [[r.source, Number(r.n)]] : [])),
            );
          }),
        () => {
          for (const source of knownSources) waiting.set({ source }, Number.NaN);
        },
      );
      if (counts === undefined) return;
      waiting.reset();
      for (const source of new Set([...knownSources, ...counts.keys()]))
        waiting.set({ source }, counts.get(source) ?? 0);
    },
  });
  const tracked = sourcesOf<Source>(registry, [waiting]);
  return {
    waiting,
    trackDeadLetters(db, options = {}) {
      return tracked.add({ db, timeoutMs: options.timeoutMs ?? 1_000 });
    },
  };
}
