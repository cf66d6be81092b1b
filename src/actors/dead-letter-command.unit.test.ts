import { describe, expect, test } from "bun:test";
import { buildEnvelope } from "../commands/build-envelope";
import { isDeadLettered } from "../contracts";
import { deadLetterCommand } from "./dead-letter-command";

const { envelope } = buildEnvelope(
  { type: "DeleteUser", userId: "00000000-0000-4000-8000-000000000001" },
  { commandId: "c-1", actor: { sub: "admin", role: "admin" } },
);

/** A connection that records what it is asked. */
function recorder() {
  const statements: string[] = [];
  return {
    statements,
    connect: async () => ({
      query: (async (text: string) => {
        statements.push(text);
        return { rows: [], rowCount: 1 };
      }) as never,
      release() {},
    }),
  };
}

const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });

describe("deadLetterCommand", () => {
  test("a transient failure is answered UNAVAILABLE (delivered again) and recorded nowhere", async () => {
    const db = recorder();
    const answer = await deadLetterCommand(db.connect, envelope, pgError("53300"));
    expect(answer.code).toBe("UNAVAILABLE");
    expect(db.statements).toEqual([]);
  });

  test("data Postgres refuses: INVALID_ARGUMENT naming the dead letter, recorded once", async () => {
    const db = recorder();
    const answer = await deadLetterCommand(db.connect, envelope, pgError("22021"));
    expect(answer.code).toBe("INVALID_ARGUMENT");
    expect(isDeadLettered(answer)).toBe(true);
    expect(answer.message).toContain("dead letter c-1");
    expect(db.statements.filter((s) => s.includes("INSERT INTO dead_letters"))).toHaveLength(1);
  });

  test("a bug: FAILED_PRECONDITION, never INTERNAL, and recorded", async () => {
    const db = recorder();
    const answer = await deadLetterCommand(db.connect, envelope, new TypeError("x is undefined"));
    expect(answer.code).toBe("FAILED_PRECONDITION");
    expect(db.statements).toHaveLength(1);
  });
});
