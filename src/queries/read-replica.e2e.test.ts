/**
 * The views read from a streaming replica (READ_DATABASE_URL), on private servers: a primary and a replica
 * made by `pg_basebackup -R` on loopback, every role its own process, the gateway reading the views from the
 * replica. With the replica's replay paused (it lags as long as we like):
 *
 * - read-your-writes holds: a query with the token of a command written meanwhile waits until the replica
 *   has replayed it and then answers from the view with the new row (never the replica's older state);
 * - staleness_ms of an eventual read, and clone_read_replica_lag_seconds, grow with the replica's lag and
 *   drop once it caught up;
 * - a strong read answers from the primary at once; a token whose wait runs past READ_FALLBACK_WAIT_MS is
 *   answered from the primary's write model (the fallback rules).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import pg from "pg";
import { createGrpcClient, type GrpcClient, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { AnswerSource, ReadConsistency } from "../gen/clone/v1/enums_pb";
import { QueryService } from "../gen/clone/v1/query_service_pb";
import { createPrivateStack, type PrivateStack } from "../testing";

const secret = "read-replica-secret-0123456789";
let stack: PrivateStack;
let replica: pg.Client;
let commands: GrpcClient<typeof CommandService>;
/** Gateway `waits` (fallback after 20 s) and gateway `fallsBack` (after 1 s), both reading the replica. */
let waits: GrpcClient<typeof QueryService>;
let fallsBack: GrpcClient<typeof QueryService>;
let metricsUrl: string;
let token: string;

beforeAll(async () => {
  stack = await createPrivateStack(
    { AUTH_JWT_SECRET: secret, WORKER_THREADS: "1", CONSISTENCY_THREADS: "1", OUTBOX_POLL_MS: "250" },
    { readReplica: true },
  );
  for (const role of ["worker", "relay", "consistency"] as const) await stack.start(role);
  const address = async (env: Record<string, string>) => {
    const line = await (await stack.start("gateway", env)).waitForLog((l) => l.msg === "gateway listening");
    return {
      grpc: `127.0.0.1:${line.grpcPort as number}`,
      http: `http://127.0.0.1:${line.httpPort as number}`,
    };
  };
  const a = await address({ READ_FALLBACK_WAIT_MS: "20000", QUERY_WAIT_MAX_MS: "30000" });
  const b = await address({ READ_FALLBACK_WAIT_MS: "1000" });
  commands = createGrpcClient(CommandService, a.grpc);
  waits = createGrpcClient(QueryService, a.grpc);
  fallsBack = createGrpcClient(QueryService, b.grpc);
  metricsUrl = `${a.http}/metrics`;
  replica = new pg.Client({ connectionString: stack.env.READ_DATABASE_URL });
  await replica.connect();
  token = await mintToken({ sub: "ops", role: "admin", secret });
}, 90_000);

afterAll(async () => {
  commands?.close();
  waits?.close();
  fallsBack?.close();
  await replica?.end().catch(() => {});
  await stack?.stop();
});

/** Creates a user; resolves with its id and the command's consistency token. */
async function createUser(): Promise<{ userId: string; consistencyToken: string }> {
  const userId = crypto.randomUUID();
  const r = await commands.call(
    "createUser",
    { options: { commandId: `replica-${userId}` }, userId, email: `${userId}@example.com`, displayName: "R" },
    { token, deadline: Date.now() + 10_000 },
  );
  return { userId, consistencyToken: r.result?.consistencyToken ?? "" };
}

const profile = (
  client: GrpcClient<typeof QueryService>,
  userId: string,
  options: { minConsistencyToken?: string; consistency?: ReadConsistency; bypassCache?: boolean } = {},
) => client.call("getUserProfile", { userId, options }, { token, deadline: Date.now() + 30_000 });

/** The gateway's clone_read_replica_lag_seconds. */
async function replicaLag(): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const m = /^clone_read_replica_lag_seconds(?:\{[^}]*\})? (\S+)$/m.exec(text);
  if (!m) throw new Error("no clone_read_replica_lag_seconds");
  return Number(m[1]);
}

const pause = () => replica.query("SELECT pg_wal_replay_pause()");
const resume = () => replica.query("SELECT pg_wal_replay_resume()");

test("the replica streams: a write is read back from the view with its token", async () => {
  expect((await replica.query("SELECT pg_is_in_recovery() AS r")).rows[0]?.r).toBe(true);
  const { userId, consistencyToken } = await createUser();
  const answer = await profile(waits, userId, { minConsistencyToken: consistencyToken });
  expect(answer.profile?.userId).toBe(userId);
  expect(answer.meta?.source).toBe(AnswerSource.VIEW);
}, 30_000);

test("replay paused: a token waits for the replica, staleness and the lag metric grow, a strong read goes to the primary", async () => {
  const before = await createUser();
  await profile(waits, before.userId, { minConsistencyToken: before.consistencyToken });
  await pause();
  try {
    const { userId, consistencyToken } = await createUser();
    // The primary has it at once.
    const strong = await profile(waits, userId, { consistency: ReadConsistency.STRONG });
    expect(strong.profile?.userId).toBe(userId);
    expect(strong.meta?.source).toBe(AnswerSource.WRITE_MODEL);
    // The replica does not, and the gateway knows it: the token waits.
    let answered = false;
    const read = profile(waits, userId, { minConsistencyToken: consistencyToken }).finally(() => {
      answered = true;
    });
    await Bun.sleep(2_500);
    expect(answered).toBe(false);
    expect(await replicaLag()).toBeGreaterThan(1);
    const eventual = await profile(waits, before.userId, {});
    expect(Number(eventual.meta?.stalenessMs)).toBeGreaterThan(1_500);
    await resume();
    const answer = await read;
    expect(answer.profile?.userId).toBe(userId);
    expect(answer.meta?.source).toBe(AnswerSource.VIEW);
  } finally {
    await resume();
  }
  // Caught up: no lag, fresh answers again.
  const deadline = Date.now() + 10_000;
  while ((await replicaLag()) > 0 && Date.now() < deadline) await Bun.sleep(100);
  expect(await replicaLag()).toBe(0);
  // (Read anew: the cached answer was read while the replica lagged, and says so.)
  const fresh = await profile(waits, before.userId, { bypassCache: true });
  expect(Number(fresh.meta?.stalenessMs)).toBeLessThan(1_500);
}, 45_000);

test("replay paused: past READ_FALLBACK_WAIT_MS a token is answered from the primary's write model", async () => {
  await pause();
  try {
    const { userId, consistencyToken } = await createUser();
    const started = performance.now();
    const answer = await profile(fallsBack, userId, { minConsistencyToken: consistencyToken });
    expect(performance.now() - started).toBeGreaterThan(900);
    expect(answer.profile?.userId).toBe(userId);
    expect(answer.meta?.source).toBe(AnswerSource.WRITE_MODEL);
  } finally {
    await resume();
  }
}, 30_000);
