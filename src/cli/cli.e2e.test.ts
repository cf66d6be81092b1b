/**
 * `cli command` and `cli query` against running processes (worker, relay, consistency, gateway on Postgres
 * and JetStream): protobuf JSON in and out, read-your-writes with the returned token, a streamed
 * WatchConversation printed as it arrives, and gRPC errors reported with exit code 1.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "bun";
import { createTestStack, type TestStack } from "../testing";

const cli = new URL("./main.ts", import.meta.url).pathname;
const secret = "cli-e2e-secret-0123456789abcdef";
let stack: TestStack;
let addr: string;

function start(args: string[]) {
  return spawn(["bun", cli, ...args, "--addr", addr], {
    env: { PATH: process.env.PATH ?? "", AUTH_JWT_SECRET: secret },
    stdout: "pipe",
    stderr: "pipe",
  });
}

async function run(args: string[]) {
  const child = start(args);
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}

async function ok(args: string[]): Promise<Record<string, unknown>> {
  const { code, stdout, stderr } = await run(args);
  if (code !== 0) throw new Error(`cli ${args.join(" ")} exited ${code}: ${stderr}`);
  return JSON.parse(stdout) as Record<string, unknown>;
}

type Result = { result: { aggregateId: string; consistencyToken: string; version: string } };

beforeAll(async () => {
  stack = await createTestStack({ AUTH_JWT_SECRET: secret });
  const [gateway] = await Promise.all([
    stack.start("gateway"),
    stack.start("worker"),
    stack.start("relay"),
    stack.start("consistency"),
  ]);
  addr = (await stack.addresses(gateway)).grpc;
}, 60_000);

afterAll(() => stack?.stop());

describe("cli command / query over gRPC", () => {
  test("a command, then a query that reads it with the consistency token", async () => {
    const created = (await ok([
      "command",
      "CreateUser",
      '{"email":"cli@example.com","display_name":"Cli User"}',
    ])) as Result;
    expect(created.result.aggregateId).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.result.version).toBe("1");
    const read = await ok([
      "query",
      "GetUserProfile",
      JSON.stringify({
        userId: created.result.aggregateId,
        options: { minConsistencyToken: created.result.consistencyToken },
      }),
      "--sub",
      created.result.aggregateId,
      "--role",
      "user",
    ]);
    expect(read.profile).toMatchObject({ email: "cli@example.com", displayName: "Cli User", version: "1" });
  });

  test("WatchConversation prints each turn as it arrives and ends with the conversation", async () => {
    const user = (await ok([
      "command",
      "CreateUser",
      '{"email":"watch@example.com","displayName":"W"}',
    ])) as Result;
    const conversation = (await ok([
      "command",
      "StartConversation",
      JSON.stringify({ userId: user.result.aggregateId }),
    ])) as Result;
    const conversationId = conversation.result.aggregateId;
    const watch = start(["query", "WatchConversation", JSON.stringify({ conversationId })]);
    const lines: string[] = [];
    const reading = (async () => {
      const decoder = new TextDecoder();
      let buffered = "";
      for await (const chunk of watch.stdout) {
        buffered += decoder.decode(chunk, { stream: true });
        const parts = buffered.split("\n");
        buffered = parts.pop() ?? "";
        lines.push(...parts.filter((l) => l !== ""));
      }
    })();
    for (const [speaker, text] of [
      ["SPEAKER_USER", "hello clone"],
      ["SPEAKER_CLONE", "hello human"],
    ]) {
      await ok([
        "command",
        "RecordConversationTurn",
        JSON.stringify({ conversationId, speaker, text, audioMs: 100, latencyMs: 20 }),
      ]);
    }
    // The first turn is on screen before the conversation ends: printed as it arrives, not at the end.
    for (let i = 0; i < 100 && lines.length < 2; i++) await Bun.sleep(50);
    expect(lines).toHaveLength(2);
    await ok(["command", "EndConversation", JSON.stringify({ conversationId })]);
    expect(await watch.exited).toBe(0);
    await reading;
    const turns = lines.map((l) => (JSON.parse(l) as { turn: Record<string, unknown> }).turn);
    expect(turns).toMatchObject([
      { sequence: 1, speaker: "SPEAKER_USER", text: "hello clone" },
      { sequence: 2, speaker: "SPEAKER_CLONE", text: "hello human" },
    ]);
  }, 30_000);

  test("gRPC errors: the code, the message, each field violation; exit code 1", async () => {
    const invalid = await run(["command", "CreateUser", '{"email":"not-an-email","displayName":""}']);
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).toBe("");
    expect(invalid.stderr).toStartWith("error: INVALID_ARGUMENT: ");
    expect(invalid.stderr).toMatch(/^ {2}email: /m);
    expect(invalid.stderr).toMatch(/^ {2}display_name: /m);

    const denied = await run([
      "query",
      "GetUserProfile",
      JSON.stringify({ userId: crypto.randomUUID() }),
      "--sub",
      crypto.randomUUID(),
      "--role",
      "user",
    ]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toStartWith("error: PERMISSION_DENIED: ");

    const badToken = await run(["query", "GetUserProfile", "{}", "--token", "not-a-token"]);
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toStartWith("error: UNAUTHENTICATED: ");
  });

  test("an unknown RPC or a request that does not fit its message is a usage error (exit 2)", async () => {
    const unknown = await run(["command", "MakeCoffee", "{}"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('clone.v1.CommandService has no RPC "MakeCoffee"');
    const misfit = await run(["query", "GetUserProfile", '{"user":"x"}']);
    expect(misfit.code).toBe(2);
    expect(misfit.stderr).toContain("not a valid clone.v1.GetUserProfileRequest");
  });
});
