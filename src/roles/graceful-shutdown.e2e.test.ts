/**
 * Graceful shutdown under load: 2 worker and 2 gateway processes, 1,500 commands at a concurrency of 32.
 * Halfway through, one worker and one gateway get SIGTERM; each must exit 0 within a few seconds, and both
 * are started again. Clients retry UNAVAILABLE / DEADLINE_EXCEEDED / CANCELLED with the same command id, as
 * a real client would. At the end every command answered OK is stored and applied exactly once, the turn
 * sequences have no gap, and the work queue is empty (nothing applied was left unacked). Then a relay leader
 * and a consistency leader get SIGTERM: they exit 0 and their standbys carry the next write to the views.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ServiceError, status as Status } from "@grpc/grpc-js";
import { jetstreamManager } from "@nats-io/jetstream";
import { createGrpcClient, type GrpcClient, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { Speaker } from "../gen/clone/v1/enums_pb";
import { createTestStack, type RoleProcess, roleReady, type TestStack } from "../testing";
import { streamNames } from "../transport/jetstream/streams";

type Client = GrpcClient<typeof CommandService>;

const secret = "graceful-secret-0123456789abcdef";
const PARTITIONS = 8;
const COMMANDS = 1500;
const CONCURRENCY = 32;
const CONVERSATIONS = 10;
/** Retried with the same command id; anything else is a real answer. */
const RETRYABLE = new Set([Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED, Status.CANCELLED]);

let stack: TestStack;
let token: string;
let workers: RoleProcess[] = [];
let gateways: RoleProcess[] = [];
/** One client per gateway slot; a slot's client is swapped when its gateway is restarted. */
const clients: Client[] = [];
const opened: Client[] = [];
const userId = crypto.randomUUID();

async function connectTo(gateway: RoleProcess): Promise<Client> {
  const client = createGrpcClient(CommandService, (await stack.addresses(gateway)).grpc);
  opened.push(client);
  return client;
}

beforeAll(async () => {
  stack = await createTestStack({
    AUTH_JWT_SECRET: secret,
    COMMAND_PARTITIONS: String(PARTITIONS),
    WORKER_THREADS: "2",
  });
  workers = await Promise.all([stack.start("worker"), stack.start("worker")]);
  gateways = await Promise.all([stack.start("gateway"), stack.start("gateway")]);
  clients.push(...(await Promise.all(gateways.map(connectTo))));
  token = await mintToken({ sub: "ops", role: "admin", secret });
  await clients[0]?.call(
    "createUser",
    { userId, email: "owner@example.com", displayName: "Owner" },
    { token },
  );
}, 60_000);

afterAll(async () => {
  for (const c of opened) c.close();
  await stack?.stop("SIGKILL");
});

/** Advisory locks held in this test's database: member locks and partition locks. */
async function heldLocks(): Promise<number> {
  const res = await stack.db.pool.query(
    `SELECT count(*)::int AS n FROM pg_locks
      WHERE locktype = 'advisory' AND granted AND objsubid = 2
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
  return res.rows[0].n as number;
}

/** Sends SIGTERM; resolves with the exit code and how long the process took to exit. */
async function terminate(p: RoleProcess): Promise<{ code: number | null; ms: number }> {
  const started = performance.now();
  const code = await p.kill("SIGTERM");
  return { code, ms: performance.now() - started };
}

interface Command {
  readonly commandId: string;
  readonly conversationId?: string;
  send(client: Client): Promise<unknown>;
}

function buildCommands(conversations: readonly string[]): Command[] {
  return Array.from({ length: COMMANDS }, (_, i): Command => {
    const commandId = `gs-${i}-${crypto.randomUUID()}`;
    const deadline = () => Date.now() + 10_000;
    if (i % 5 === 0) {
      const conversationId = conversations[(i / 5) % conversations.length] as string;
      return {
        commandId,
        conversationId,
        send: (c) =>
          c.call(
            "recordConversationTurn",
            {
              options: { commandId },
              conversationId,
              speaker: i % 2 === 0 ? Speaker.USER : Speaker.CLONE,
              text: `turn ${i}`,
              audioMs: 10,
              latencyMs: 5,
            },
            { token, deadline: deadline() },
          ),
      };
    }
    return {
      commandId,
      send: (c) =>
        c.call(
          "createUser",
          { options: { commandId }, email: `gs${i}@example.com`, displayName: `GS ${i}` },
          { token, deadline: deadline() },
        ),
    };
  });
}

describe("graceful shutdown (SIGTERM)", () => {
  test("no command answered OK is lost or applied twice across a SIGTERM restart of a worker and a gateway", async () => {
    const conversations = await Promise.all(
      Array.from({ length: CONVERSATIONS }, async () => {
        const r = await clients[0]?.call("startConversation", { userId }, { token });
        return r?.result?.aggregateId ?? "";
      }),
    );
    const commands = buildCommands(conversations);
    const ok = new Set<string>();
    const retried = new Map<string, string[]>();
    let next = 0;
    let sigtermAt = Number.POSITIVE_INFINITY;
    let stoppingClient: Client | undefined;
    /** Calls to the gateway being stopped that began before its SIGTERM and still ended OK. */
    let finishedAcrossSigterm = 0;
    let restart: Promise<void> | undefined;
    /** The worker (and the gateway) of slot 0 get SIGTERM and are started again. */
    const stoppedWorker = workers[0] as RoleProcess;
    const stops: Record<string, { code: number | null; ms: number }> = {};
    let takeoverMs = Number.NaN;

    async function restartHalf(): Promise<void> {
      const gateway = gateways[0] as RoleProcess;
      stoppingClient = clients[0];
      sigtermAt = performance.now();
      const [w, g] = await Promise.all([
        terminate(stoppedWorker).then(async (r) => {
          // The survivor took every partition as it came free, not at its next rebalance.
          const exitedAt = performance.now();
          while ((await heldLocks()) !== 1 + PARTITIONS && performance.now() - exitedAt < 5_000)
            await Bun.sleep(10);
          takeoverMs = performance.now() - exitedAt;
          return r;
        }),
        terminate(gateway),
      ]);
      stops.worker = w;
      stops.gateway = g;
      const [newWorker, newGateway] = await Promise.all([stack.start("worker"), stack.start("gateway")]);
      workers[0] = newWorker;
      gateways[0] = newGateway;
      clients[0] = await connectTo(newGateway);
    }

    async function lane(laneIndex: number): Promise<void> {
      while (next < commands.length) {
        const cmd = commands[next++] as Command;
        for (let attempt = 0; ; attempt++) {
          const slot = (laneIndex + attempt) % clients.length;
          const client = clients[slot] as Client;
          const startedAt = performance.now();
          try {
            await cmd.send(client);
            if (client === stoppingClient && startedAt < sigtermAt && performance.now() > sigtermAt)
              finishedAcrossSigterm++;
            ok.add(cmd.commandId);
            break;
          } catch (e) {
            const code = (e as ServiceError).code;
            if (!RETRYABLE.has(code) || attempt >= 30) throw e;
            retried.set(cmd.commandId, [...(retried.get(cmd.commandId) ?? []), Status[code]]);
            await Bun.sleep(Math.min(20 * (attempt + 1), 200));
          }
        }
        if (ok.size >= COMMANDS / 3 && restart === undefined) restart = restartHalf();
      }
    }

    const started = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => lane(i)));
    await restart;
    const elapsed = performance.now() - started;

    // Both stopped gracefully, and quickly.
    expect(stops.worker?.code).toBe(0);
    expect(stops.gateway?.code).toBe(0);
    expect(stops.worker?.ms).toBeLessThan(5_000);
    expect(stops.gateway?.ms).toBeLessThan(7_000);
    expect(takeoverMs).toBeLessThan(500);
    expect(stoppedWorker.logs.some((l) => l.msg === "command worker stopped")).toBe(true);
    expect(stoppedWorker.logs.at(-1)?.msg).toBe("stopped");
    const drained = stoppedWorker.logs
      .filter((l) => l.msg === "drained partition")
      .reduce((n, l) => n + (l.commands as number), 0);

    // Every command ended OK (the clients retried), and each is stored and applied exactly once.
    expect(ok.size).toBe(COMMANDS);
    const stored = await stack.db.pool.query(
      "SELECT count(*)::int AS n FROM command_results WHERE command_id = ANY($1::text[])",
      [[...ok]],
    );
    expect(stored.rows[0].n).toBe(COMMANDS);
    const perCommand = await stack.db.pool.query(
      `SELECT metadata->>'commandId' AS id, count(*)::int AS n FROM events
        WHERE metadata->>'commandId' LIKE 'gs-%' GROUP BY 1`,
    );
    expect(perCommand.rows.length).toBe(COMMANDS);
    expect(perCommand.rows.filter((r) => r.n !== 1)).toEqual([]);

    // Turns: every conversation numbered 1..n without a gap, each turn command applied once.
    const perConversation = COMMANDS / 5 / CONVERSATIONS;
    for (const conversationId of conversations) {
      const turns = await stack.db.pool.query(
        "SELECT sequence, text FROM turns WHERE conversation_id = $1 ORDER BY sequence",
        [conversationId],
      );
      expect(turns.rows.map((r) => r.sequence)).toEqual(
        Array.from({ length: perConversation }, (_, i) => i + 1),
      );
      expect(new Set(turns.rows.map((r) => r.text)).size).toBe(perConversation);
    }

    // Nothing left in the work queue: every applied command was acked (late duplicates answered and acked).
    const jsm = await jetstreamManager(stack.nats.nc);
    const commandStream = streamNames(stack.nats.prefix).commandStream;
    let left = -1;
    for (let i = 0; i < 100 && left !== 0; i++) {
      left = (await jsm.streams.info(commandStream)).state.messages;
      if (left !== 0) await Bun.sleep(50);
    }
    expect(left).toBe(0);

    console.log(
      `graceful shutdown: ${COMMANDS} commands in ${Math.round(elapsed)} ms; worker stopped in ` +
        `${Math.round(stops.worker?.ms ?? 0)} ms after draining ${drained} in-flight commands, partitions ` +
        `taken over ${Math.round(takeoverMs)} ms after it exited; gateway stopped in ` +
        `${Math.round(stops.gateway?.ms ?? 0)} ms, ${finishedAcrossSigterm} of its calls in flight at SIGTERM ` +
        `finished OK; ${retried.size} commands needed a client retry (${summarise(retried)})`,
    );
    expect(finishedAcrossSigterm).toBeGreaterThan(0);
  }, 180_000);
  test("a relay and a consistency leader stop on SIGTERM, exit 0, and their standbys take over", async () => {
    const pollEnv = { OUTBOX_POLL_MS: "200" };
    const relays = [await stack.start("relay", pollEnv)];
    relays.push(await stack.start("relay", pollEnv));
    const deciders = [await stack.start("consistency", pollEnv)];
    deciders.push(await stack.start("consistency", pollEnv));
    const leaderOf = async (ps: RoleProcess[], started: (l: Record<string, unknown>) => boolean) => {
      const flags = await Promise.all(ps.map(async (p) => (await p.waitForLog(started)).leader === true));
      expect(flags.filter(Boolean)).toHaveLength(1);
      const i = flags.indexOf(true);
      return { leader: ps[i] as RoleProcess, standby: ps[1 - i] as RoleProcess };
    };
    const relay = await leaderOf(relays, roleReady.relay);
    const consistency = await leaderOf(deciders, roleReady.consistency);

    const [relayStop, consistencyStop] = await Promise.all([
      terminate(relay.leader),
      terminate(consistency.leader),
    ]);
    expect(relayStop.code).toBe(0);
    expect(consistencyStop.code).toBe(0);
    expect(relayStop.ms).toBeLessThan(5_000);
    expect(consistencyStop.ms).toBeLessThan(5_000);
    await relay.standby.waitForLog((l) => l.msg === "outbox relay is the leader", 5_000);
    await consistency.standby.waitForLog(
      (l) => l.msg === "consistency leader: refreshing read views",
      10_000,
    );

    // The new leaders carry a write through to the read view.
    const created = await (clients[1] as Client).call(
      "createUser",
      { email: "after-failover@example.com", displayName: "After failover" },
      { token },
    );
    const newUser = created.result?.aggregateId;
    let seen = 0;
    for (let i = 0; i < 200 && seen === 0; i++) {
      const r = await stack.db.pool.query("SELECT 1 FROM user_profile_view WHERE user_id = $1", [newUser]);
      seen = r.rowCount ?? 0;
      if (seen === 0) await Bun.sleep(50);
    }
    expect(seen).toBe(1);
    console.log(
      `relay leader stopped in ${Math.round(relayStop.ms)} ms, consistency leader in ${Math.round(consistencyStop.ms)} ms`,
    );
  }, 60_000);
});

function summarise(retried: Map<string, string[]>): string {
  const counts = new Map<string, number>();
  for (const codes of retried.values()) for (const c of codes) counts.set(c, (counts.get(c) ?? 0) + 1);
  return [...counts].map(([c, n]) => `${c} x${n}`).join(", ") || "none";
}
