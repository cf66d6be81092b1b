/**
 * The gateway's end of the JetStream command path.
 *
 * A command is published to its partition's subject with `Nats-Msg-Id` = command id (JetStream drops a copy sent
 * again within the duplicate window) and a `Clone-Reply-To` header naming this gateway's reply subject. The worker
 * answers there after its transaction committed. When JetStream reports the publish as a duplicate, no worker
 * will answer this copy, so the outcome is read from the command-results table instead (`lookup`).
 *
 * The publish is what `js.publish` does (a message with a reply subject, whose answer is the stream's PubAck),
 * without its per-call request machinery: the acks of all commands come to one inbox subscription, each on
 * its own token, which costs the gateway about half the CPU of `js.publish` per command.
 */
import type { JetStreamClient } from "@nats-io/jetstream";
import {
  createInbox,
  headers,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  nuid,
  type Subscription,
} from "@nats-io/nats-core";
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
  /** Not used: commands are published on `nc` and JetStream's acks read directly (see the header). */
  readonly js?: JetStreamClient;
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
  /** Settles this send: clears its timer and abort listener, then resolves. */
  readonly resolve: (outcome: CommandOutcome) => void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The longest wait for JetStream's ack of a publish before the bus is reported unavailable. */
const ACK_TIMEOUT_MS = 5_000;

/** What JetStream answers a publish with. */
interface PubAck {
  readonly stream?: string;
  readonly seq?: number;
  readonly duplicate?: boolean;
  readonly error?: { readonly code?: number; readonly err_code?: number; readonly description?: string };
}

interface AckWaiter {
  readonly resolve: (duplicate: boolean) => void;
  readonly reject: (error: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/**
 * Publishes to JetStream and resolves with whether the stream dropped the message as a duplicate; rejects
 * when the stream refuses it, nothing listens on the subject, or no ack comes within `timeoutMs`.
 */
interface AckedPublisher {
  publish(subject: string, data: Uint8Array, hdrs: MsgHdrs, timeoutMs: number): Promise<boolean>;
  close(): void;
}

function createAckedPublisher(nc: NatsConnection): AckedPublisher {
  const inbox = createInbox();
  const tokenStart = inbox.length + 1;
  const waiting = new Map<string, AckWaiter>();
  let next = 0;
  const sub = nc.subscribe(`${inbox}.*`, {
    callback: (err, msg) => {
      if (err) return; // the pending publishes time out
      const token = msg.subject.slice(tokenStart);
      const waiter = waiting.get(token);
      if (waiter === undefined) return;
      waiting.delete(token);
      clearTimeout(waiter.timer);
      try {
        waiter.resolve(readAck(msg));
      } catch (error) {
        waiter.reject(error as Error);
      }
    },
  });
  return {
    publish(subject, data, hdrs, timeoutMs) {
      const token = (next++).toString(36);
      return new Promise<boolean>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(token);
          reject(new Error(`no ack from JetStream within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(token, { resolve, reject, timer });
        try {
          nc.publish(subject, data, { headers: hdrs, reply: `${inbox}.${token}` });
        } catch (error) {
          waiting.delete(token);
          clearTimeout(timer);
          reject(error as Error);
        }
      });
    },
    close() {
      sub.unsubscribe();
      for (const [token, waiter] of waiting) {
        waiting.delete(token);
        clearTimeout(waiter.timer);
        waiter.reject(new Error("the sender was closed"));
      }
    },
  };
}

/** Whether the ack says duplicate; throws for a refusal or a status (503: no stream takes the subject). */
function readAck(msg: Msg): boolean {
  if (msg.headers?.hasError) {
    throw new Error(`JetStream publish failed: ${msg.headers.code} ${msg.headers.description}`.trim());
  }
  const ack = JSON.parse(decoder.decode(msg.data)) as PubAck;
  if (ack.error !== undefined) {
    throw new Error(
      `JetStream refused the publish: ${ack.error.code ?? ""} ${ack.error.err_code ?? ""} ${ack.error.description ?? ""}`,
    );
  }
  if (typeof ack.stream !== "string" || ack.stream === "") throw new Error("invalid JetStream ack");
  return ack.duplicate === true;
}

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
    const h = headers();
    h.set("Nats-Msg-Id", envelope.commandId);
    h.set(REPLY_HEADER, replySubject);
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
