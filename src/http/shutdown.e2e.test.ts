/**
 * Closing the HTTP port gracefully: no new connections, unary calls in flight finish, streams end with
 * UNAVAILABLE once the unary calls are done.
 */
import { describe, expect, test } from "bun:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { registerService } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { QueryService } from "../gen/clone/v1/query_service_pb";
import { createHttpGateway } from "./server";

describe("HTTP gateway close", () => {
  test("a unary call in flight completes; an open stream ends UNAVAILABLE", async () => {
    let streamOpen = false;
    const gateway = createHttpGateway({
      services: [
        registerService(CommandService, {
          async createUser() {
            await Bun.sleep(300);
            return { result: { commandId: "slow", aggregateId: "a" } };
          },
        }),
        registerService(QueryService, {
          async *watchConversation(_request, ctx) {
            streamOpen = true;
            yield { turn: { sequence: 1 } };
            await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
            throw ctx.signal.reason;
          },
        }),
      ],
      corsOrigins: ["*"],
      maxReceiveMessageBytes: 1024 * 1024,
    });
    const port = await gateway.listen("127.0.0.1", 0);
    const transport = createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "1.1" });
    const commands = createClient(CommandService, transport);
    const queries = createClient(QueryService, transport);

    const streamed: number[] = [];
    const stream = (async () => {
      for await (const m of queries.watchConversation({})) streamed.push(m.turn?.sequence ?? 0);
    })();
    while (!streamOpen) await Bun.sleep(5);
    const slow = commands.createUser({});
    await Bun.sleep(50);
    const closing = gateway.close(5_000);
    const answer = await slow;
    expect(answer.result?.commandId).toBe("slow");
    const ended = await stream.then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(streamed).toEqual([1]);
    expect(ended?.code).toBe(Code.Unavailable);
    await closing;
  });
});
