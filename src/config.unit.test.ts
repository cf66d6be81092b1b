import { describe, expect, test } from "bun:test";
import { availableParallelism } from "node:os";
import { ConfigError, defaultWorkerThreads, loadConfig } from "./config";

describe("config", () => {
  test("defaults: embedded mode, ports of API.md, 60 s cache TTL", () => {
    const c = loadConfig({});
    expect(c.databaseUrl).toBeUndefined();
    expect(c.natsUrl).toBeUndefined();
    expect(c.grpc.port).toBe(50051);
    expect(c.httpPort).toBe(8080);
    expect(c.cache.ttlMs).toBe(60_000);
    expect(c.consistencyRefreshMode).toBe("keyed");
    expect(c.workerThreads).toBe(defaultWorkerThreads(availableParallelism()));
  });

  test("command threads default to one per two cores, at least one", () => {
    expect([1, 2, 3, 4, 8].map(defaultWorkerThreads)).toEqual([1, 1, 1, 2, 4]);
  });

  test("the fallback bound defaults to half the gateway's pool, with a short queue of four per slot", () => {
    const bound = (env: Record<string, string>) => {
      const r = loadConfig(env).reads;
      return [r.fallbackConcurrency, r.fallbackQueueLength, r.fallbackQueueMs];
    };
    expect(bound({})).toEqual([5, 20, 100]);
    expect(bound({ DB_POOL_SIZE: "3" })).toEqual([2, 8, 100]);
    expect(bound({ DB_POOL_SIZE: "1" })).toEqual([1, 4, 100]);
    expect(bound({ READ_FALLBACK_CONCURRENCY: "16", READ_FALLBACK_QUEUE_MS: "0" })).toEqual([16, 64, 0]);
    expect(bound({ READ_FALLBACK_CONCURRENCY: "0" })).toEqual([0, 0, 100]);
  });

  test("values are parsed and typed", () => {
    const c = loadConfig({
      DATABASE_URL: "postgres://u@h:5432/db",
      NATS_URL: "nats://h:4222",
      GRPC_PORT: "6000",
      WORKER_THREADS: "4",
      CORS_ORIGINS: "https://a.example, https://b.example",
    });
    expect(c.databaseUrl).toBe("postgres://u@h:5432/db");
    expect(c.grpc.port).toBe(6000);
    expect(c.workerThreads).toBe(4);
    expect(c.corsOrigins).toEqual(["https://a.example", "https://b.example"]);
  });

  test("NATS_URL takes a comma-separated list of servers; READ_DATABASE_URL and the stream replicas", () => {
    const c = loadConfig({
      NATS_URL: "nats://a:4222, nats://b:4222,nats://c:4222",
      NATS_STREAM_REPLICAS: "3",
      READ_DATABASE_URL: "postgres://u@replica:5432/db",
    });
    expect(c.natsUrl).toBe("nats://a:4222, nats://b:4222,nats://c:4222");
    expect(c.natsStreamReplicas).toBe(3);
    expect(c.readDatabaseUrl).toBe("postgres://u@replica:5432/db");
    expect(loadConfig({}).natsStreamReplicas).toBe(1);
    expect(loadConfig({}).readDatabaseUrl).toBeUndefined();
    expect(() => loadConfig({ NATS_URL: "nats://a:4222,not a url" })).toThrow(/NATS_URL/);
    expect(() => loadConfig({ NATS_STREAM_REPLICAS: "0" })).toThrow(/NATS_STREAM_REPLICAS/);
  });

  test("a bad value is an error naming every bad variable", () => {
    const attempt = () =>
      loadConfig({ GRPC_PORT: "seventy", WORKER_THREADS: "0", DATABASE_URL: "not a url" });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain("GRPC_PORT");
      expect(message).toContain("WORKER_THREADS");
      expect(message).toContain("DATABASE_URL");
    }
  });

  test("COMMAND_RESULT_RETENTION: a duration with a unit, 7 days by default, at least a day", () => {
    expect(loadConfig({}).retention).toEqual({
      commandResultMs: 7 * 86_400_000,
      intervalMs: 60_000,
      batchRows: 1_000,
    });
    expect(loadConfig({ COMMAND_RESULT_RETENTION: "36h" }).retention.commandResultMs).toBe(36 * 3_600_000);
    expect(loadConfig({ COMMAND_RESULT_RETENTION: "30d" }).retention.commandResultMs).toBe(30 * 86_400_000);
    expect(() => loadConfig({ COMMAND_RESULT_RETENTION: "7" })).toThrow(
      /COMMAND_RESULT_RETENTION: must be an integer with a unit/,
    );
    expect(() => loadConfig({ COMMAND_RESULT_RETENTION: "12h" })).toThrow(
      /COMMAND_RESULT_RETENTION: must be at least 1d/,
    );
  });

  test("chunk overlap must be smaller than the chunk", () => {
    expect(() => loadConfig({ DOCUMENT_CHUNK_WORDS: "10", DOCUMENT_CHUNK_OVERLAP_WORDS: "10" })).toThrow(
      /DOCUMENT_CHUNK_OVERLAP_WORDS/,
    );
  });
});
