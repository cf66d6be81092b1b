/**
 * The gateway's end of the JetStream command path.
 *
 * A command is published to its partition's subject with `Nats-Msg-Id` = command id (JetStream drops a copy sent
 * again within the duplicate window) and a `Clone-Reply-To` header naming this gateway's reply subject. The worker
 * answers there after its transaction committed. When JetStream reports the publish as a duplicate, no worker
 * will answer this copy, so the outcome is read from the command-results table instead (`lookup`); when none
 * is stored yet, the command is published again as a retry copy (its own `Nats-Msg-Id`), since the first copy
 * may be skipped by the worker: its caller's deadline may have passed before it ran. The command id's stored
 * result makes every copy after the first applied one a duplicate, so a retry is always safe. A worker's
 * answer to a skipped copy answers nobody and is dropped.
 *
 * The publish goes through `acked-publisher.ts` (one ack inbox for all commands; about half the CPU of
 * `js.publish`), coalesced: the commands asked for in one turn of the event loop leave in one socket write.
 */
import { headers, type MsgHdrs, type NatsConnection, nuid, type Subscription } from "@nats-io/nats-core";
import type { CommandEnvelope, CommandOutcome, CommandSender } from "../../contracts";
import { isSkipped, markDuplicate, reusedIdOutcome } from "../../contracts";
import { AppError } from "../../errors";
import { endSpan, SpanKind, startSpan, TRACEPARENT, traceparentOfSpan, tracingOn } from "../../tracing";
import { partitionOf } from "../partition";
import { createAckedPublisher } from "./acked-publisher";
import { REPLY_BATCHES_HEADER, readReplies } from "./replies";
import { streamNames } from "./streams";

/** Reads the stored outcome of a command, if it has one yet. */
export type StoredOutcomeLookup = (
  commandId: string,
) => Promise<{ payloadHash: string; outcome: CommandOutcome } | undefined>;

/** Options of {@link createJetStreamCommandSender}. */
export interface JetStreamCommandSenderOptions {
  readonly nc: NatsConnection;
  readonly prefix: string;
  readonly partitions: number;
  /** Used when a deadline is not given. */
  readonly defaultTimeoutMs: number;
  readonly lookup: StoredOutcomeLookup;
}

/** Header carrying the subject the worker answers to. */
export const REPLY_HEADER = "Clone-Reply-To";

/**
 * Headers of a published command: `Nats-Msg-Id` = its id (JetStream drops a copy sent again within the
 * stream's duplicate window), the subject the sending gateway wants its reply on (where it reads batched
 * answers, see replies.ts), and the W3C trace context of the send while tracing is on.
 */
export function commandHeaders(commandId: string, replySubject: string, traceparent?: string): MsgHdrs {
  const h = headers();
  h.set("Nats-Msg-Id", commandId);
  h.set(REPLY_HEADER, replySubject);
  h.set(REPLY_BATCHES_HEADER, "1");
  if (traceparent !== undefined) h.set(TRACEPARENT, traceparent);
  return h;
}

interface Waiter {
  readonly payloadHash: string;
  /** Settles this send: clears its timer and abort listener, then resolves. */
  readonly resolve: (outcome: CommandOutcome) => void;
}

/** A command waited for here: its callers, and the latest deadline among the copies this gateway published. */
interface Pending {
  waiters: Waiter[];
  /**
   * A worker skips a copy whose deadline passed before it ran, so a caller that joins with a later deadline gets
   * a copy of its own (else it would wait on copies that may all be skipped: a retry sent right after its first
   * attempt's deadline, before that attempt's waiter was dropped, was never answered). Callers that wait at most
   * {@link JOIN_COPY_SLACK_MS} longer share the copies sent (concurrent sends of one command publish it once).
   */
  copiesUntil: number;
}

const encoder = new TextEncoder();

/** A caller joining a command already sent gets a copy of its own only when it waits longer than this beyond them. */
const JOIN_COPY_SLACK_MS = 1_000;

/** The longest wait for JetStream's ack of a publish before the bus is reported unavailable. */
const ACK_TIMEOUT_MS = 5_000;

/** Creates the sender; it subscribes to this gateway's reply subject at once. */
export function createJetStreamCommandSender(options: JetStreamCommandSenderOptions): CommandSender {
  const names = streamNames(options.prefix);
  const gatewayId = nuid.next();
  const replySubject = names.replySubject(gatewayId);
  const subjects = Array.from({ length: options.partitions }, (_, p) => names.commandSubject(p));
  /** The commands waited for here, by command id. */
  const pending = new Map<string, Pending>();
  // Coalesced: the commands a gateway publishes in one turn of its event loop leave in one socket write.
  const publisher = createAckedPublisher(options.nc, { coalesce: true });

  const sub: Subscription = options.nc.subscribe(replySubject, {
    callback: (err, msg) => {
      if (err) return;
      for (const [commandId, outcome] of readReplies(msg)) {
        // A copy whose caller had gone was skipped; a waiter here is the retry's, answered by its own copy.
        if (pending.has(commandId) && !isSkipped(outcome)) settle(commandId, outcome);
      }
    },
  });

  function settle(commandId: string, outcome: CommandOutcome): void {
    const waiters = pending.get(commandId)?.waiters;
    if (!waiters) return;
    pending.delete(commandId);
    for (let i = 0; i < waiters.length; i++) {
      (waiters[i] as Waiter).resolve(i === 0 ? outcome : markDuplicate(outcome));
    }
  }

  function forget(commandId: string, waiter: Waiter): void {
    const entry = pending.get(commandId);
    if (entry === undefined) return;
    entry.waiters = entry.waiters.filter((w) => w !== waiter);
    if (entry.waiters.length === 0) pending.delete(commandId);
  }

  /**
   * Publishes the command; JetStream's ack says whether it was new. A duplicate is answered by whoever sent the
   * first copy, or from the stored result. `retryCopy`: publish a retry copy at once (its own `Nats-Msg-Id`).
   */
  async function publish(
    envelope: CommandEnvelope,
    timeoutMs: number,
    traceparent: string | undefined,
    retryCopy = false,
  ): Promise<void> {
    const data = encoder.encode(JSON.stringify(envelope));
    // A message over the server's limit would be refused at every attempt: the caller is told, not retried.
    const maxPayload = options.nc.info?.max_payload ?? 1_048_576;
    if (data.byteLength > maxPayload - 4_096) {
      throw new AppError(
        "INVALID_ARGUMENT",
        `the command is too large for the command bus (${data.byteLength} bytes; at most ${maxPayload - 4_096})`,
      );
    }
    const put = async (msgId: string): Promise<boolean> => {
      const h = commandHeaders(msgId, replySubject, traceparent);
      try {
        return await publisher.publish(
          subjects[partitionOf(envelope.aggregateId, options.partitions)] as string,
          data,
          h,
          Math.min(timeoutMs, ACK_TIMEOUT_MS),
        );
      } catch (error) {
        throw new AppError("UNAVAILABLE", "the command bus (NATS JetStream) is unavailable", {
          cause: error,
        });
      }
    };
    const retryId = () => `${envelope.commandId}.retry.${nuid.next()}`;
    if (retryCopy) {
      await put(retryId());
      return;
    }
    if (!(await put(envelope.commandId))) return;
    // JetStream dropped this copy: an earlier one was queued. Its result answers if it is stored; otherwise
    // that copy may still wait in the queue with its own (maybe passed) deadline, or have been skipped, so a
    // retry copy carries this attempt's deadline; the worker answers it (from the stored result if the
    // earlier copy was applied first).
    const stored = await options.lookup(envelope.commandId);
    if (stored !== undefined) {
      settle(
        envelope.commandId,
        stored.payloadHash === envelope.payloadHash ? markDuplicate(stored.outcome) : reusedIdOutcome(),
      );
      return;
    }
    await put(retryId());
  }

  /** Sends with a PRODUCER span (while tracing is on) lasting until the outcome is in. */
  function tracedSend(envelope: CommandEnvelope, signal: AbortSignal | undefined): Promise<CommandOutcome> {
    const span = startSpan(`command.send ${envelope.commandType}`, {
      kind: SpanKind.PRODUCER,
      attributes: {
        "messaging.system": "nats",
        "clone.command_id": envelope.commandId,
        "clone.aggregate_id": envelope.aggregateId,
      },
    });
    return send(envelope, signal, traceparentOfSpan(span)).then(
      (outcome) => {
        endSpan(span, outcome.ok ? undefined : outcome.error.code);
        return outcome;
      },
      (error: unknown) => {
        endSpan(span, error);
        throw error;
      },
    );
  }

  function send(
    envelope: CommandEnvelope,
    caller: AbortSignal | undefined,
    traceparent: string | undefined,
  ): Promise<CommandOutcome> {
    const timeoutMs =
      envelope.deadline === undefined ? options.defaultTimeoutMs : envelope.deadline - Date.now();
    if (timeoutMs <= 0) {
      return Promise.reject(
        new AppError("DEADLINE_EXCEEDED", "deadline exceeded before the command was sent"),
      );
    }
    if (caller?.aborted) return Promise.reject(abortError(caller.reason));
    return new Promise<CommandOutcome>((resolve, reject) => {
      let over = false;
      const finish = (): void => {
        over = true;
        clearTimeout(timer);
        caller?.removeEventListener("abort", onAbort);
      };
      const waiter: Waiter = {
        payloadHash: envelope.payloadHash,
        resolve: (outcome) => {
          finish();
          resolve(outcome);
        },
      };
      const fail = (error: AppError): void => {
        if (over) return;
        finish();
        forget(envelope.commandId, waiter);
        reject(error);
      };
      const onAbort = (): void => fail(abortError(caller?.reason));
      // One timer and one listener per command, both dropped as soon as it is answered.
      const timer = setTimeout(() => fail(deadlineError()), timeoutMs);
      caller?.addEventListener("abort", onAbort, { once: true });

      const until = Date.now() + timeoutMs;
      const existing = pending.get(envelope.commandId);
      if (existing) {
        if (existing.waiters[0]?.payloadHash !== envelope.payloadHash)
          return waiter.resolve(reusedIdOutcome());
        // The same command is already on its way from this gateway: share its answer, with a copy of its own
        // when it waits longer than every copy sent (see Pending.copiesUntil).
        existing.waiters.push(waiter);
        if (until <= existing.copiesUntil + JOIN_COPY_SLACK_MS) return;
        existing.copiesUntil = until;
        publish(envelope, timeoutMs, traceparent, true).catch((error: unknown) => fail(AppError.from(error)));
        return;
      }
      pending.set(envelope.commandId, { waiters: [waiter], copiesUntil: until });
      publish(envelope, timeoutMs, traceparent).catch((error: unknown) => {
        pending.delete(envelope.commandId);
        fail(AppError.from(error));
      });
    });
  }

  return {
    send: (envelope, sendOptions) =>
      tracingOn()
        ? tracedSend(envelope, sendOptions?.signal)
        : send(envelope, sendOptions?.signal, undefined),
    async close() {
      if (sub.isClosed()) return;
      sub.unsubscribe();
      publisher.close();
      for (const [id, { waiters }] of pending) {
        pending.delete(id);
        for (const w of waiters)
          w.resolve({ ok: false, error: new AppError("UNAVAILABLE", "gateway shutting down").serialize() });
      }
    },
  };
}

function deadlineError(): AppError {
  return new AppError(
    "DEADLINE_EXCEEDED",
    "the command was accepted but no result arrived before the deadline; retry with the same command_id",
  );
}

/** The error for a send whose caller gave up: its deadline passed, or it cancelled. */
function abortError(reason: unknown): AppError {
  if (reason instanceof AppError && reason.code === "DEADLINE_EXCEEDED") return deadlineError();
  return new AppError("CANCELLED", "cancelled by the caller");
}
