/**
 * Migration 0017 on real Postgres: a refusal the executor used to store for a command that expired in the
 * queue (ABORTED "... send it again with a new command_id") is forgotten, so the retry with the same
 * command_id is applied once; other stored refusals stay.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { buildEnvelope } from "../commands/build-envelope";
import { failed } from "../contracts";
import { defaultMigrationsDir } from "../db/migrations";
import { AppError } from "../errors";
import { createTestDatabase, type TestDatabase } from "../testing";
import { storeOutcome } from "../write-model";
import { type CommandExecutor, createCommandExecutor } from "./executor";

let db: TestDatabase;
let execute: CommandExecutor;
const admin = { sub: "ops", role: "admin" } as const;
const migration = readFileSync(`${defaultMigrationsDir}0017_forget_expired_refusals.sql`, "utf8");

beforeAll(async () => {
  db = await createTestDatabase();
  execute = createCommandExecutor({ connect: () => db.pool.connect() });
});
afterAll(() => db.drop());

const createUser = (userId: string, commandId: string) =>
  buildEnvelope(
    { type: "CreateUser", userId, email: `${userId}@example.com`, displayName: "U" },
    { commandId, actor: admin, deadline: Date.now() + 10_000 },
  ).envelope;

describe("0017: stored refusals of expired commands are forgotten", () => {
  test("the retry of a command refused as expired is applied once; another refusal stays", async () => {
    const expired = createUser(crypto.randomUUID(), "legacy-expired");
    const refused = createUser(crypto.randomUUID(), "legacy-refused");
    await storeOutcome(
      db.pool,
      expired,
      failed(
        new AppError(
          "ABORTED",
          "the command expired before it ran and was not applied; send it again with a new command_id",
        ),
      ),
    );
    await storeOutcome(db.pool, refused, failed(new AppError("ALREADY_EXISTS", "email is already taken")));
    const [before] = await execute([expired]);
    expect(before?.ok ? "OK" : before?.error.code).toBe("ABORTED");
    await db.pool.query(migration);
    const [retry] = await execute([expired]);
    expect(retry?.ok && retry.result.duplicate).toBe(false);
    const [again] = await execute([expired]);
    expect(again?.ok && again.result.duplicate).toBe(true);
    const [other] = await execute([refused]);
    expect(other?.ok ? "OK" : other?.error.code).toBe("ALREADY_EXISTS");
  });
});
