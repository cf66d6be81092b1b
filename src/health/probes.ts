/**
 * Probes of the backing services for the {@link HealthMonitor}.
 *
 * The Postgres probe keeps its own connection rather than borrowing one from the gateway's pool: a pool busy
 * with real work must not look like a database that is down, and a failed probe must not wait for a pooled
 * connection for the pool's whole connect timeout.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import pg from "pg";
import type { HealthProbe } from "./monitor";

/** `SELECT 1` on a dedicated connection to `url`, reconnecting after any failure. */
export function postgresProbe(url: string, name = "postgres"): HealthProbe {
  let client: pg.Client | undefined;
  const discard = (): void => {
    const doomed = client;
    client = undefined;
    if (doomed === undefined) return;
    destroySocket(doomed);
    doomed.end().catch(() => {});
  };
  return {
    name,
    async check(signal) {
      const onAbort = (): void => discard();
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        if (client === undefined) {
          const fresh = new pg.Client({
            connectionString: url,
            application_name: "clone-health",
            connectionTimeoutMillis: 2_000,
          });
          fresh.on("error", () => {}); // a lost connection fails the next check instead
          client = fresh;
          await fresh.connect();
        }
        if (signal.aborted) throw new Error("probe aborted");
        await client.query("SELECT 1");
      } catch (error) {
        discard();
        throw error;
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    },
    async close() {
      const doomed = client;
      client = undefined;
      await doomed?.end().catch(() => {});
    },
  };
}

/** `SELECT 1` through a pool (the embedded mode, whose database is reached only through its pool). */
export function poolProbe(pool: Pick<pg.Pool, "query">, name = "postgres"): HealthProbe {
  return {
    name,
    async check() {
      await pool.query("SELECT 1");
    },
  };
}

/** A round trip to the NATS server (PING/PONG through `flush`); down while closed or reconnecting. */
export function natsProbe(nc: NatsConnection, name = "nats"): HealthProbe {
  return {
    name,
    async check(signal) {
      if (nc.isClosed()) throw new Error("the NATS connection is closed");
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => reject(new Error("no PONG from NATS"));
        signal.addEventListener("abort", onAbort, { once: true });
        nc.flush().then(
          () => {
            signal.removeEventListener("abort", onAbort);
            resolve();
          },
          (error: unknown) => {
            signal.removeEventListener("abort", onAbort);
            reject(error);
          },
        );
      });
    },
  };
}

/** Ends a hanging connection at once (pg's `end()` waits for the server to see the terminate message). */
function destroySocket(client: pg.Client): void {
  const stream = (client.connection as unknown as { stream?: { destroy?: () => void } } | undefined)?.stream;
  try {
    stream?.destroy?.();
  } catch {
    // already gone
  }
}
