/**
 * A command whose transaction fails for a reason that is not a domain answer, not a concurrent change and not
 * a transient one (a lost connection, a busy or restarting server: answered UNAVAILABLE, not applied, so the
 * transport delivers it again after a backoff) fails the same way at every attempt (a value Postgres refuses,
 * a constraint, a bug): it is recorded as a dead letter (source `command`, with its envelope; a document's
 * content stays in `command_blobs` for a retry) and its caller gets a clear answer (INVALID_ARGUMENT for data
 * Postgres refuses, FAILED_PRECONDITION otherwise), never INTERNAL, so the transport acks it and the partition
 * moves on.
 */

import { type CommandEnvelope, DEAD_LETTERED, isDeadLettered } from "../contracts";
import {
  classifyFailure,
  type DeadLetterRetrier,
  describeError,
  recordDeadLetter,
  startDeadLetterRetrier,
} from "../dead-letters";
import { AppError } from "../errors";
import type { Logger } from "../logging";
import type { SqlClient } from "../write-model";
import { createCommandExecutor, type TransactionClient } from "./executor";

/**
 * The answer to a failure no rule maps: UNAVAILABLE when transient, else the command is dead-lettered (best
 * effort: a failure to record it is logged) and answered clearly.
 */
export async function deadLetterCommand(
  connect: () => Promise<SqlClient & { release(error?: Error | boolean): void }>,
  envelope: CommandEnvelope,
  error: unknown,
  log?: Logger,
): Promise<AppError> {
  if (classifyFailure(error) === "transient") {
    return new AppError("UNAVAILABLE", "a backing service is busy; the command was not applied", {
      cause: error,
    });
  }
  const reason = describeError(error);
  try {
    const client = await connect();
    try {
      await recordDeadLetter(client, {
        source: "command",
        consumer: envelope.commandType,
        key: envelope.commandId,
        error: reason,
        attempts: 1,
        payload: envelope,
      });
    } finally {
      client.release();
    }
  } catch (recordError) {
    log?.warn(
      {
        commandId: envelope.commandId,
        error: String(recordError),
      },
      "recording a command's dead letter failed",
    );
  }
  log?.warn(
    {
      commandId: envelope.commandId,
      commandType: envelope.commandType,
      error: reason,
    },
    "command dead-lettered",
  );
  const message = `${DEAD_LETTERED} (dead letter ${envelope.commandId}): ${reason}`;
  return classifyFailure(error) === "deterministic"
    ? new AppError("INVALID_ARGUMENT", message)
    : new AppError("FAILED_PRECONDITION", message);
}

/**
 * Runs the command dead letters an operator asked to retry, through an executor of its own (outside the
 * partitions' mailboxes: the aggregate's version check still orders it against concurrent commands). A retry
 * that is answered with a domain rejection has been decided, and leaves the store like a success.
 */
export function startCommandDeadLetterRetrier(options: {
  readonly connect: () => Promise<TransactionClient>;
  readonly db: SqlClient;
  readonly pollMs?: number;
  readonly log?: Logger;
}): DeadLetterRetrier {
  const execute = createCommandExecutor({ connect: options.connect, stateCacheSize: 0 });
  return startDeadLetterRetrier({
    db: options.db,
    source: "command",
    retry: async (letter) => {
      const { deadline: _deadline, ...envelope } = letter.payload as CommandEnvelope;
      const [outcome] = await execute([envelope]);
      if (outcome === undefined || outcome.ok) return;
      if (outcome.error.code === "UNAVAILABLE") throw AppError.deserialize(outcome.error);
      // Failed for good again: the executor has recorded it on this dead letter (one more attempt).
      if (isDeadLettered(outcome.error)) return "recorded";
    },
    ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
}
