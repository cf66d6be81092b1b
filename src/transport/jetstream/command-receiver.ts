/**
 * The worker's end of the JetStream command path, on its main thread: it holds this process's share of the
 * partitions (see `partition-ownership.ts`). For each partition it gains, it recreates the partition's durable
 * consumer (from the first message still in the work queue, so unacked commands come again, in order) and has
 * a host consume it; for each it loses, it has the host drain it first. The host is the command thread pool,
 * whose threads consume their partitions themselves (see `partition-consumer.ts`).
 */

import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Logger } from "../../logging";
import { createPartitionOwnership, type PartitionOwnership } from "../partition-ownership";
import { createPoisonPillGuard, type PoisonPillOptions } from "./poison-pill";
import { resetPartitionConsumer } from "./streams";

/** A partition's consumer, just recreated: what its host consumes. */
export interface PreparedPartition {
  readonly durable: string;
  /** Messages to pull ahead (at most the consumer's max_ack_pending). */
  readonly maxMessages: number;
}

/**
 * Why a partition's consumer is (re)created: `acquired` (this process just took the partition),
 * `thread-replaced` (its command thread died), `reconnected` (NATS came back; see `startOverAll`). Only a
 * start after a thread died hints at a command that kills its thread.
 */
export type StartReason = "acquired" | "thread-replaced" | "reconnected";

/** Where partitions are consumed (the command thread pool). */
export interface PartitionHost {
  /**
   * Starts consuming `partition`. `prepare` recreates its consumer; the host runs it first, and again whenever
   * it must start the partition over (a command thread that died).
   */
  consume(partition: number, prepare: (reason: StartReason) => Promise<PreparedPartition>): Promise<void>;
  /** Stops consuming `partition` once its commands in flight are answered and acked. */
  release(partition: number): Promise<void>;
  /** Starts every partition over on a recreated consumer (after NATS came back). */
  startOverAll?(): void;
}

/** Options of {@link startJetStreamCommandReceiver}. */
export interface JetStreamCommandReceiverOptions {
  readonly jsm: JetStreamManager;
  /**
   * The main connection: after each reconnect the host starts every partition over (a restarted nats-server
   * may keep acked commands in the work queue, below the consumer's ack floor, or have lost the consumer),
   * unless `startOverAfterReconnect` is false.
   */
  readonly nc?: NatsConnection;
  /**
   * Whether a reconnect of `nc` starts every partition over (default true): right for one nats-server, which
   * may come back without its last acks or its consumers. Not for a cluster with replicated streams
   * (`NATS_STREAM_REPLICAS` > 1): there a reconnect means a node went away while the consumers live on in the
   * others, and each partition's pull is made again by itself. Recreating the consumers then waited for the
   * meta and stream leaders' elections (the partitions stood still 12-25 s after a SIGKILL of the COMMANDS
   * leader, against 4-10 s without), and on nats-server 2.9 the consumers recreated while a node was down
   * still had no current replica on that node 30-60 s after it came back, so the next node's loss
   * stalled them (> 40 s).
   */
  readonly startOverAfterReconnect?: boolean;
  readonly prefix: string;
  readonly partitions: number;
  readonly databaseUrl: string;
  readonly host: PartitionHost;
  /** Commands one partition may have in flight (unacked). */
  readonly maxInFlightPerPartition?: number;
  readonly ackWaitMs?: number;
  readonly rebalanceMs?: number;
  /**
   * Takes out a command that keeps taking its partition's thread down (see poison-pill.ts): records it and
   * answers its caller. Without it, such a command is started over for good.
   */
  readonly quarantine?: PoisonPillOptions["quarantine"];
  readonly log?: Logger;
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

/** The default of `maxInFlightPerPartition`. */
const DEFAULT_MAX_IN_FLIGHT_PER_PARTITION = 512;
/** Most messages a partition's consumer pulls ahead of its handler. */
const MAX_PULL_AHEAD = 256;

/** Joins the worker group and has the host consume the partitions it is given. */
export async function startJetStreamCommandReceiver(
  options: JetStreamCommandReceiverOptions,
): Promise<JetStreamCommandReceiver> {
  const consumer = {
    maxAckPending: options.maxInFlightPerPartition ?? DEFAULT_MAX_IN_FLIGHT_PER_PARTITION,
    ackWaitMs: options.ackWaitMs ?? 30_000,
  };
  const guard =
    options.quarantine === undefined
      ? undefined
      : createPoisonPillGuard({
          jsm: options.jsm,
          prefix: options.prefix,
          quarantine: options.quarantine,
          ...(options.log === undefined ? {} : { log: options.log }),
        });
  /** False from a disconnect of `nc` to its next reconnect. */
  let connected = true;
  const ownership = await createPartitionOwnership(
    {
      databaseUrl: options.databaseUrl,
      prefix: options.prefix,
      partitions: options.partitions,
      ...(options.rebalanceMs === undefined ? {} : { rebalanceMs: options.rebalanceMs }),
      ...(options.log === undefined ? {} : { log: options.log }),
    },
    {
      onAcquire: (partition) =>
        options.host.consume(partition, async (reason) => {
          // A JetStream request made while the connection is down waits out its whole timeout (5 s) after
          // NATS is back: the partition's start-over waits for the reconnect instead (10 s at most, then tries).
          for (let waited = 0; !connected && waited < 10_000; waited += 50) await Bun.sleep(50);
          const started = await guard?.(partition, reason);
          const durable = await resetPartitionConsumer(options.jsm, options.prefix, partition, consumer);
          started?.();
          return { durable, maxMessages: Math.min(MAX_PULL_AHEAD, consumer.maxAckPending) };
        }),
      onRelease: (partition) => options.host.release(partition),
    },
  );
  const statuses = options.nc?.status();
  if (statuses !== undefined) {
    const startOverAll =
      options.startOverAfterReconnect === false ? undefined : options.host.startOverAll?.bind(options.host);
    void (async () => {
      for await (const status of statuses) {
        if (status.type === "disconnect") connected = false;
        if (status.type !== "reconnect") continue;
        connected = true;
        if (startOverAll === undefined) continue;
        options.log?.info(
          { partitions: ownership.owned() },
          "NATS reconnected; starting the partitions over",
        );
        startOverAll();
      }
    })().catch(() => {});
  }
  return {
    ownership,
    async stop() {
      (statuses as { stop?: () => void } | undefined)?.stop?.();
      await ownership.stop();
    },
  };
}
