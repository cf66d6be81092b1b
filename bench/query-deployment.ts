/**
 * One deployment of queries.bench.ts: a seeded database, its NATS prefix, the running stack and the clients
 * (a lag-probe target: gateway clients, user tokens, the seeded users).
 */
import { createGrpcClient } from "../src/gateway";
import { CommandService } from "../src/gen/clone/v1/command_service_pb";
import { QueryService } from "../src/gen/clone/v1/query_service_pb";
import type { TestDatabase, TestNats } from "../src/testing";
import type { LagTarget } from "./lag-probe";
import type { Cleanups } from "./query-cleanups";
import type { SeedResult } from "./query-seed";
import type { QueryStack } from "./query-stack";
import { createTokenBook } from "./query-workloads";

/** One deployment and its clients. */
export interface Deployment {
  readonly users: number;
  readonly db: TestDatabase;
  readonly nats: TestNats;
  readonly seed: SeedResult;
  readonly stack: QueryStack;
  readonly target: LagTarget;
}

/** The clients of a started stack; their closing is registered with `cleanups`. */
export async function deploy(
  parts: Omit<Deployment, "target">,
  jwtSecret: string,
  cleanups: Cleanups,
): Promise<Deployment> {
  const { query, command } = await cleanups.track(
    {
      query: createGrpcClient(QueryService, parts.stack.gatewayAddress),
      command: createGrpcClient(CommandService, parts.stack.gatewayAddress),
    },
    async (c) => {
      c.query.close();
      c.command.close();
    },
  );
  const target: LagTarget = {
    prefix: parts.nats.prefix,
    query,
    command,
    tokens: createTokenBook(jwtSecret),
    users: parts.seed.users.map((u) => u.userId),
  };
  return { ...parts, target };
}
