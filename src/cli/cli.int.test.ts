/**
 * The admin CLI as a child process (`bun src/cli/main.ts ...`), as an operator runs it: `lag` and `rebuild`
 * against a test database written through the real command executor, `token` checked with jose.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { jwtVerify } from "jose";
import { uuidFrom } from "../contracts";
import { createDriver } from "../read-models/driver.testkit";
import { userProfileNextVersion } from "../read-models/view-change.testkit";
import { createTestDatabase, type TestDatabase } from "../testing";
import { runCliProcess } from "./run-cli-process";

const secret = "cli-int-secret-0123456789abcdef";
let db: TestDatabase;

/** Runs the CLI with only the given variables (and PATH); resolves with its exit code and output. */
const run = (args: string[], env: Record<string, string> = {}) => runCliProcess(args, env);

const id = (s: string) => uuidFrom(`cli-int:${s}`);

beforeAll(async () => {
  db = await createTestDatabase();
  const driver = createDriver(db.pool, { prefix: "cli" });
  const sent = [
    await driver.send({ type: "CreateUser", userId: id("u1"), email: "u1@example.com", displayName: "U1" }),
    await driver.send({ type: "CreateUser", userId: id("u2"), email: "u2@example.com", displayName: "U2" }),
    await driver.send({
      type: "RegisterVoiceModel",
      modelId: id("v1"),
      userId: id("u1"),
      name: "Voice",
      sampleSeconds: 30,
    }),
    await driver.send({
      type: "StartConversation",
      conversationId: id("c1"),
      userId: id("u1"),
      voiceModelId: null,
      faceModelId: null,
    }),
  ];
  for (const text of ["hello", "again"]) {
    sent.push(
      await driver.send({
        type: "RecordConversationTurn",
        conversationId: id("c1"),
        speaker: "USER",
        text,
        audioMs: 10,
        latencyMs: 5,
      }),
    );
  }
  expect(sent.filter((o) => !o.ok)).toEqual([]);
  // As the relay would: everything published, its checkpoint at the newest event.
  await db.pool.query(
    `INSERT INTO outbox_relay_state (name, last_published_transaction_id, last_published_position)
     SELECT 'default', transaction_id, position FROM events ORDER BY transaction_id DESC, position DESC LIMIT 1`,
  );
}, 30_000);

afterAll(() => db?.drop());

interface LagJson {
  unpublished: { count: number };
  views: { view: string; behind: number; capped: boolean; oldestUnappliedAgeMs: number | null }[];
}

describe("bun src/cli/main.ts (child process)", () => {
  test("lag: per view, the published events it has not applied and the age of the oldest", async () => {
    const { code, stdout, stderr } = await run(["lag", "--json"], { DATABASE_URL: db.url });
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as LagJson;
    expect(report.unpublished.count).toBe(0);
    const behind = Object.fromEntries(report.views.map((v) => [v.view, v.behind]));
    expect(behind).toEqual({
      user_profile_view: 2,
      user_statistics_view: 6,
      document_summary_view: 0,
      conversation_session_summary_view: 3,
      voice_model_summary_view: 1,
      face_model_summary_view: 0,
    });
    for (const v of report.views) {
      if (v.behind === 0) expect(v.oldestUnappliedAgeMs).toBeNull();
      else expect(v.oldestUnappliedAgeMs).toBeGreaterThanOrEqual(0);
    }

    const table = await run(["lag"], { DATABASE_URL: db.url });
    expect(table.code).toBe(0);
    expect(table.stdout).toContain("newest published event:");
    expect(table.stdout).toMatch(
      /^view\s+applied \(xid\/position\)\s+events behind\s+oldest unapplied ms\s+refreshed$/m,
    );
    expect(table.stdout).toMatch(/^user_statistics_view\s+-\s+6\s+\d+\s+never$/m);
  });

  test("lag follows the views' applied points and the consistency checkpoint", async () => {
    await db.pool.query(
      `UPDATE read_view_state s SET applied_transaction_id = e.transaction_id, applied_position = e.position
         FROM (SELECT transaction_id, position FROM events ORDER BY transaction_id DESC, position DESC LIMIT 1) e
        WHERE s.view_name = 'conversation_session_summary_view'`,
    );
    await db.pool.query(
      `INSERT INTO consistency_checkpoint (name, transaction_id, position)
       SELECT 'default', transaction_id, position FROM events WHERE type = 'voice_model.registered'`,
    );
    const { code, stdout } = await run(["lag", "--json"], { DATABASE_URL: db.url });
    expect(code).toBe(0);
    const behind = Object.fromEntries((JSON.parse(stdout) as LagJson).views.map((v) => [v.view, v.behind]));
    expect(behind).toMatchObject({
      user_profile_view: 0,
      user_statistics_view: 3,
      conversation_session_summary_view: 0,
      voice_model_summary_view: 0,
    });
  });

  test("rebuild: every view refreshed in turn, progress on stderr, rows changed on stdout", async () => {
    const first = await run(["rebuild"], { DATABASE_URL: db.url });
    expect(first.code).toBe(0);
    const progress = first.stderr.trim().split("\n");
    expect(progress[0]).toMatch(/^\[-{10}\] 0\/6 user_profile_view \d+\.\ds$/);
    expect(progress.at(-1)).toMatch(/^\[#{10}\] 6\/6 done \d+\.\ds$/);
    expect(progress).toHaveLength(7);
    expect(first.stdout).toMatch(/^user_profile_view\s+2\s+0\s+2\s+[\d.]+$/m);
    expect(first.stdout).toMatch(/^conversation_session_summary_view\s+1\s+0\s+1\s+[\d.]+$/m);
    expect(first.stdout).toContain("6 rows changed in 6 views");
    const rows = await db.pool.query("SELECT user_id FROM user_profile_view ORDER BY email");
    expect(rows.rows.map((r) => r.user_id)).toEqual([id("u1"), id("u2")]);

    // Nothing changed since: nothing is written again.
    const again = await run(["rebuild", "--json"], { DATABASE_URL: db.url });
    expect(again.code).toBe(0);
    const steps = JSON.parse(again.stdout) as { view: string; upserted: number; deleted: number }[];
    expect(steps.map((s) => s.view)).toHaveLength(6);
    expect(steps.every((s) => s.upserted === 0 && s.deleted === 0)).toBe(true);
  });

  test("lag and rebuild need DATABASE_URL", async () => {
    for (const command of ["lag", "rebuild"]) {
      const { code, stderr } = await run([command]);
      expect(code).toBe(2);
      expect(stderr).toContain("DATABASE_URL is required");
    }
  });

  test("token: signed with AUTH_JWT_SECRET, with sub, role and the lifetime asked for", async () => {
    const { code, stdout } = await run(["token", "--sub", "svc-1", "--role", "service", "--ttl", "2h"], {
      AUTH_JWT_SECRET: secret,
    });
    expect(code).toBe(0);
    const { payload, protectedHeader } = await jwtVerify(stdout.trim(), new TextEncoder().encode(secret));
    expect(protectedHeader.alg).toBe("HS256");
    expect(payload).toMatchObject({ sub: "svc-1", role: "service" });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(7200);
    await expect(jwtVerify(stdout.trim(), new TextEncoder().encode(`${secret}-other`))).rejects.toThrow();
  });

  test("a usage mistake exits 2 with the reason and the usage", async () => {
    const { code, stderr, stdout } = await run(["token", "--sub", "x", "--role", "root"]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain('cli: --role must be user, service or admin, not "root"');
    expect(stderr).toContain("Usage: bun run cli <command>");
  });

  test("views: status lists a registered new version; build fills it, swaps it in and drops the old one", async () => {
    const env = { DATABASE_URL: db.url };
    expect((await run(["views", "status"], env)).stdout).toContain("no view has a new version");
    await db.pool.query(userProfileNextVersion);
    const status = await run(["views", "status"], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/user_profile_view .* filling/);
    const unknown = await run(["views", "build", "users"], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('"users" is not a read view');
    const built = await run(["views", "build", "user_profile_view"], env);
    expect(built.code).toBe(0);
    expect(built.stdout).toContain(
      "user_profile_view: 2 keys built, new version swapped in, old version dropped",
    );
    const names = await db.pool.query<{ display_name: string }>(
      "SELECT display_name FROM user_profile_view ORDER BY display_name",
    );
    expect(names.rows.map((r) => r.display_name)).toEqual(["U1", "U2"]);
    expect((await run(["views", "build", "user_profile_view"], env)).stderr).toContain("has no new version");
  });
});
