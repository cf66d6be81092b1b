/**
 * Dead letters end to end on a test database: a command whose data Postgres refuses is dead-lettered by the
 * real executor and answered INVALID_ARGUMENT (not INTERNAL); `bun run cli dead-letters` lists and shows it,
 * retries (a dead letter that now succeeds leaves the store; one that fails again says so) and discards only
 * when confirmed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startCommandDeadLetterRetrier } from "../actors/dead-letter-command";
import { createCommandExecutor } from "../actors/executor";
import { buildEnvelope } from "../commands/build-envelope";
import { type DeadLetterRetrier, listDeadLetters, recordDeadLetter } from "../dead-letters";
import { createTestDatabase, type TestDatabase } from "../testing";
import { runCliProcess } from "./run-cli-process";

let db: TestDatabase;
let retrier: DeadLetterRetrier;

const run = (args: string[]) => runCliProcess(["dead-letters", ...args], { DATABASE_URL: db.url });

const actor = { sub: "admin", role: "admin" } as const;
const poisonedUser = crypto.randomUUID();
const fixedUser = crypto.randomUUID();

beforeAll(async () => {
  db = await createTestDatabase();
  retrier = startCommandDeadLetterRetrier({ connect: () => db.pool.connect(), db: db.pool, pollMs: 100 });
}, 30_000);

afterAll(async () => {
  await retrier?.stop();
  await db?.drop();
});

describe("dead letters", () => {
  test("a command Postgres refuses is dead-lettered once and answered INVALID_ARGUMENT", async () => {
    const execute = createCommandExecutor({ connect: () => db.pool.connect() });
    const { envelope } = buildEnvelope(
      { type: "CreateUser", userId: poisonedUser, email: "nul@example.com", displayName: "nul\u0000name" },
      { commandId: "poisoned-create", actor },
    );
    const [outcome] = await execute([envelope]);
    expect(outcome).toMatchObject({ ok: false, error: { code: "INVALID_ARGUMENT" } });
    expect(outcome?.ok === false && outcome.error.message).toContain("dead letter poisoned-create");
    const letters = await listDeadLetters(db.pool);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      source: "command",
      consumer: "CreateUser",
      key: "poisoned-create",
      attempts: 1,
    });
    expect(letters[0]?.error).toContain("22");
  });

  test("list, show, retry (succeeds: leaves the store; fails: says so), discard with confirmation", async () => {
    // A dead letter whose cause is gone (as after a fix): its retry succeeds.
    const { envelope } = buildEnvelope(
      { type: "CreateUser", userId: fixedUser, email: "fixed@example.com", displayName: "Fixed" },
      { commandId: "fixed-create", actor },
    );
    await recordDeadLetter(db.pool, {
      source: "command",
      consumer: "CreateUser",
      key: "fixed-create",
      error: "XX000: a bug since fixed",
      attempts: 3,
      payload: envelope,
    });
    const list = await run(["list", "--json"]);
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.stdout) as Array<{ id: string; key: string; attempts: number }>;
    expect(listed.map((l) => [l.key, l.attempts])).toEqual([
      ["poisoned-create", 1],
      ["fixed-create", 3],
    ]);
    const [poisoned, fixed] = listed as unknown as [{ id: string }, { id: string }];
    const table = await run(["list"]);
    expect(table.stdout).toMatch(/^id\s+source\s+consumer\s+key\s+attempts\s+last failed\s+error$/m);

    const shown = await run(["show", poisoned.id]);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout).payload).toMatchObject({
      commandId: "poisoned-create",
      commandType: "CreateUser",
    });

    const retried = await run(["retry", fixed.id]);
    expect(retried.stderr).toBe("");
    expect(retried.code).toBe(0);
    expect(retried.stdout).toContain("left the store");
    const user = await db.pool.query("SELECT display_name FROM users WHERE id = $1", [fixedUser]);
    expect(user.rows[0]?.display_name).toBe("Fixed");

    const again = await run(["retry", poisoned.id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("failed again (attempt 2)");

    const unconfirmed = await run(["discard", poisoned.id]);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain("--yes");
    expect(await listDeadLetters(db.pool)).toHaveLength(1);
    const discarded = await run(["discard", poisoned.id, "--yes"]);
    expect(discarded.code).toBe(0);
    expect(await listDeadLetters(db.pool)).toHaveLength(0);
    expect((await run(["show", poisoned.id])).code).toBe(1);
  }, 30_000);
});
