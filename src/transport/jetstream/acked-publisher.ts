/**
 * Publishing to JetStream with acks, cheaply: what `js.publish` does (a message with a reply subject, whose
 * answer is the stream's PubAck), without its per-call request machinery. The acks of all publishes come to
 * one inbox subscription, each on its own token, which costs about half the CPU of `js.publish` per message.
 * Used by the gateway's command sender and by the outbox relay.
 *
 * With `coalesce`, the publishes asked for during one turn of the event loop are handed to the connection
 * together at its end (`setImmediate`), so they leave in one socket write: nats.js flushes what was published
 * within one microtask run, and a gateway under load publishes each command from its own I/O callback, which
 * made one write (one syscall, one wake-up of nats-server) per command. A lone publish waits only for the end
 * of the turn it was asked in.
 */
import { createInbox, type Msg, type MsgHdrs, type NatsConnection } from "@nats-io/nats-core";
import { AppError } from "../../errors";

const decoder = new TextDecoder();

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
export interface AckedPublisher {
  publish(subject: string, data: Uint8Array, hdrs: MsgHdrs, timeoutMs: number): Promise<boolean>;
  close(): void;
}

/**
 * Subscribes to a fresh inbox for the acks; `close` ends it and fails what still waits. When the connection
 * drops, and again when it is back, every publish still waiting for its ack fails at once (UNAVAILABLE):
 * nats.js drops what it had not yet written when it reconnects, and the server may have lost the rest, so
 * those acks will never come; the caller retries (the `Nats-Msg-Id` makes a repeat harmless) instead of
 * waiting out its timeout.
 */
export function createAckedPublisher(
  nc: NatsConnection,
  options: { coalesce?: boolean } = {},
): AckedPublisher {
  const inbox = createInbox();
  const tokenStart = inbox.length + 1;
  const waiting = new Map<string, AckWaiter>();
  let next = 0;
  /** Publishes waiting for the end of this turn (with `coalesce`). */
  let queued: Array<() => void> = [];
  const drain = (): void => {
    const run = queued;
    queued = [];
    for (const publish of run) publish();
  };
  const failAll = (error: Error): void => {
    for (const [token, waiter] of waiting) {
      waiting.delete(token);
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
  };
  const statuses = nc.status();
  void (async () => {
    for await (const status of statuses) {
      if (status.type === "disconnect" || status.type === "reconnect")
        failAll(
          new AppError("UNAVAILABLE", `NATS connection ${status.type}ed before JetStream acked the publish`),
        );
    }
  })().catch(() => {});
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
        const publish = (): void => {
          if (!waiting.has(token)) return; // timed out or failed while queued
          try {
            nc.publish(subject, data, { headers: hdrs, reply: `${inbox}.${token}` });
          } catch (error) {
            waiting.delete(token);
            clearTimeout(timer);
            reject(error as Error);
          }
        };
        if (options.coalesce !== true) return publish();
        if (queued.push(publish) === 1) setImmediate(drain);
      });
    },
    close() {
      sub.unsubscribe();
      (statuses as { stop?: () => void }).stop?.();
      failAll(new Error("the sender was closed"));
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
