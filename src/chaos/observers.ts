/**
 * What the suite samples while a scenario runs, every 100 ms: each gateway's `grpc.health.v1` status, and
 * how far the read side has got (the consistency checkpoint: the point up to which every event has been
 * applied to every view), read from Postgres directly, not through the proxy.
 */
import type pg from "pg";
import type { StreamPoint } from "../commands/consistency-token";
import { createGrpcClient } from "../gateway";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb";

/** One health sample of one gateway. */
export interface HealthSample {
  readonly at: number;
  readonly gateway: number;
  readonly serving: boolean;
}

/** One sample of the read side's progress. */
export interface ProgressSample {
  readonly at: number;
  readonly complete: StreamPoint;
}

/** A running sampler. */
export interface Observers {
  readonly health: HealthSample[];
  readonly progress: ProgressSample[];
  stop(): Promise<void>;
}

const periodMs = 100;

/** Starts sampling the gateways at `addresses` and the database behind `pool`. */
export function startObservers(addresses: readonly string[], pool: pg.Pool): Observers {
  const clients = addresses.map((a) => createGrpcClient(Health, a));
  const health: HealthSample[] = [];
  const progress: ProgressSample[] = [];
  let stopped = false;

  const healthLoop = async (gateway: number): Promise<void> => {
    const client = clients[gateway] as (typeof clients)[number];
    while (!stopped) {
      const at = Date.now();
      let serving = false;
      try {
        const r = await client.call("check", { service: "" }, { deadline: at + 300 });
        serving = r.status === ServingStatus.SERVING;
      } catch {
        serving = false;
      }
      health.push({ at, gateway, serving });
      await Bun.sleep(Math.max(0, at + periodMs - Date.now()));
    }
  };
  const progressLoop = async (): Promise<void> => {
    while (!stopped) {
      const at = Date.now();
      try {
        const r = await pool.query<{ tx: string; pos: string }>(
          "SELECT transaction_id::text AS tx, position::text AS pos FROM consistency_checkpoint WHERE name = 'default'",
        );
        const row = r.rows[0];
        if (row !== undefined)
          progress.push({ at, complete: { transactionId: BigInt(row.tx), position: BigInt(row.pos) } });
      } catch {
        // Postgres is down in this scenario: no sample.
      }
      await Bun.sleep(Math.max(0, at + periodMs - Date.now()));
    }
  };
  const loops = Promise.all([...clients.map((_, g) => healthLoop(g)), progressLoop()]);
  return {
    health,
    progress,
    async stop() {
      stopped = true;
      await loops;
      for (const c of clients) c.close();
    },
  };
}
