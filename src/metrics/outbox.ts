/**
 * Outbox relay metrics: events published (the relay's `onPublished` option), how long they waited in the
 * outbox, and the backlog of unpublished events, counted in Postgres at scrape time.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { UNPUBLISHED_WHERE, unpublishedParams } from "../outbox/sql";
import { lagBuckets } from "./buckets";
import { type CollectFailures, guardedRead, sourcesOf } from "./collect";

/** A published event as the relay reports it (`PublishedEvent` of src/outbox fits). */
export interface PublishedEventLike {
  readonly type: string;
  /** ISO 8601. */
  readonly committedAt: string;
}

/** A connection the backlog query runs on (a `pg.PoolClient` fits). */
export interface BacklogClient {
  query(text: string, values?: unknown[]): Promise<{ readonly rows: readonly unknown[] }>;
  release(destroy?: boolean): void;
}

/** Where the backlog is counted (a `pg.Pool` fits; use one with a free connection, e.g. `max: 1` of its own). */
export interface BacklogDatabase {
  connect(): Promise<BacklogClient>;
}

/** Options of {@link OutboxMetrics.trackBacklog}. */
export interface BacklogOptions {
  /** Longest the count may take (statement timeout, and the wait for a connection), ms. Default 1000. */
  readonly timeoutMs?: number;
}

/** Outbox metrics and the helpers that record them. */
export interface OutboxMetrics {
  /** `clone_outbox_published_total{event_type}`: events published to the EVENTS stream (checkpointed). */
  readonly publishedTotal: Counter<"event_type">;
  /** `clone_outbox_publish_delay_seconds`: event commit to its publication by the relay. */
  readonly publishDelay: Histogram;
  /** `clone_outbox_backlog`: events not yet published (above the relay's checkpoint); NaN when unknown. */
  readonly backlog: Gauge;
  /** The relay's `onPublished` option. */
  published(events: readonly PublishedEventLike[]): void;
  /**
   * Counts the backlog in `db` at every scrape (the gauge is registered from the first call on); returns a
   * function that stops it.
   */
  trackBacklog(db: BacklogDatabase, options?: BacklogOptions): () => void;
}

const backlogSql = `SELECT count(*)::bigint AS n FROM events e WHERE ${UNPUBLISHED_WHERE}`;

/** Counts unpublished events in a transaction whose statement timeout bounds the count on the server too. */
export async function countBacklog(db: BacklogDatabase, timeoutMs: number): Promise<number> {
  return readBounded(db, timeoutMs, async (client) => {
    const res = await client.query(backlogSql, await unpublishedParams(client));
    return Number((res.rows[0] as { n: string | number } | undefined)?.n ?? Number.NaN);
  });
}

/** Runs `read` in a read-only transaction whose statement timeout bounds it on the server too. */
export async function readBounded<T>(
  db: BacklogDatabase,
  timeoutMs: number,
  read: (client: BacklogClient) => Promise<T>,
): Promise<T> {
  const client = await db.connect();
  let broken = false;
  try {
    await client.query("BEGIN READ ONLY");
    await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
    const result = await read(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    broken = true;
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release(broken);
  }
}

/** Creates the outbox metrics on `registry`. */
export function createOutboxMetrics(registry: Registry, failures: CollectFailures): OutboxMetrics {
  type Source = { readonly db: BacklogDatabase; readonly timeoutMs: number };
  const publishedTotal = new Counter({
    name: "clone_outbox_published_total",
    help: "Events the outbox relay published to the EVENTS stream and checkpointed.",
    labelNames: ["event_type"],
    registers: [registry],
  });
  const publishDelay = new Histogram({
    name: "clone_outbox_publish_delay_seconds",
    help: "Time from an event's commit to its publication by the outbox relay.",
    buckets: [...lagBuckets],
    registers: [registry],
  });
  const backlog = new Gauge({
    name: "clone_outbox_backlog",
    help: "Events in the outbox not yet published (above the relay checkpoint); NaN when the count failed.",
    registers: [],
    async collect() {
      // The latest tracked database (one per process in practice).
      const current = [...tracked.sources].at(-1);
      if (current === undefined) return;
      const n = await guardedRead(
        failures,
        "clone_outbox_backlog",
        current.timeoutMs + 250,
        () => countBacklog(current.db, current.timeoutMs),
        () => this.set(Number.NaN),
      );
      if (n !== undefined) this.set(n);
    },
  });
  const tracked = sourcesOf<Source>(registry, [backlog]);
  return {
    publishedTotal,
    publishDelay,
    backlog,
    published(events) {
      const now = Date.now();
      for (const event of events) {
        publishedTotal.inc({ event_type: event.type });
        const at = Date.parse(event.committedAt);
        if (Number.isFinite(at)) publishDelay.observe(Math.max(0, now - at) / 1000);
      }
    },
    trackBacklog(db, options = {}) {
      return tracked.add({ db, timeoutMs: options.timeoutMs ?? 1_000 });
    },
  };
}
