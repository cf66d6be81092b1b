/**
 * The worker's end of the JetStream command path.
 *
 * For each partition this process owns (see `partition-ownership.ts`) it recreates the partition's consumer and
 * hands every message, in stream order and without waiting, to the handler, whose mailboxes keep an aggregate's
 * commands in that order. When the handler's outcome is in (the transaction committed, or a stored result was
 * read), it answers the gateway and only then acks, so a crash before the ack replays the command, which the
 * command-results table answers without applying it twice.
 */
import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/nats-core";
import type { CommandEnvelope, CommandHandler, CommandOutcome } from "../../commands/envelope";
import { AppError } from "../../errors";
import { createPartitionOwnership, type PartitionOwnership } from "../partition-ownership";
import { COMMAND_ID_HEADER, REPLY_HEADER } from "./command-sender";
import { resetPartitionConsumer, streamNames } from "./streams";

/** Options of {@link startJetStreamCommandReceiver}. */
export interface JetStreamCommandReceiverOptions {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly prefix: string;
  readonly partitions: number;
  readonly databaseUrl: string;
  readonly handler: CommandHandler;
  /** Commands one partition may have in flight (unacked). */
  readonly maxInFlightPerPartition?: number;
  readonly ackWaitMs?: number;
  readonly rebalanceMs?: number;
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** A running receiver. */
export interface JetStreamCommandReceiver {
  readonly ownership: PartitionOwnership;
  /**
   * Stops taking commands, finishes (and acks) those in flight, releases the partitions. Commands the
   * handler did not apply (UNAVAILABLE) and those delivered after the stop began are left unacked: the
   * next owner recreates the consumer and gets them again, in order.
   */
  stop(): Promise<void>;
}

interface PartitionConsumer {
  /** Set once consuming started. */
  messages?: ConsumerMessages;
  readonly inFlight: Set<Promise<void>>;
  /** Set when the partition is being handed back: late messages are left unacked for the next owner. */
  released: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Joins the worker group and consumes the partitions it is given. */
export async function startJetStreamCommandReceiver(
  options: JetStreamCommandReceiverOptions,
): Promise<JetStreamCommandReceiver> {
  const names = streamNames(options.prefix);
  const consumers = new Map<number, PartitionConsumer>();
  const maxAckPending = options.maxInFlightPerPartition ?? 512;

  function deliver(msg: JsMsg, partition: PartitionConsumer): void {
    if (partition.released) return;
    const inFlight = partition.inFlight;
    let envelope: CommandEnvelope;
    try {
      envelope = JSON.parse(decoder.decode(msg.data)) as CommandEnvelope;
    } catch (error) {
      options.log?.("dropping an unreadable command message", { error: String(error), seq: msg.seq });
      msg.term();
      return;
    }
    const done = options
      .handler(envelope)
      .catch((error: unknown): CommandOutcome => ({ ok: false, error: AppError.from(error).serialize() }))
      .then((outcome) => {
        if (!outcome.ok && outcome.error.code === "UNAVAILABLE") {
          // Not applied and not stored: leave it to be delivered again rather than lose it.
          msg.nak(1000);
          return;
        }
        const replyTo = msg.headers?.get(REPLY_HEADER);
        if (replyTo) {
          const h = headers();
          h.set(COMMAND_ID_HEADER, envelope.commandId);
          options.nc.publish(replyTo, encoder.encode(JSON.stringify(outcome)), { headers: h });
        }
        msg.ack();
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  }

  const ownership = await createPartitionOwnership(
    {
      databaseUrl: options.databaseUrl,
      prefix: options.prefix,
      partitions: options.partitions,
      ...(options.rebalanceMs === undefined ? {} : { rebalanceMs: options.rebalanceMs }),
      ...(options.log === undefined ? {} : { log: options.log }),
    },
    {
      async onAcquire(partition) {
        const durable = await resetPartitionConsumer(options.jsm, options.prefix, partition, {
          maxAckPending,
          ackWaitMs: options.ackWaitMs ?? 30_000,
        });
        const consumer = await options.js.consumers.get(names.commandStream, durable);
        // Registered before consuming, so no message can arrive before there is a place to track it.
        const current: PartitionConsumer = { inFlight: new Set(), released: false };
        consumers.set(partition, current);
        current.messages = await consumer.consume({
          max_messages: Math.min(256, maxAckPending),
          callback: (msg) => deliver(msg, current),
        });
      },
      async onRelease(partition) {
        const c = consumers.get(partition);
        if (!c) return;
        consumers.delete(partition);
        // Stop pulling first; whatever is still delivered after this stays unacked for the next owner.
        c.released = true;
        await c.messages?.close().catch(() => {});
        const draining = c.inFlight.size;
        while (c.inFlight.size > 0) await Promise.allSettled([...c.inFlight]);
        // Acks are fire-and-forget publishes: make sure the server has them before the lock goes, or the
        // next owner would get those commands again (harmless, answered from the stored result, but slower).
        await options.nc.flush().catch(() => {});
        if (draining > 0) options.log?.("drained partition", { partition, commands: draining });
      },
    },
  );

  return {
    ownership,
    async stop() {
      await ownership.stop();
    },
  };
}
