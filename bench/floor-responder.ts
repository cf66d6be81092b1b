/**
 * Child-process entry of bench:commands' messaging floor (messaging-floor.ts):
 * `bun bench/floor-responder.ts <nats-url> <prefix>`, printing `{"msg":"floor responder consuming"}`.
 *
 * The worker's share of the command path's messaging and nothing else: one process, no threads, no Postgres.
 * It consumes every partition of the floor's stream (floor-stream.ts) as the worker's command receiver does
 * (src/transport/jetstream/command-receiver.ts: a durable pull consumer per partition recreated from the
 * stream's start with `resetPartitionConsumer`, `consume()` with the same pull size and ack-pending limit,
 * explicit acks) and, for each message, publishes a small reply (core NATS) to the subject its reply header
 * names, then acks it.
 */
import type { ConsumerMessages } from "@nats-io/jetstream";
import { resetPartitionConsumer } from "../src/transport/jetstream/streams";
import { answerCommand } from "./bare-messaging";
import { connectFloorChild, FLOOR_PARTITIONS, floorPrefix } from "./floor-stream";

/** The command receiver's defaults. */
const MAX_ACK_PENDING = 512;
const PULL_SIZE = 256;
const ACK_WAIT_MS = 30_000;
const encoder = new TextEncoder();

const { nats, prefix, names } = await connectFloorChild("bench-floor-responder");
const consuming: ConsumerMessages[] = [];
for (let partition = 0; partition < FLOOR_PARTITIONS; partition++) {
  const durable = await resetPartitionConsumer(nats.jsm, floorPrefix(prefix), partition, {
    maxAckPending: MAX_ACK_PENDING,
    ackWaitMs: ACK_WAIT_MS,
  });
  const consumer = await nats.js.consumers.get(names.commandStream, durable);
  consuming.push(
    await consumer.consume({
      max_messages: PULL_SIZE,
      callback: (msg) => {
        // The reply is the message's stream sequence, about what a worker's consistency token is.
        answerCommand(nats.nc, msg.headers, () => encoder.encode(String(msg.seq)));
        msg.ack();
      },
    }),
  );
}
console.log(JSON.stringify({ msg: "floor responder consuming", partitions: FLOOR_PARTITIONS }));
process.on("SIGTERM", () => {
  void Promise.allSettled(consuming.map((c) => c.close()))
    .then(() => nats.nc.drain())
    .finally(() => process.exit(0));
});
