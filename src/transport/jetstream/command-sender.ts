/**
 * The gateway's end of the JetStream command path.
 *
 * A command is published to its partition's subject with `Nats-Msg-Id` = command id (JetStream drops a copy sent
 * again within the duplicate window) and a `Clone-Reply-To` header naming this gateway's reply subject. The worker
 * answers there after its transaction committed. When JetStream reports the publish as a duplicate, no worker
 * will answer this copy, so the outcome is read from the command-results table instead (`lookup`).
 *
 * The publish goes through `acked-publisher.ts` (one ack inbox for all commands; about half the CPU of
 * `js.publish`).
 */
import { headers, type MsgHdrs, type NatsConnection, nuid, type Subscription } from "@nats-io/nats-core";
import type { CommandEnvelope, CommandOutcome, CommandSender } from "../../commands/envelope";
import { markDuplicate, reusedIdOutcome } from "../../commands/outcomes";
import { AppError } from "../../errors";
import { partitionOf } from "../partition";
import { createAckedPublisher } from "./acked-publisher";
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
/** Header carrying the command id on a reply. */
export const COMMAND_ID_HEADER = "Clone-Command-Id";

/**
 * Headers of a published command: `Nats-Msg-Id` = its id (JetStream drops a copy sent again within the
 * stream's duplicate window), and the subject the sending gateway wants its reply on.
 */
export function commandHeaders(commandId: string, replySubject: string): MsgHdrs {
  const h = headers();
  h.set("Nats-Msg-Id", commandId);
  h.set(REPLY_HEADER, replySubject);
  return h;
}

interface Waiter {
  readonly payloadHash: string;
  /** Settles this send: clears its timer and abort listener, then resolves. */
  readonly resolve: (outcome: CommandOutcome) => void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The longest wait for JetStream's ack of a publish before the bus is reported unavailable. */
const ACK_TIMEOUT_MS = 5_000;

/** Creates the sender; it subscribes to this gateway's reply subject at once. */
export function createJetStreamCommandSender(options: JetStreamCommandSenderOptions): CommandSender {
  const names = streamNames(options.prefix);
  const gatewayId = nuid.next();
  const replySubject = names.replySubject(gatewayId);
  const subjects = Array.from({ length: options.partitions }, (_, p) => names.commandSubject(p));
  const pending = new Map<string, Waiter[]>();
  const publisher = createAckedPublisher(options.nc);

  const sub: Subscription = options.nc.subscribe(replySubject, {
    callback: (err, msg) => {
      if (err) return;
      const commandId = msg.headers?.get(COMMAND_ID_HEADER);
      if (!commandId || !pending.has(commandId)) return;
      settle(commandId, JSON.parse(decoder.decode(msg.data)) as CommandOutcome);
    },
  });

  function settle(commandId: string, outcome: CommandOutcome): void {
    const waiters = pending.get(commandId);
    if (!waiters) return;
    pending.delete(commandId);
    for (let i = 0; i < waiters.length; i++) {
      (waiters[i] as Waiter).resolve(i === 0 ? outcome : markDuplicate(outcome));
    }
  }

  function forget(commandId: string, waiter: Waiter): void {
    const list = pending.get(commandId);
    if (list === undefined) return;
    const rest = list.filter((w) => w !== waiter);
    if (rest.length === 0) pending.delete(commandId);
    else pending.set(commandId, rest);
  }

  async function pollStored(envelope: CommandEnvelope, isOver: () => boolean): Promise<CommandOutcome> {
    let delay = 5;
    while (!isOver()) {
      const stored = await options.lookup(envelope.commandId);
      if (stored) {
        if (stored.payloadHash !== envelope.payloadHash) return reusedIdOutcome();
        return markDuplicate(stored.outcome);
      }
      await Bun.sleep(delay);
      delay = Math.min(delay * 2, 100);
    }
    throw new AppError("CANCELLED", "no longer waited for");
  }

  /**
   * Publishes the command; JetStream's ack says whether it was new. A duplicate is answered by whoever sent the
   * first copy, or from the stored result.
   */
  async function publish(envelope: CommandEnvelope, timeoutMs: number, isOver: () => boolean): Promise<void> {
    const h = commandHeaders(envelope.commandId, replySubject);
    let duplicate: boolean;
    try {
      duplicate = await publisher.publish(
        subjects[partitionOf(envelope.aggregateId, options.partitions)] as string,
        encoder.encode(JSON.stringify(envelope)),
        h,
        Math.min(timeoutMs, ACK_TIMEOUT_MS),
      );
    } catch (error) {
      throw new AppError("UNAVAILABLE", "the command bus (NATS JetStream) is unavailable", { cause: error });
    }
    if (!duplicate) return;
    // JetStream dropped this copy: the first one is applied (or being applied) elsewhere.
    const stored = await pollStored(envelope, isOver).catch(() => undefined);
    if (stored !== undefined) settle(envelope.commandId, stored);
  }

  return {
    send(envelope, sendOptions) {
      const timeoutMs =
        envelope.deadline === undefined ? options.defaultTimeoutMs : envelope.deadline - Date.now();
      if (timeoutMs <= 0) {
        return Promise.reject(
          new AppError("DEADLINE_EXCEEDED", "deadline exceeded before the command was sent"),
        );
      }
      const caller = sendOptions?.signal;
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

        const existing = pending.get(envelope.commandId);
        if (existing) {
          if (existing[0]?.payloadHash !== envelope.payloadHash) return waiter.resolve(reusedIdOutcome());
          // The same command is already on its way from this gateway: share its answer.
          existing.push(waiter);
          return;
        }
        pending.set(envelope.commandId, [waiter]);
        publish(envelope, timeoutMs, () => over).catch((error: unknown) => {
          pending.delete(envelope.commandId);
          fail(AppError.from(error));
        });
      });
    },
    async close() {
      if (sub.isClosed()) return;
      sub.unsubscribe();
      publisher.close();
      for (const [id, waiters] of pending) {
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
