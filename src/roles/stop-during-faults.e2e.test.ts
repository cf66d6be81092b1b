/**
 * SIGTERM while a dependency is unreachable and work keeps failing, with commands waiting for their answers.
 * Postgres down (connections refused): every role exits 0 in about the time of its work in flight, not after
 * waiting out a grace or a retry (the gateway used to wait the gRPC server's 5 s grace for command calls that
 * could not be answered). Postgres hung (it accepts connections and never answers): work in flight cannot
 * finish, so each role gives up on it within a few seconds (exit 1; it is redelivered or retried elsewhere)
 * instead of hanging until the 25 s watchdog (or for good).
 */
import { afterEach, expect, test } from "bun:test";
import { createGrpcClient, type GrpcClient, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { createPrivateStack, type PrivateStack } from "../testing";

const secret = "stop-during-faults-secret-0123456789";
let stack: PrivateStack | undefined;
let client: GrpcClient<typeof CommandService> | undefined;

afterEach(async () => {
  client?.close();
  await stack?.stop();
});

/** Starts every role, makes the fault with commands waiting, SIGTERMs each role; how each one exited. */
async function stopDuring(fault: (stack: PrivateStack) => Promise<void>) {
  const s = await createPrivateStack({
    AUTH_JWT_SECRET: secret,
    WORKER_THREADS: "1",
    CONSISTENCY_THREADS: "1",
  });
  stack = s;
  for (const role of ["worker", "relay", "consistency", "gateway"] as const) await s.start(role);
  const gateway = s.processes.find((p) => p.role === "gateway");
  const port = (await gateway?.waitForLog((l) => l.msg === "gateway listening"))?.grpcPort as number;
  const c = createGrpcClient(CommandService, `127.0.0.1:${port}`);
  client = c;
  const token = await mintToken({ sub: "ops", role: "admin", secret });
  await c.call("createUser", { email: "first@example.com", displayName: "First" }, { token });
  await fault(s);
  const waiting = Array.from({ length: 10 }, (_, i) =>
    c
      .call(
        "createUser",
        { email: `waiting-${i}@example.com`, displayName: "Waiting" },
        { token, deadline: Date.now() + 30_000 },
      )
      .catch((error: unknown) => error),
  );
  await Bun.sleep(2_000); // the commands are tried and fail (or hang)
  const stops: Array<{ role: string; code: number | null; ms: number }> = [];
  for (const p of [...s.processes].reverse()) {
    const started = performance.now();
    const code = await p.kill("SIGTERM");
    stops.push({ role: p.role, code, ms: Math.round(performance.now() - started) });
  }
  await Promise.all(waiting);
  return stops;
}

test("Postgres down: every role exits 0 within 2 s of SIGTERM", async () => {
  const stops = await stopDuring((s) => s.postgres.stop("immediate"));
  expect(stops.filter((s) => s.code !== 0 || s.ms > 2_000)).toEqual([]);
}, 60_000);

test("Postgres hung: every role exits within 5 s of SIGTERM", async () => {
  const stops = await stopDuring(async (s) => s.postgresProxy.hang());
  expect(stops.filter((s) => (s.code !== 0 && s.code !== 1) || s.ms > 5_000)).toEqual([]);
}, 60_000);
