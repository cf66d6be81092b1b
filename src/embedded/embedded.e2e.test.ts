/**
 * `bun src/main.ts` without DATABASE_URL and NATS_URL: the embedded mode as a user starts it. Its first log
 * line says so, it answers gRPC, and it stops cleanly on SIGTERM. With only one of the two URLs set, it
 * refuses to start and names the missing one.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createGrpcClient, type GrpcClient, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { gatewayReady, type RoleProcess, startRole } from "../testing";

const secret = "embedded-e2e-secret-0123456789";
const mainModule = new URL("../main.ts", import.meta.url).pathname;
let proc: RoleProcess | undefined;
let client: GrpcClient<typeof CommandService> | undefined;

afterAll(async () => {
  client?.close();
  await proc?.kill("SIGKILL");
});

function envWithout(...names: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !names.includes(key)) env[key] = value;
  }
  return env;
}

describe("bun start with neither DATABASE_URL nor NATS_URL", () => {
  test("runs embedded: says so first, answers a call, stops on SIGTERM", async () => {
    const started = performance.now();
    proc = await startRole(
      "all",
      { GRPC_HOST: "127.0.0.1", GRPC_PORT: "0", AUTH_JWT_SECRET: secret },
      (l) => l.msg === "embedded mode ready",
      { unsetEnv: ["DATABASE_URL", "NATS_URL", "EMBEDDED_DATA_DIR"] },
    );
    const readyMs = performance.now() - started;
    expect(proc.logs[0]?.msg).toBe(
      "embedded mode: PGlite (in memory) and an in-process command bus; set DATABASE_URL and NATS_URL to use Postgres and NATS JetStream",
    );
    const ready = await proc.waitForLog((l) => l.msg === "embedded mode ready");
    expect(ready.totalMs).toBeNumber();
    console.log(
      `embedded start-up: ${Math.round(readyMs)} ms to ready (in-process timings ${JSON.stringify(ready)})`,
    );

    const { grpcPort } = await proc.waitForLog(gatewayReady);
    client = createGrpcClient(CommandService, `127.0.0.1:${grpcPort as number}`);
    const userId = crypto.randomUUID();
    const token = await mintToken({ sub: userId, role: "user", secret });
    const r = await client.call(
      "createUser",
      { userId, email: "e2e@example.com", displayName: "E2E" },
      { token },
    );
    expect(r.result).toMatchObject({ aggregateId: userId, version: 1n, duplicate: false });

    expect(await proc.kill("SIGTERM")).toBe(0);
    expect(proc.logs.at(-1)?.msg).toBe("stopped");
    proc = undefined;
  }, 60_000);

  test("with only one of them set, it refuses to start and names the missing variable", () => {
    const onlyDatabase = Bun.spawnSync(["bun", mainModule, "--role", "gateway"], {
      env: { ...envWithout("NATS_URL"), DATABASE_URL: "postgres://postgres@127.0.0.1:5432/postgres" },
    });
    expect(onlyDatabase.exitCode).toBe(1);
    expect(onlyDatabase.stderr.toString()).toContain("NATS_URL is not set");

    const onlyNats = Bun.spawnSync(["bun", mainModule], {
      env: { ...envWithout("DATABASE_URL"), NATS_URL: "nats://127.0.0.1:4222" },
    });
    expect(onlyNats.exitCode).toBe(1);
    expect(onlyNats.stderr.toString()).toContain("DATABASE_URL is not set");

    const embeddedWorker = Bun.spawnSync(["bun", mainModule, "--role", "worker"], {
      env: envWithout("DATABASE_URL", "NATS_URL"),
    });
    expect(embeddedWorker.exitCode).toBe(1);
    expect(embeddedWorker.stderr.toString()).toContain("--role worker needs DATABASE_URL and NATS_URL");
  });
});
