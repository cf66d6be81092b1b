/**
 * `bun run cli dead-letters list|show|retry|discard`: the dead-letter store (sql/0016_dead_letters.sql) for an
 * operator. A retry only asks: the consumer that owns the dead letter's source runs it again (within a second)
 * and deletes it when it succeeds; this command waits for that outcome.
 */
import {
  type DeadLetter,
  discardDeadLetter,
  getDeadLetter,
  listDeadLetters,
  requestRetry,
} from "../dead-letters";
import type { SqlClient } from "../write-model";
import type { CliCommand } from "./args";
import { formatTable } from "./table";

type DeadLettersCommand = Extract<CliCommand, { kind: "dead-letters" }>;

/** Where the command writes, and how it asks for confirmation (absent: it cannot ask). */
export interface DeadLettersIo {
  out(text: string): void;
  err(text: string): void;
  readonly confirm?: (question: string) => Promise<boolean>;
}

/** Runs one dead-letters command; returns its exit code. */
export async function runDeadLetters(
  command: DeadLettersCommand,
  db: SqlClient,
  io: DeadLettersIo,
): Promise<number> {
  if (command.action === "list") {
    const letters = await listDeadLetters(db, command.source === undefined ? {} : { source: command.source });
    if (command.json) io.out(JSON.stringify(letters.map(summary), null, 2));
    else if (letters.length === 0) io.out("no dead letters");
    else
      io.out(
        formatTable(
          ["id", "source", "consumer", "key", "attempts", "last failed", "error"],
          letters.map((l) => [
            Number(l.id),
            l.source,
            l.consumer,
            l.key,
            l.attempts,
            l.lastFailedAt,
            l.error.length > 80 ? `${l.error.slice(0, 77)}...` : l.error,
          ]),
        ),
      );
    return 0;
  }
  const id = command.id as string;
  const letter = await getDeadLetter(db, id);
  if (letter === undefined) {
    io.err(`cli: no dead letter ${id}`);
    return 1;
  }
  switch (command.action) {
    case "show":
      io.out(JSON.stringify({ ...summary(letter), payload: letter.payload }, null, 2));
      return 0;
    case "discard": {
      if (!command.yes) {
        const question = `Discard dead letter ${id} (${letter.source} ${letter.key}) for good? [y/N] `;
        if (io.confirm === undefined) {
          io.err("cli: dead-letters discard deletes for good: confirm with --yes");
          return 2;
        }
        if (!(await io.confirm(question))) {
          io.err("not discarded");
          return 1;
        }
      }
      await discardDeadLetter(db, id);
      io.out(`discarded dead letter ${id}`);
      return 0;
    }
    case "retry":
      return retry(db, letter, command.waitMs, io);
  }
}

async function retry(db: SqlClient, letter: DeadLetter, waitMs: number, io: DeadLettersIo): Promise<number> {
  await requestRetry(db, letter.id);
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    await Bun.sleep(100);
    const now = await getDeadLetter(db, letter.id);
    if (now === undefined) {
      io.out(`dead letter ${letter.id} retried: it succeeded and left the store`);
      return 0;
    }
    if (now.retryRequestedAt === null && now.attempts > letter.attempts) {
      io.err(`cli: dead letter ${letter.id} failed again (attempt ${now.attempts}): ${now.error}`);
      return 1;
    }
  }
  io.err(
    `cli: dead letter ${letter.id}: no outcome within ${waitMs} ms (is a ${letter.source} consumer running?); the retry stays requested`,
  );
  return 1;
}

function summary(l: DeadLetter) {
  return {
    id: l.id,
    source: l.source,
    consumer: l.consumer,
    key: l.key,
    error: l.error,
    attempts: l.attempts,
    firstFailedAt: l.firstFailedAt,
    lastFailedAt: l.lastFailedAt,
    retryRequested: l.retryRequestedAt !== null,
  };
}
