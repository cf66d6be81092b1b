/**
 * The poison-pill guard on a real JetStream work queue and Postgres: a partition started again and again at the
 * same oldest command (its thread keeps dying on it) has that command taken out, recorded as a dead letter and
 * answered FAILED_PRECONDITION; the partition then starts at the next command. A partition that moves on is
 * never touched, nor one started again after NATS reconnects or a handover.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { buildEnvelope } from "../../commands/build-envelope";
import type { CommandOutcome } from "../../contracts";
import { listDeadLetters } from "../../dead-letters";
import { createTestDatabase, createTestNats, type TestDatabase, type TestNats } from "../../testing";
import type { StartReason } from "./command-receiver";
import { commandHeaders } from "./command-sender";
import { createPoisonPillGuard, quarantineAsDeadLetter } from "./poison-pill";
import { ensureStreams, streamNames } from "./streams";

let nats: TestNats;
let db: TestDatabase;

beforeAll(async () => {
  nats = await createTestNats();
  db = await createTestDatabase();
  await ensureStreams(await jetstreamManager(nats.nc), nats.prefix);
}, 30_000);

afterAll(async () => {
  await nats?.cleanup();
  await db?.drop();
});

describe("poison-pill guard", () => {
  test("the same oldest command at three starts is taken out, dead-lettered and answered; the next one stays", async () => {
    const jsm = await jetstreamManager(nats.nc);
    const js = jetstream(nats.nc);
    const names = streamNames(nats.prefix);
    const replySubject = `${nats.prefix}.reply.test`;
    const replies: CommandOutcome[] = [];
    const sub = nats.nc.subscribe(replySubject, {
      callback: (_e, msg) => {
        replies.push(JSON.parse(msg.string()) as CommandOutcome);
      },
    });
    const envelopes = ["killer", "innocent"].map(
      (id) =>
        buildEnvelope(
          { type: "DeleteUser", userId: crypto.randomUUID() },
          { commandId: id, actor: { sub: "admin", role: "admin" } },
        ).envelope,
    );
    for (const envelope of envelopes) {
      await js.publish(names.commandSubject(3), JSON.stringify(envelope), {
        headers: commandHeaders(envelope.commandId, replySubject),
      });
    }
    const guard = createPoisonPillGuard({
      jsm,
      prefix: nats.prefix,
      quarantine: quarantineAsDeadLetter(db.pool, nats.nc),
    });
    const start = async (partition: number, reason: StartReason = "thread-replaced") =>
      (await guard(partition, reason))();
    await start(3, "acquired");
    await start(7); // an empty partition
    await guard(3, "thread-replaced"); // a start that failed (its consumer could not be made) does not count
    await start(3);
    // Starts after NATS reconnects or a handover are no sign of poison, however many.
    for (let i = 0; i < 4; i++) await start(3, i % 2 === 0 ? "reconnected" : "acquired");
    expect(await listDeadLetters(db.pool)).toEqual([]);
    await start(3);
    const letters = await listDeadLetters(db.pool);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      source: "command",
      consumer: "DeleteUser",
      key: "killer",
      attempts: 2,
    });
    expect(letters[0]?.error).toContain("command thread died 2 times");
    for (let i = 0; i < 50 && replies.length === 0; i++) await Bun.sleep(20);
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ ok: false, error: { code: "FAILED_PRECONDITION" } });
    // The partition now starts at the innocent command, which needs three starts of its own.
    const head = await jsm.streams.getMessage(names.commandStream, {
      seq: 0,
      next_by_subj: names.commandSubject(3),
    } as unknown as { seq: number });
    expect(JSON.parse(head?.string() ?? "{}").commandId).toBe("innocent");
    await start(3, "reconnected");
    await start(3);
    expect(await listDeadLetters(db.pool)).toHaveLength(1);
    sub.unsubscribe();
  }, 30_000);
});
