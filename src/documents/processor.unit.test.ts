/**
 * The document processor's failure paths, on an in-process event bus with a scripted command path and a fake
 * database: a result the command path refuses for good is recorded as FAILED with the reason; a failure to
 * record anything is dead-lettered once; a transient one is retried.
 */
import { describe, expect, test } from "bun:test";
import type { CommandEnvelope, CommandOutcome, CommandSender } from "../contracts";
import { AppError } from "../errors";
import { createInProcessEventSource } from "../events";
import { testEvent } from "../events/events.testkit";
import type { PublishedEvent } from "../outbox";
import type { SqlClient } from "../write-model";
import { startDocumentProcessor } from "./processor";

const retryPolicy = { baseMs: 5, capMs: 5, maxAttempts: 3, maxTransientAttempts: 20 };

/** A database holding one UPLOADED text document (any id); remembers the statements it ran. */
function fakeDatabase(): SqlClient & { statements: Array<{ text: string; values: unknown[] }> } {
  const statements: Array<{ text: string; values: unknown[] }> = [];
  return {
    statements,
    query: (async (text: string, values: unknown[] = []) => {
      statements.push({ text, values });
      if (text.startsWith("SELECT content_type"))
        return {
          rows: [{ content_type: "text/plain", content: Buffer.from("some words here"), status: "UPLOADED" }],
        };
      return { rows: [], rowCount: 1 };
    }) as unknown as SqlClient["query"],
  };
}

/** A command path answering each send with the next scripted outcome (or throwing it). */
function scriptedSender(script: Array<CommandOutcome | Error>): CommandSender & { sent: CommandEnvelope[] } {
  const sent: CommandEnvelope[] = [];
  return {
    sent,
    async send(envelope) {
      sent.push(envelope);
      const next = script.shift() ?? {
        ok: false,
        error: new AppError("INTERNAL", "script ended").serialize(),
      };
      if (next instanceof Error) throw next;
      return next;
    },
    async close() {},
  };
}

const okOutcome = (commandId: string): CommandOutcome => ({
  ok: true,
  result: { commandId, aggregateId: "d", version: 2, events: [], position: "", duplicate: false },
});
const refused = (code: "INVALID_ARGUMENT" | "UNAVAILABLE", message: string): CommandOutcome => ({
  ok: false,
  error: new AppError(code, message).serialize(),
});

async function run(script: Array<CommandOutcome | Error>) {
  const bus = createInProcessEventSource({ retryPolicy });
  const db = fakeDatabase();
  const sender = scriptedSender(script);
  const processor = await startDocumentProcessor({
    events: bus,
    sender,
    db,
    chunking: { chunkWords: 2, overlapWords: 0 },
    retryPollMs: 60_000,
  });
  const uploaded: PublishedEvent = testEvent("document.uploaded");
  await bus.publish([uploaded]);
  await bus.idle();
  await processor.stop();
  return { sender, db, uploaded };
}

describe("document processor failures", () => {
  test("a result the command path refuses for good is recorded as FAILED with why", async () => {
    const { sender } = await run([
      refused("INVALID_ARGUMENT", "the command is too large for the command bus"),
      okOutcome("failed"),
    ]);
    expect(sender.sent.map((e) => e.commandId.split(":")[0])).toEqual([
      "document-processing",
      "document-processing-failed",
    ]);
    expect(sender.sent[1]?.payload).toMatchObject({
      succeeded: false,
      failureReason:
        "the processing result could not be stored: the command is too large for the command bus",
    });
  });

  test("a transient failure is retried until it passes; nothing is dead-lettered", async () => {
    const { sender, db } = await run([
      refused("UNAVAILABLE", "bus down"),
      refused("UNAVAILABLE", "bus down"),
      okOutcome("ok"),
    ]);
    expect(sender.sent).toHaveLength(3);
    expect(db.statements.some((s) => s.text.includes("dead_letters"))).toBe(false);
  });

  test("when nothing can be recorded the event is dead-lettered once, with the error", async () => {
    const { sender, db, uploaded } = await run([
      refused("INVALID_ARGUMENT", "refused"),
      refused("INVALID_ARGUMENT", "refused again"),
    ]);
    expect(sender.sent).toHaveLength(2);
    const dead = db.statements.filter((s) => s.text.includes("INSERT INTO dead_letters"));
    expect(dead).toHaveLength(1);
    expect(dead[0]?.values.slice(0, 5)).toEqual([
      "document-processor",
      "document-processor",
      uploaded.aggregateId,
      "INVALID_ARGUMENT: refused again",
      1,
    ]);
  });

  test("chunks stored for a result recorded before (a redelivered event) are not left behind", async () => {
    const duplicate: CommandOutcome = {
      ok: true,
      result: { commandId: "x", aggregateId: "d", version: 2, events: [], position: "", duplicate: true },
    };
    const { db } = await run([duplicate]);
    const blobs = db.statements
      .filter((s) => s.text.includes("command_blobs"))
      .map((s) => s.text.split(" ")[0]);
    expect(blobs).toEqual(["INSERT", "DELETE"]);
  });
});
