/**
 * What the suite samples while a scenario runs, every 100 ms: each process's readiness (a gateway's
 * `grpc.health.v1` status and every process's `/readyz`), and how far the read side has got (the consistency
 * checkpoint: the point up to which every event has been applied to every view), read from Postgres directly,
 * not through the proxy.
 */
import type pg from "pg";
import type { StreamPoint } from "../contracts";
import { createGrpcClient } from "../gateway";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb";
import type { HealthTarget } from "./deployment";

/** One health sample of one endpoint. */
export interface HealthSample {
  readonly at: number;
  /** The endpoint, e.g. `worker-1 readyz`. */
  readonly target: string;
  /** The process it belongs to. */
  readonly process: string;
  readonly serving: boolean;
  /** Why it is not serving: the /readyz body, the gRPC status, or the error. */
  readonly reason?: string;
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

/** A probe's answer: ready, or why not (an error or no answer within 300 ms is not ready). */
type Probe = (deadline: number) => Promise<{ serving: boolean; reason?: string }>;

function probeOf(target: HealthTarget): { probe: Probe; close(): void } {
  if (target.kind === "readyz")
    return {
      async probe(deadline) {
        const r = await fetch(target.address, {
          signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
        });
        return r.ok ? { serving: true } : { serving: false, reason: (await r.text()).slice(0, 300) };
      },
      close() {},
    };
  const client = createGrpcClient(Health, target.address);
  return {
    async probe(deadline) {
      const { status } = await client.call("check", { service: "" }, { deadline });
      return status === ServingStatus.SERVING
        ? { serving: true }
        : { serving: false, reason: ServingStatus[status] };
    },
    close: () => client.close(),
  };
}

/** Starts sampling the endpoints `targets` and the database behind `pool`. */
export function startObservers(targets: readonly HealthTarget[], pool: pg.Pool): Observers {
  const probes = targets.map((t) => ({ ...t, ...probeOf(t) }));
  const health: HealthSample[] = [];
  const progress: ProgressSample[] = [];
  let stopped = false;

  const healthLoop = async (target: (typeof probes)[number]): Promise<void> => {
    const name = `${target.process} ${target.kind}`;
    while (!stopped) {
      const at = Date.now();
      const answer = await target.probe(at + 300).catch((error: unknown) => ({
        serving: false,
        reason: error instanceof Error ? error.message : String(error),
      }));
      health.push({ at, target: name, process: target.process, ...answer });
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
  const loops = Promise.all([...probes.map(healthLoop), progressLoop()]);
  return {
    health,
    progress,
    async stop() {
      stopped = true;
      await loops;
      for (const p of probes) p.close();
    },
  };
}
