/**
 * SIGTERM while a dependency is down and work keeps failing: Postgres is crashed while commands wait for
 * their answers (the workers cannot apply them and leave them to be redelivered). Every role must exit 0 in
 * about the time of its work in flight, not after waiting out a grace or a retry: the gateway used to wait the
 * gRPC server's 5 s grace for command calls that could not be answered.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createGrpcClient, type GrpcClient, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { createPrivateStack, type PrivateStack } from "../testing";

const secret = "stop-during-faults-secret-0123456789";
let stack: PrivateStack;
let client: GrpcClient<typeof CommandService>;
let token: string;

beforeAll(async () => {
  stack = await createPrivateStack({
    AUTH_JWT_SECRET: secret,
    WORKER_THREADS: "1",
    CONSISTENCY_THREADS: "1",
  });
  for (const role of ["worker", "relay", "consistency", "gateway"] as const) await stack.start(role);
  const gateway = stack.processes.find((p) => p.role === "gateway");
  const port = (await gateway?.waitForLog((l) => l.msg === "gateway listening"))?.grpcPort as number;
  client = createGrpcClient(CommandService, `127.0.0.1:${port}`);
  token = await mintToken({ sub: "ops", role: "admin", secret });
}, 60_000);
afterAll(async () => {
  client?.close();
  await stack?.stop();
});

test("with Postgres down and commands waiting, every role exits 0 within 2 s of SIGTERM", async () => {
  await client.call("createUser", { email: "first@example.com", displayName: "First" }, { token });
  await stack.postgres.stop("immediate");
  const waiting = Array.from({ length: 10 }, (_, i) =>
    client
      .call(
        "createUser",
        { email: `waiting-${i}@example.com`, displayName: "Waiting" },
        { token, deadline: Date.now() + 30_000 },
      )
      .catch((error: unknown) => error),
  );
  await Bun.sleep(2_000); // the commands are tried, fail, are redelivered and fail again
  const stops: Array<{ role: string; code: number | null; ms: number }> = [];
  for (const p of [...stack.processes].reverse()) {
    const started = performance.now();
    const code = await p.kill("SIGTERM");
    stops.push({ role: p.role, code, ms: Math.round(performance.now() - started) });
  }
  await Promise.all(waiting);
  expect(stops.filter((s) => s.code !== 0 || s.ms > 2_000)).toEqual([]);
}, 40_000);
