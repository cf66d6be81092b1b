/**
 * Items 1 and 2 of queries.bench.ts: GetUserProfile from the gateway's cache, with bypass_cache (the view read),
 * and as a strong read (from the write model, same users), beside a
 * bare grpc-js echo and a bare pg primary-key SELECT of the same rows (query-workloads.ts), each concurrency's
 * five workloads interleaved in slices (interleave.ts), with the CPU each used.
 */
import type { GrpcClient } from "../src/gateway";
import type { CommandService } from "../src/gen/clone/v1/command_service_pb";
import { createCpuMeter } from "./cpu-meter";
import { runInterleaved } from "./interleave";
import { type Operation, runClosedLoop } from "./load";
import type { Deployment } from "./query-deployment";
import type { QueryBenchOptions } from "./query-options";
import type { LatencyCell, LatencyResults, LatencyWorkload } from "./query-report";
import {
  cachedProfileOp,
  echoOp,
  preparePkSelect,
  strongProfileOp,
  uncachedProfileOp,
  verifyTokens,
  warmProfiles,
} from "./query-workloads";
import { summarize } from "./stats";

/** The gateway's Postgres pool (DB_POOL_SIZE default): the bare SELECT gets a pool as large, at most. */
const GATEWAY_POOL = 10;
/** Users whose cached profiles the cached workload reads. */
const HOT_USERS = 64;
/** Users the uncached reads (and the bare SELECT) are spread over. */
const UNCACHED_USERS = 2_000;
const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

/** Items 1 and 2: the five workloads interleaved, per concurrency, on deployment `d`. */
export async function measureLatency(
  options: QueryBenchOptions,
  d: Deployment,
  echo: { readonly client: GrpcClient<typeof CommandService>; readonly pid: number },
  progress: (line: string) => void,
): Promise<LatencyResults> {
  const { query, tokens } = d.target;
  const hot = d.target.users.slice(0, HOT_USERS);
  // The uncached reads go to many users, but to users that called before: the gateway remembers verified
  // tokens (src/gateway/auth.ts), and a first call per token would add a JWT verification the cached reads of
  // the hot users do not pay.
  const users = d.target.users.slice(0, UNCACHED_USERS);
  const ops: Record<Exclude<LatencyWorkload, "pk-select">, Operation> = {
    cached: cachedProfileOp(query, hot, tokens),
    uncached: uncachedProfileOp(query, users, tokens),
    strong: strongProfileOp(query, users, tokens),
    echo: echoOp(echo.client, users, tokens),
  };
  const t = performance.now();
  await warmProfiles(query, hot, tokens);
  await verifyTokens(query, users, tokens);
  const warmPk = await preparePkSelect(d.db.url, GATEWAY_POOL, users);
  for (const op of [ops.cached, ops.uncached, ops.strong, ops.echo, warmPk.op])
    await runClosedLoop(16, options.warmupMs / 4, op);
  await warmPk.close();
  progress(`latency warm-up ${seconds(t)} s`);

  const gatewayPid = d.stack.pids().get("gateway");
  const meter = createCpuMeter({
    pids: new Map([...(gatewayPid ? [["gateway", gatewayPid] as const] : []), ["echo server", echo.pid]]),
    database: { pool: d.db.pool, name: d.db.name },
  });
  const results: LatencyResults = new Map();
  for (const concurrency of options.concurrencies) {
    const pk = await preparePkSelect(d.db.url, Math.min(concurrency, GATEWAY_POOL), users);
    try {
      // Entries live QUERY_CACHE_TTL_MS (60 s): read the hot set again so no cell outlives it.
      await warmProfiles(query, hot, tokens);
      const measured = await runInterleaved<LatencyWorkload>(
        [
          { name: "cached", op: ops.cached },
          { name: "uncached", op: ops.uncached },
          { name: "strong", op: ops.strong },
          { name: "echo", op: ops.echo },
          { name: "pk-select", op: pk.op },
        ],
        concurrency,
        options.durationMs,
        options.slices,
        meter,
      );
      const row = new Map<LatencyWorkload, LatencyCell>();
      results.set(concurrency, row);
      for (const [name, { load, cpu }] of measured) {
        const summary = summarize(load);
        row.set(name, {
          summary,
          load,
          ...(cpu ? { cpu } : {}),
          ...(name === "pk-select" ? { note: `pool ${pk.poolSize}, random of ${users.length} users` } : {}),
          ...(name === "cached" ? { note: `random of ${HOT_USERS} hot users` } : {}),
          ...(name === "uncached" || name === "strong"
            ? { note: `random of ${users.length} users (tokens verified before)` }
            : {}),
        });
        progress(
          `c=${concurrency} ${name}: ${summary.opsPerSecond.toFixed(0)} ops/s, p50 ${summary.p50Ms.toFixed(2)} ms, ` +
            `p99 ${summary.p99Ms.toFixed(2)} ms${summary.errors > 0 ? `, ${summary.errors} errors: ${load.errorSamples.join(" | ")}` : ""}`,
        );
      }
    } finally {
      await pk.close();
    }
  }
  return results;
}
