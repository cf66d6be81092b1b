import { describe, expect, test } from "bun:test";
import { headers, type NatsConnection } from "@nats-io/nats-core";
import { createAckedPublisher } from "./acked-publisher";

/** A connection that records what it was asked to publish; its status iterator never ends. */
function recordingConnection() {
  const published: string[] = [];
  const nc = {
    publish: (subject: string) => {
      published.push(subject);
    },
    subscribe: () => ({ unsubscribe: () => {} }),
    status: () => ({ [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => {}) }), stop: () => {} }),
  } as unknown as NatsConnection;
  return { nc, published };
}

const turnEnd = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("acked publisher", () => {
  test("coalesced: the publishes of one turn are handed to the connection together at its end", async () => {
    const { nc, published } = recordingConnection();
    const publisher = createAckedPublisher(nc, { coalesce: true });
    for (const s of ["a", "b", "c"])
      void publisher.publish(s, new Uint8Array(), headers(), 1_000).catch(() => {});
    expect(published).toEqual([]);
    await turnEnd();
    expect(published).toEqual(["a", "b", "c"]);
    publisher.close();
  });

  test("coalesced: a publish that failed before the turn ended (the sender closed) is not sent", async () => {
    const { nc, published } = recordingConnection();
    const publisher = createAckedPublisher(nc, { coalesce: true });
    const failed = publisher.publish("failed", new Uint8Array(), headers(), 1_000);
    publisher.close();
    await expect(failed).rejects.toThrow("the sender was closed");
    await turnEnd();
    expect(published).toEqual([]);
  });

  test("not coalesced: handed to the connection at once", () => {
    const { nc, published } = recordingConnection();
    const publisher = createAckedPublisher(nc);
    void publisher.publish("now", new Uint8Array(), headers(), 1_000).catch(() => {});
    expect(published).toEqual(["now"]);
    publisher.close();
  });
});
