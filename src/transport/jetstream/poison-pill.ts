/**
 * A command that kills its command thread every time (it exhausts memory, or trips a bug that takes the
 * thread down) would stall its partition for good: the thread's replacement starts the partition over from
 * its oldest unacked command, which kills it again. The receiver checks the partition's oldest command each
 * time it starts a partition; when the same one is there at `threshold` starts within `windowMs`, it is taken
 * out of the work queue and handed to `quarantine` (the worker records it as a dead letter and answers its
 * caller), and the partition goes on with the next one.
 *
 * Only a start after the partition's command thread died (`thread-replaced`) counts against the command. The
 * worker also starts every partition over after each NATS reconnect, and a partition is started when it is
 * acquired: a command that waits first in its queue while NATS flaps (its Postgres is down, so it is not
 * applied yet) is no poison, however often that happens. Such a start only notes the oldest command (a new
 * one starts the count at 1), without adding to its count.
 */

import type { JetStreamManager, StoredMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { type CommandEnvelope, DEAD_LETTERED, failed } from "../../contracts";
import type { SqlClient } from "../../db/sql-client";
import { recordDeadLetter } from "../../dead-letters";
import { AppError } from "../../errors";
import type { Logger } from "../../logging";
import type { StartReason } from "./command-receiver";
import { REPLY_HEADER } from "./command-sender";
import { publishReply } from "./replies";
import { isNotFound, streamNames } from "./streams";

/** Options of {@link createPoisonPillGuard}. */
export interface PoisonPillOptions {
  readonly jsm: JetStreamManager;
  readonly prefix: string;
  /** Records the command taken out (its message) and answers its caller; it is deleted afterwards. */
  readonly quarantine: (partition: number, message: StoredMsg, starts: number) => Promise<void>;
  /** Starts of a partition at the same oldest command that mark it as poison (default 3). */
  readonly threshold?: number;
  /** Within how long, ms (default 60 s). */
  readonly windowMs?: number;
  readonly log?: Logger;
}

/**
 * Checks a partition's oldest command before the partition is started (again) for `reason`; resolves with the
 * function to call once that start succeeded (only successful starts count: a start that failed for want of
 * NATS is no sign of a poisoned command). Only `thread-replaced` starts add to a command's count.
 */
export type PoisonPillGuard = (partition: number, reason: StartReason) => Promise<() => void>;

/** Creates the guard of one receiver. */
export function createPoisonPillGuard(options: PoisonPillOptions): PoisonPillGuard {
  const names = streamNames(options.prefix);
  const threshold = options.threshold ?? 3;
  const windowMs = options.windowMs ?? 60_000;
  const seen = new Map<number, { seq: number; starts: number; since: number }>();

  async function oldest(partition: number): Promise<StoredMsg | null> {
    try {
      // STREAM.MSG.GET with next_by_subj: the first message of the partition still in the work queue.
      const query = { seq: 0, next_by_subj: names.commandSubject(partition) };
      return await options.jsm.streams.getMessage(names.commandStream, query as unknown as { seq: number });
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  return async (partition, reason) => {
    const head = await oldest(partition);
    if (head === null) {
      seen.delete(partition);
      return () => {};
    }
    const now = Date.now();
    const last = seen.get(partition);
    const again = last !== undefined && last.seq === head.seq && now - last.since < windowMs;
    // A reconnect or a handover at the same oldest command leaves its count as it is.
    if (again && reason !== "thread-replaced") return () => {};
    const starts = again ? last.starts + 1 : 1;
    if (starts >= threshold) {
      options.log?.warn(
        {
          partition,
          seq: head.seq,
          starts,
        },
        "a command kept taking its partition down; taking it out",
      );
      await options.quarantine(partition, head, starts);
      await options.jsm.streams.deleteMessage(names.commandStream, head.seq);
      seen.delete(partition);
      return () => {};
    }
    return () => seen.set(partition, { seq: head.seq, starts, since: again ? last.since : now });
  };
}

/**
 * The worker's quarantine: the command is recorded as a dead letter (source `command`, with its envelope) and
 * its caller, if one waits, is answered FAILED_PRECONDITION.
 */
export function quarantineAsDeadLetter(db: SqlClient, nc: NatsConnection): PoisonPillOptions["quarantine"] {
  return async (partition, message, starts) => {
    let envelope: CommandEnvelope | undefined;
    try {
      envelope = JSON.parse(new TextDecoder().decode(message.data)) as CommandEnvelope;
    } catch {
      envelope = undefined;
    }
    const key = envelope?.commandId ?? `${message.subject}#${message.seq}`;
    const error = `its command thread died ${starts - 1} times while it was the oldest command of partition ${partition}`;
    await recordDeadLetter(db, {
      source: "command",
      consumer: envelope?.commandType ?? `partition ${partition}`,
      key,
      error,
      attempts: starts - 1,
      payload: envelope ?? { subject: message.subject, seq: message.seq, data: message.string() },
    });
    const replyTo = message.header?.get(REPLY_HEADER);
    if (replyTo && envelope) {
      const outcome = failed(
        new AppError("FAILED_PRECONDITION", `${DEAD_LETTERED} (dead letter ${key}): ${error}`),
      );
      publishReply(nc, replyTo, envelope.commandId, outcome);
      await nc.flush();
    }
  };
}
