/**
 * The gateway's end of the JetStream command path.
 *
 * A command is published to its partition's subject with `Nats-Msg-Id` = command id (JetStream drops a copy sent
 * again within the duplicate window) and a `Clone-Reply-To` header naming this gateway's reply subject. The worker
 * answers there after its transaction committed. When JetStream reports the publish as a duplicate, no worker
 * will answer this copy, so the outcome is read from the command-results table instead (`lookup`).
 */
import type { JetStreamClient } from "@nats-io/jetstream";
import { headers, type NatsConnection, nuid, type Subscription } from "@nats-io/nats-core";
import type { CommandEnvelope, CommandOutcome, CommandSender } from "../../commands/envelope";
import { markDuplicate, reusedIdOutcome } from "../../commands/outcomes";
import { AppError } from "../../errors";
import { partitionOf } from "../partition";
import { streamNames } from "./streams";

/** Reads the stored outcome of a command, if it has one yet. */
export type StoredOutcomeLookup = (
  commandId: string,
) => Promise<{ payloadHash: string; outcome: CommandOutcome } | undefined>;

/** Options of {@link createJetStreamCommandSender}. */
export interface JetStreamCommandSenderOptions {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
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

interface Waiter {
  readonly payloadHash: string;
  readonly resolve: (outcome: CommandOutcome) => void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Creates the sender; it subscribes to this gateway's reply subject at once. */
export function createJetStreamCommandSender(options: JetStreamCommandSenderOptions): CommandSender {
  const names = streamNames(options.prefix);
  const gatewayId = nuid.next();
  const replySubject = names.replySubject(gatewayId);
  const pending = new Map<string, Waiter[]>();

  const sub: Subscription = options.nc.subscribe(replySubject, {
    callback: (err, msg) => {
      if (err) return;
      const commandId = msg.headers?.get(COMMAND_ID_HEADER);
      if (!commandId) return;
      settle(commandId, JSON.parse(decoder.decode(msg.data)) as CommandOutcome);
    },
  });

  function settle(commandId: string, outcome: CommandOutcome): void {
    const waiters = pending.get(commandId);
    if (!waiters) return;
    pending.delete(commandId);
    waiters.forEach((w, i) => {
      w.resolve(i === 0 ? outcome : markDuplicate(outcome));
    });
  }

  async function pollStored(envelope: CommandEnvelope, signal: AbortSignal): Promise<CommandOutcome> {
    let delay = 5;
    while (!signal.aborted) {
      const stored = await options.lookup(envelope.commandId);
      if (stored) {
        if (stored.payloadHash !== envelope.payloadHash) return reusedIdOutcome();
        return markDuplicate(stored.outcome);
      }
      await Bun.sleep(delay);
      delay = Math.min(delay * 2, 100);
    }
    throw signal.reason;
  }

  return {
    async send(envelope, sendOptions) {
      const timeoutMs =
        envelope.deadline === undefined ? options.defaultTimeoutMs : envelope.deadline - Date.now();
      if (timeoutMs <= 0)
        throw new AppError("DEADLINE_EXCEEDED", "deadline exceeded before the command was sent");
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = sendOptions?.signal ? AbortSignal.any([timeout, sendOptions.signal]) : timeout;
      const deadlineError = () =>
        timeout.aborted
          ? new AppError(
              "DEADLINE_EXCEEDED",
              "the command was accepted but no result arrived before the deadline; retry with the same command_id",
            )
          : new AppError("CANCELLED", "cancelled by the caller");

      const outcome = new Promise<CommandOutcome>((resolve, reject) => {
        const existing = pending.get(envelope.commandId);
        const waiter: Waiter = { payloadHash: envelope.payloadHash, resolve };
        if (existing) {
          if (existing[0]?.payloadHash !== envelope.payloadHash) return resolve(reusedIdOutcome());
          existing.push(waiter);
        } else {
          pending.set(envelope.commandId, [waiter]);
        }
        signal.addEventListener(
          "abort",
          () => {
            const list = pending.get(envelope.commandId);
            const rest = list?.filter((w) => w !== waiter) ?? [];
            if (rest.length === 0) pending.delete(envelope.commandId);
            else pending.set(envelope.commandId, rest);
            reject(deadlineError());
          },
          { once: true },
        );
      });
      if ((pending.get(envelope.commandId)?.length ?? 0) > 1) return outcome;

      const h = headers();
      h.set(REPLY_HEADER, replySubject);
      let duplicate: boolean;
      try {
        const ack = await options.js.publish(
          names.commandSubject(partitionOf(envelope.aggregateId, options.partitions)),
          encoder.encode(JSON.stringify(envelope)),
          { msgID: envelope.commandId, headers: h, timeout: Math.min(timeoutMs, 5000) },
        );
        duplicate = ack.duplicate;
      } catch (error) {
        pending.delete(envelope.commandId);
        throw new AppError("UNAVAILABLE", "the command bus (NATS JetStream) is unavailable", {
          cause: error,
        });
      }
      if (!duplicate) return outcome;
      // JetStream dropped this copy: the first one is applied (or being applied) elsewhere.
      return Promise.race([outcome, pollStored(envelope, signal).catch(() => outcome)]).then((o) => {
        settle(envelope.commandId, o);
        return o;
      });
    },
    async close() {
      sub.unsubscribe();
      for (const [id, waiters] of pending) {
        pending.delete(id);
        for (const w of waiters)
          w.resolve({ ok: false, error: new AppError("UNAVAILABLE", "gateway shutting down").serialize() });
      }
    },
  };
}
