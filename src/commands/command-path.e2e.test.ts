/**
 * The command path scaled out: 2 gateway and 2 worker processes on one Postgres and one NATS prefix.
 * Ordering per aggregate, idempotency across gateways, and exactly-once effects across a worker SIGKILL.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ServiceError, status as Status } from "@grpc/grpc-js";
import { createGrpcClient, type GrpcClient, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { Speaker } from "../gen/clone/v1/enums_pb";
import { createTestStack, type RoleProcess, type TestDatabase, type TestStack } from "../testing";

const secret = "e2e-secret-0123456789abcdef";
let stack: TestStack;
let db: TestDatabase;
let workers: RoleProcess[] = [];
let clients: GrpcClient<typeof CommandService>[] = [];
let token: string;
const userId = crypto.randomUUID();

beforeAll(async () => {
  stack = await createTestStack({ AUTH_JWT_SECRET: secret, COMMAND_PARTITIONS: "8", WORKER_THREADS: "2" });
  db = stack.db;
  workers = await Promise.all([stack.start("worker"), stack.start("worker")]);
  const gateways = await Promise.all([stack.start("gateway"), stack.start("gateway")]);
  clients = await Promise.all(
    gateways.map(async (g) => createGrpcClient(CommandService, (await stack.addresses(g)).grpc)),
  );
  token = await mintToken({ sub: "ops", role: "admin", secret });
  await clients[0]?.call(
    "createUser",
    { userId, email: "owner@example.com", displayName: "Owner" },
    { token },
  );
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await stack?.stop("SIGKILL");
});

const client = (i: number) => clients[i % clients.length] as GrpcClient<typeof CommandService>;

async function startConversation(): Promise<string> {
  const r = await client(0).call("startConversation", { userId }, { token });
  return r.result?.aggregateId ?? "";
}

describe("command path with 2 gateways and 2 workers", () => {
  test("every partition has exactly one owner (2 member locks + 8 partition locks)", async () => {
    const owned = await db.pool.query(
      `SELECT count(*)::int AS n FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND objsubid = 2
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    // Two member locks plus eight partition locks.
    expect(owned.rows[0].n).toBe(10);
  });

  test("50 concurrent turns on one conversation through both gateways: numbered 1..50, no gap, no duplicate", async () => {
    const conversationId = await startConversation();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        client(i).call(
          "recordConversationTurn",
          { conversationId, speaker: Speaker.USER, text: `turn ${i}`, audioMs: 10, latencyMs: 5 },
          { token },
        ),
      ),
    );
    expect(results.map((r) => Number(r.result?.version)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 2),
    );
    const turns = await db.pool.query(
      "SELECT sequence, text FROM turns WHERE conversation_id = $1 ORDER BY sequence",
      [conversationId],
    );
    expect(turns.rows.map((r) => r.sequence)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(new Set(turns.rows.map((r) => r.text)).size).toBe(50);
  });

  test("the same command sent 3 times at once through both gateways: one effect, the others duplicate", async () => {
    const conversationId = await startConversation();
    const request = {
      options: { commandId: `same-${crypto.randomUUID()}` },
      conversationId,
      speaker: Speaker.CLONE,
      text: "once",
      audioMs: 1,
      latencyMs: 1,
    };
    const results = await Promise.all(
      [0, 1, 2].map((i) => client(i).call("recordConversationTurn", request, { token })),
    );
    expect(results.filter((r) => r.result?.duplicate === false)).toHaveLength(1);
    expect(results.filter((r) => r.result?.duplicate === true)).toHaveLength(2);
    expect(new Set(results.map((r) => r.result?.version))).toEqual(new Set([2n]));
    const turns = await db.pool.query("SELECT count(*)::int AS n FROM turns WHERE conversation_id = $1", [
      conversationId,
    ]);
    expect(turns.rows[0].n).toBe(1);
  });

  test("a worker SIGKILLed in the middle of 2,000 commands: every OK command applied exactly once", async () => {
    const conversations = await Promise.all(Array.from({ length: 8 }, () => startConversation()));
    const commands = Array.from({ length: 2000 }, (_, i) => {
      const commandId = `kill-${i}-${crypto.randomUUID()}`;
      if (i % 5 === 0) {
        const conversationId = conversations[(i / 5) % conversations.length] as string;
        return {
          commandId,
          send: (c: GrpcClient<typeof CommandService>) =>
            c.call(
              "recordConversationTurn",
              {
                options: { commandId },
                conversationId,
                speaker: Speaker.USER,
                text: `t${i}`,
                audioMs: 1,
                latencyMs: 1,
              },
              { token, deadline: Date.now() + 20_000 },
            ),
        };
      }
      return {
        commandId,
        send: (c: GrpcClient<typeof CommandService>) =>
          c.call(
            "createUser",
            { options: { commandId }, email: `k${i}@example.com`, displayName: `K${i}` },
            { token, deadline: Date.now() + 20_000 },
          ),
      };
    });
    const ok = new Set<string>();
    const failedFirst: string[] = [];
    let next = 0;
    let killed: Promise<void> | undefined;
    const victim = workers[0] as RoleProcess;
    async function lane(laneIndex: number) {
      while (next < commands.length) {
        const cmd = commands[next++] as (typeof commands)[number];
        let attempt = 0;
        for (;;) {
          try {
            await cmd.send(client(laneIndex + attempt));
            ok.add(cmd.commandId);
            break;
          } catch (e) {
            const code = (e as ServiceError).code;
            if (attempt === 0) failedFirst.push(`${cmd.commandId}:${Status[code]}`);
            // A real client retries UNAVAILABLE / DEADLINE_EXCEEDED with the same command id.
            if (++attempt > 5 || (code !== Status.UNAVAILABLE && code !== Status.DEADLINE_EXCEEDED)) throw e;
          }
        }
        if (ok.size === 500 && !killed) {
          killed = (async () => {
            await victim.kill("SIGKILL");
            await Bun.sleep(500);
            await stack.start("worker");
          })();
        }
      }
    }
    await Promise.all(Array.from({ length: 64 }, (_, i) => lane(i)));
    await killed;
    expect(killed).toBeDefined();
    expect(ok.size).toBe(2000);
    // Exactly once: one event per command id, for every command.
    const perCommand = await db.pool.query(
      `SELECT metadata->>'commandId' AS id, count(*)::int AS n FROM events
        WHERE metadata->>'commandId' LIKE 'kill-%' GROUP BY 1`,
    );
    expect(perCommand.rows.length).toBe(2000);
    expect(perCommand.rows.filter((r) => r.n !== 1)).toEqual([]);
    const results = await db.pool.query(
      "SELECT count(*)::int AS n FROM command_results WHERE command_id LIKE 'kill-%'",
    );
    expect(results.rows[0].n).toBe(2000);
    // Turns per conversation still 1..n with no gap.
    for (const c of conversations) {
      const t = await db.pool.query(
        "SELECT sequence FROM turns WHERE conversation_id = $1 ORDER BY sequence",
        [c],
      );
      expect(t.rows.map((r) => r.sequence)).toEqual(Array.from({ length: t.rows.length }, (_, i) => i + 1));
      expect(t.rows.length).toBe(50);
    }
    console.log(`worker SIGKILL test: ${failedFirst.length} commands needed a client retry`);
  }, 120_000);
});
