/**
 * Consuming one command partition: every message, in stream order and without waiting, goes to the handler,
 * whose mailboxes keep an aggregate's commands in that order. When the handler's outcome is in (the
 * transaction committed, or a stored result was read), the gateway is answered and only then the message is
 * acked, so a crash before the ack replays the command, which the command-results table answers without
 * applying it twice. A command the handler could not apply (UNAVAILABLE: not applied, not stored) is left to
 * be delivered again.
 *
 * Runs in the command thread that owns the partition, on that thread's own NATS connection, so a command
 * crosses no thread boundary between NATS and its transaction.
 */

import type { ConsumerMessages, JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import type { CommandEnvelope, CommandHandler, CommandOutcome } from "../../contracts";
import { backoffMs } from "../../dead-letters";
import { AppError } from "../../errors";
import type { Logger } from "../../logging";
import {
  contextWith,
  endSpan,
  type Span,
  SpanKind,
  startSpan,
  TRACEPARENT,
  traceparentOfSpan,
  tracingOn,
  withContext,
} from "../../tracing";
import { REPLY_HEADER } from "./command-sender";
import { createReplyBatcher, REPLY_BATCHES_HEADER, type ReplyBatcher } from "./replies";
import { streamNames } from "./streams";

/**
 * How long one pull of a partition's commands waits, ms. The server's idle heartbeat is half of it, and the
 * client backs off about this long after each failed lookup of the consumer, so it bounds how soon a partition
 * resumes once its consumer has a leader again (see the consume call).
 */
const PULL_EXPIRES_MS = 1_000;

/** Options of {@link consumePartition}. */
export interface PartitionConsumerOptions {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly prefix: string;
  /** The partition's durable consumer, as `resetPartitionConsumer` made it. */
  readonly durable: string;
  readonly handler: CommandHandler;
  /** Messages pulled ahead (at most the consumer's max_ack_pending). */
  readonly maxMessages: number;
  /**
   * Sends the answers: shared by the partitions of one command thread, so that the commands one group commit
   * applied are answered in one message per gateway (default: one of this partition's own).
   */
  readonly replies?: ReplyBatcher;
  readonly log?: Logger;
}

/** A partition being consumed. */
export interface PartitionConsumer {
  /**
   * Stops pulling, waits for the commands in flight to be answered and acked, and makes sure the server has
   * the acks; whatever is delivered after the close began stays unacked for the next owner.
   * @returns how many commands were still in flight when it began.
   */
  close(): Promise<number>;
}

const decoder = new TextDecoder();

/** Starts consuming the partition's durable consumer. */
export async function consumePartition(options: PartitionConsumerOptions): Promise<PartitionConsumer> {
  const { nc, handler, log } = options;
  const replies = options.replies ?? createReplyBatcher(nc);
  const inFlight = new Set<Promise<void>>();
  let closed = false;

  function deliver(msg: JsMsg): void {
    if (closed) return;
    let envelope: CommandEnvelope;
    try {
      // The message's identity: a redelivery of it has the same one (see CommandEnvelope.delivery).
      envelope = {
        ...(JSON.parse(decoder.decode(msg.data)) as CommandEnvelope),
        delivery: `${msg.info.stream}:${msg.seq}`,
      };
    } catch (error) {
      log?.warn({ error: String(error), seq: msg.seq }, "dropping an unreadable command message");
      msg.term();
      return;
    }
    // While tracing is on: a CONSUMER span, child of the sender's (the `traceparent` header), lasting until
    // the reply is sent and the message acked; the envelope carries it on to the executor.
    let span: Span | undefined;
    if (tracingOn()) {
      span = startSpan(`command.process ${envelope.commandType}`, {
        kind: SpanKind.CONSUMER,
        parent: msg.headers?.get(TRACEPARENT),
        attributes: { "messaging.system": "nats", "clone.command_id": envelope.commandId },
      });
      envelope = { ...envelope, traceparent: traceparentOfSpan(span) as string };
    }
    const handled =
      span === undefined ? handler(envelope) : withContext(contextWith(span), () => handler(envelope));
    const done = handled
      .catch((error: unknown): CommandOutcome => ({ ok: false, error: AppError.from(error).serialize() }))
      .then((outcome) => {
        if (!outcome.ok && outcome.error.code === "UNAVAILABLE") {
          // Not applied and not stored (transient): delivered again after a capped, jittered backoff rather than lost.
          msg.nak(backoffMs(msg.info.deliveryCount));
          if (span) endSpan(span, outcome.error.code);
          return;
        }
        const acked = (): void => {
          msg.ack();
          if (span) endSpan(span, outcome.ok ? undefined : outcome.error.code);
        };
        const replyTo = msg.headers?.get(REPLY_HEADER);
        if (!replyTo) return acked();
        const reply =
          span && startSpan("command.reply", { kind: SpanKind.PRODUCER, parent: envelope.traceparent });
        const batched = msg.headers?.has(REPLY_BATCHES_HEADER) === true;
        return replies.add(replyTo, batched, envelope.commandId, outcome, () => {
          if (reply) endSpan(reply);
          acked();
        });
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  }

  const consumer = await options.js.consumers.get(streamNames(options.prefix).commandStream, options.durable);
  const messages: ConsumerMessages = await consumer.consume({
    max_messages: options.maxMessages,
    // Each pull lasts PULL_EXPIRES_MS with idle heartbeats every half of it: a pull left on a node that died
    // (its consumer's leader moved to another node of a cluster) is noticed after two missed heartbeats and
    // made again once a lookup of the consumer is answered (each unanswered one costs the thread's JetStream
    // timeout plus a backoff of about PULL_EXPIRES_MS). With the client's default (30 s) a partition stood
    // still for up to 30 s after a SIGKILL of one node of a 3-node cluster, and ~45 s after a NATS restart
    // whose JetStream answered late; with 4 s (and a 5 s timeout), up to 5.8 s after its consumer's new
    // leader was elected; with 1 s (and 1 s), at most 2.1 s.
    expires: PULL_EXPIRES_MS,
    callback: deliver,
  });
  return {
    async close() {
      closed = true;
      await messages.close().catch(() => {});
      const draining = inFlight.size;
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      // Acks are fire-and-forget publishes: make sure the server has them before the partition is handed
      // on, or its next owner would get those commands again (harmless, answered from the stored result).
      await nc.flush().catch(() => {});
      return draining;
    },
  };
}
