/**
 * The command path on a 3-node JetStream cluster (private nats-servers on loopback, each with its own store,
 * NATS_URL listing all three, R3 streams), every role its own process: under a steady load of CreateUser
 * commands (each retried with its command_id until it is acknowledged, as a client should), the COMMANDS
 * stream's leader is SIGKILLed, then (once it is back and caught up) the follower leading the most
 * partitions' consumers. After each kill one command per partition is sent; at the end every acknowledged
 * command was applied exactly once (one event, one row, one stored result), no other was applied, and the
 * read side shows every one of them.
 *
 * How soon commands succeed again is bounded by nats-server: the survivors elect a new leader of the stream
 * (and of each partition's consumer the dead node led) only after a Raft election timeout drawn from 4-9 s,
 * fixed in the server (server/raft.go, 2.9 through 2.12; no setting). On 2.9.10 (Debian 12's) a vote can
 * also fail for rounds: a follower whose log is ahead refuses the other's vote and, unlike from 2.9.15 on,
 * waits out a whole new timeout before it campaigns itself. So the test asserts two things: each partition
 * is back within CLUSTER_BOUND_MS, and at most CLIENT_SLACK_MS after the cluster had leaders for the stream
 * and its consumer again (what this code adds: the gateway's publish fails at once while the stream has no
 * leader, the worker's pull is made again within ~1 s, and the consumers are not recreated).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type ServiceError, status as Status } from "@grpc/grpc-js";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { createGrpcClient, type GrpcClient, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { QueryService } from "../gen/clone/v1/query_service_pb";
import {
  createPrivateStack,
  leadersOf,
  type PrivateNatsCluster,
  type PrivateStack,
  type RoleProcess,
  waitUntilCurrent,
  watchLeadersBack,
} from "../testing";
import { partitionOf } from "../transport/partition";

const secret = "nats-cluster-secret-0123456789";
const RETRYABLE = new Set([Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED, Status.CANCELLED, Status.INTERNAL]);
const COMMANDS_STREAM = "private_COMMANDS";
/** The stack's COMMAND_PARTITIONS, and their consumers. */
const PARTITIONS = 4;
const CONSUMERS = Array.from({ length: PARTITIONS }, (_, p) => `cmd-${p}`);
/**
 * How long after the cluster had leaders again a partition may take to answer: a lookup of the consumer
 * unanswered while it had none (1 s, the worker's PARTITION_API_TIMEOUT_MS), the backoff after it (at most
 * 1.5 s), one of the probe's 1 s attempts, and the delivery. Measured (124 partition recoveries after 31
 * SIGKILLs, 2 cores shared and loaded): at most 2.1 s, half of them none at all; with the worker's earlier
 * pull settings up to 5.8 s, and 17.6 s (49 s once) when it also recreated its consumers after its
 * connection's node died.
 */
const CLIENT_SLACK_MS = 4_000;
/**
 * How long after a kill a partition may take to answer: the goal was 5 s, which nats-server does not allow
 * after a leader's SIGKILL (see the header). Measured here on 2.9.10 (2 shared cores under load): the stream
 * had a leader again 4.0-9.0 s after its leader's kill in 41 of 43 kills; every partition answered 4.4-10.2 s
 * after it (median 7.7 s, 2 of 21 kills under 5 s); in the other two the survivors' vote failed for over 40 s.
 * The bound is what the cluster does but for that, not the goal.
 */
const CLUSTER_BOUND_MS = 45_000;

let stack: PrivateStack;
let cluster: PrivateNatsCluster;
let token: string;
let commands: GrpcClient<typeof CommandService>;
let queries: GrpcClient<typeof QueryService>;

beforeAll(async () => {
  stack = await createPrivateStack(
    { AUTH_JWT_SECRET: secret, WORKER_THREADS: "1", CONSISTENCY_THREADS: "1", OUTBOX_POLL_MS: "250" },
    { natsNodes: 3 },
  );
  cluster = stack.natsCluster as PrivateNatsCluster;
  for (const role of ["worker", "relay", "consistency", "gateway"] as const) await stack.start(role);
  const gateway = stack.processes.find((p) => p.role === "gateway") as RoleProcess;
  const address = `127.0.0.1:${(await gateway.waitForLog((l) => l.msg === "gateway listening")).grpcPort as number}`;
  commands = createGrpcClient(CommandService, address);
  queries = createGrpcClient(QueryService, address);
  token = await mintToken({ sub: "ops", role: "admin", secret });
}, 90_000);

afterAll(async () => {
  commands?.close();
  queries?.close();
  await stack?.stop();
});

/** Acknowledged commands: user id -> its consistency token. */
const acked = new Map<string, string>();
/** User ids of every command sent. */
const sent = new Set<string>();

/**
 * Sends one CreateUser, each attempt with a deadline of `attemptMs`, retrying with the same command_id until
 * it is acknowledged; resolves with the ack time.
 */
async function createUserUntilAcked(
  attemptMs = 3_000,
  giveUpMs = CLUSTER_BOUND_MS,
  userId: string = crypto.randomUUID(),
): Promise<number> {
  const commandId = `cluster-${userId}`;
  sent.add(userId);
  const started = performance.now();
  for (;;) {
    try {
      const result = await commands.call(
        "createUser",
        { options: { commandId }, userId, email: `${userId}@example.com`, displayName: "Cluster" },
        { token, deadline: Date.now() + attemptMs },
      );
      acked.set(userId, result.result?.consistencyToken ?? "");
      return performance.now();
    } catch (error) {
      if (!RETRYABLE.has((error as ServiceError).code)) throw error;
      if (performance.now() - started > giveUpMs) throw new Error(`${commandId} not acknowledged`);
      await Bun.sleep(50);
    }
  }
}

/** Four clients sending commands back to back until `stop` resolves. */
async function load(stop: Promise<void>): Promise<void> {
  let stopped = false;
  void stop.then(() => {
    stopped = true;
  });
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (!stopped) await createUserUntilAcked();
    }),
  );
}

/** A user id whose commands go to `partition`. */
function userIn(partition: number): string {
  for (;;) {
    const id = crypto.randomUUID();
    if (partitionOf(id, PARTITIONS) === partition) return id;
  }
}

/** One partition after a kill: when its command was acknowledged, and when its stream and consumer had leaders. */
interface Recovery {
  readonly ackedMs: number;
  readonly leadersMs: number;
}

/**
 * Once every replica is current, SIGKILLs node `pick(leaders)` (`leaders`: the node leading the COMMANDS
 * stream, then each partition's consumer) and sends one command per partition (retried with short attempts,
 * so that the time measured is the cluster's and not the client's retry period); restarts the node once all
 * are acknowledged.
 */
async function killAndProbe(pick: (leaders: readonly (number | undefined)[]) => number): Promise<Recovery[]> {
  const servers = cluster.nodes.map((n) => n.url);
  await waitUntilCurrent(servers, COMMANDS_STREAM, CONSUMERS);
  const nc = await connect({ servers, timeout: 5_000 });
  const led = await leadersOf(await jetstreamManager(nc, { timeout: 2_000 }), COMMANDS_STREAM, CONSUMERS);
  await nc.close();
  const index = pick(led);
  const node = cluster.nodes[index];
  if (node === undefined) throw new Error(`no node ${index}`);
  const users = CONSUMERS.map((_, p) => userIn(p));
  await node.stop("SIGKILL");
  const killedAt = performance.now();
  const watch = await watchLeadersBack(
    servers.filter((_, i) => i !== index),
    COMMANDS_STREAM,
    CONSUMERS,
    index,
  );
  const ackedAt = await Promise.all(
    users.map(async (u) => (await createUserUntilAcked(1_000, CLUSTER_BOUND_MS, u)) - killedAt),
  );
  // The watch's asks lag by up to 0.5 s.
  await Bun.sleep(500);
  const back = await watch.stop();
  await node.start();
  const recoveries = ackedAt.map((ackedMs, p) => {
    const times = [back[0], led[p + 1] === index ? back[p + 1] : 0];
    // A leader the watch did not see back was back by the time the partition answered, at the latest.
    return { ackedMs, leadersMs: Math.max(...times.map((t) => t ?? ackedMs)) };
  });
  const ms = (t: number | undefined) => (t === undefined ? "-" : `${Math.round(t)} ms`);
  const ledHere = [COMMANDS_STREAM, ...CONSUMERS].filter((_, i) => led[i] === index);
  console.log(
    `SIGKILL of n${index} (leading ${ledHere.join(", ") || "nothing"}): stream led again after ${ms(back[0])}; ` +
      "per partition, command acknowledged / stream and consumer led again: " +
      recoveries.map((r, p) => `p${p} ${ms(r.ackedMs)} / ${ms(r.leadersMs)}`).join(", "),
  );
  return recoveries;
}

test("under load, SIGKILL of the COMMANDS leader and then of a follower: commands resume, none lost or applied twice", async () => {
  let finish = (): void => {};
  const running = load(new Promise<void>((resolve) => (finish = resolve)));
  let before = 0;
  const kills: Recovery[][] = [];
  try {
    await Bun.sleep(2_000);
    before = acked.size;
    kills.push(await killAndProbe((leaders) => leaders[0] as number));
    // The follower leading the most partitions' consumers, whose partitions wait for elections of their own.
    const consumersLed = (node: number, leaders: readonly (number | undefined)[]) =>
      leaders.slice(1).filter((l) => l === node).length;
    kills.push(
      await killAndProbe((leaders) =>
        [0, 1, 2]
          .filter((n) => n !== leaders[0])
          .reduce((a, b) => (consumersLed(b, leaders) > consumersLed(a, leaders) ? b : a)),
      ),
    );
    await Bun.sleep(1_000);
  } finally {
    finish();
    await running;
  }
  expect(before).toBeGreaterThan(0);
  expect(kills.map((k) => k.length)).toEqual([PARTITIONS, PARTITIONS]);
  for (const k of kills) for (const r of k) expect(r.ackedMs).toBeLessThan(CLUSTER_BOUND_MS);
  // What this code adds to the cluster's elections.
  for (const k of kills) for (const r of k) expect(r.ackedMs - r.leadersMs).toBeLessThan(CLIENT_SLACK_MS);
  expect(acked.size).toBeGreaterThan(before);
  expect(acked.size).toBe(sent.size);

  // Exactly once: one UserCreated event, one row and one stored result per acknowledged command, nothing else.
  const events = await stack.db.pool.query<{ id: string; n: string }>(
    "SELECT aggregate_id::text AS id, count(*) AS n FROM events WHERE aggregate_type = 'user' GROUP BY 1",
  );
  const perUser = new Map(events.rows.map((r) => [r.id, Number(r.n)]));
  expect([...perUser.keys()].sort()).toEqual([...acked.keys()].sort());
  expect([...perUser.values()].every((n) => n === 1)).toBe(true);
  const rows = await stack.db.pool.query<{ n: string }>("SELECT count(*) AS n FROM users");
  expect(Number(rows.rows[0]?.n)).toBe(acked.size);
  const results = await stack.db.pool.query<{ n: string }>(
    "SELECT count(*) AS n FROM command_results WHERE command_id LIKE 'cluster-%'",
  );
  expect(Number(results.rows[0]?.n)).toBe(acked.size);

  // The read side catches up: every user is in the view, and read-your-writes holds for the last one.
  const deadline = performance.now() + 20_000;
  for (;;) {
    const view = await stack.db.pool.query<{ n: string }>("SELECT count(*) AS n FROM user_profile_view");
    if (Number(view.rows[0]?.n) === acked.size) break;
    if (performance.now() > deadline) throw new Error(`view has ${view.rows[0]?.n} of ${acked.size} users`);
    await Bun.sleep(200);
  }
  const [lastUser, lastToken] = [...acked].at(-1) as [string, string];
  const profile = await queries.call(
    "getUserProfile",
    { userId: lastUser, options: { minConsistencyToken: lastToken } },
    { token, deadline: Date.now() + 10_000 },
  );
  expect(profile.profile?.userId).toBe(lastUser);
  expect(stack.exited()).toEqual([]);
  expect(stack.unhandledRejections()).toEqual([]);
}, 180_000);
