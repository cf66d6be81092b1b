import { describe, expect, test } from "bun:test";
import type { Msg, MsgHdrs, NatsConnection } from "@nats-io/nats-core";
import type { CommandOutcome } from "../../contracts";
import { createReplyBatcher, REPLIES_HEADER, readReplies } from "./replies";

/** What a connection was asked to publish, read back as the gateway reads it. */
function recordingConnection() {
  const sent: Array<{ subject: string; msg: Msg }> = [];
  const acks: string[] = [];
  const nc = {
    publish(subject: string, data: Uint8Array, opts: { headers: MsgHdrs }) {
      sent.push({ subject, msg: { subject, data, headers: opts.headers } as unknown as Msg });
      acks.push(`published ${subject}`);
    },
  } as unknown as NatsConnection;
  return { nc, sent, acks };
}

const ok = (version: number): CommandOutcome => ({
  ok: true,
  result: { commandId: "c", aggregateId: "a", version, events: ["x"], position: "1", duplicate: false },
});

describe("reply batcher", () => {
  test("answers of one tick to one gateway go in one message, each acked after it was sent", async () => {
    const { nc, sent, acks } = recordingConnection();
    const batcher = createReplyBatcher(nc);
    const done = [
      batcher.add("r.g1", true, "c1", ok(1), () => acks.push("ack c1")),
      batcher.add("r.g1", true, "c2", ok(2), () => acks.push("ack c2")),
      batcher.add("r.g2", true, "c3", ok(3), () => acks.push("ack c3")),
    ];
    expect(sent).toHaveLength(0);
    await Promise.all(done);
    expect(sent.map((s) => s.subject)).toEqual(["r.g1", "r.g2"]);
    expect(sent[0]?.msg.headers?.get(REPLIES_HEADER)).toBe("2");
    expect(readReplies(sent[0]?.msg as Msg)).toEqual([
      ["c1", ok(1)],
      ["c2", ok(2)],
    ]);
    // A lone answer keeps the single form.
    expect(sent[1]?.msg.headers?.has(REPLIES_HEADER)).toBe(false);
    expect(readReplies(sent[1]?.msg as Msg)).toEqual([["c3", ok(3)]]);
    expect(acks).toEqual(["published r.g1", "ack c1", "ack c2", "published r.g2", "ack c3"]);
  });

  test("a sender that reads only single answers gets one message per command", async () => {
    const { nc, sent } = recordingConnection();
    const batcher = createReplyBatcher(nc);
    await Promise.all([
      batcher.add("r.old", false, "c1", ok(1), () => {}),
      batcher.add("r.old", false, "c2", ok(2), () => {}),
    ]);
    expect(sent.map((s) => readReplies(s.msg))).toEqual([[["c1", ok(1)]], [["c2", ok(2)]]]);
  });

  test("the next tick starts a new message", async () => {
    const { nc, sent } = recordingConnection();
    const batcher = createReplyBatcher(nc);
    await batcher.add("r.g", true, "c1", ok(1), () => {});
    await batcher.add("r.g", true, "c2", ok(2), () => {});
    expect(sent).toHaveLength(2);
  });
});
