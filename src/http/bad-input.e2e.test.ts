/**
 * Bad input on the real tier (gateway and worker processes on Postgres + JetStream), the same over the four
 * wires (gRPC, gRPC-web, Connect binary, Connect JSON): text Postgres cannot store, bytes that do not decode,
 * unknown enum names and values, content and messages over their limits are INVALID_ARGUMENT with the same
 * message and `google.rpc.BadRequest` everywhere (HTTP 400 for Connect), never INTERNAL; `expected_version`
 * on an aggregate that does not exist is NOT_FOUND, and an int64 comes back in an error exactly.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect as http2Connect } from "node:http2";
import { create, type DescMessage, type DescMethod, type MessageInitShape } from "@bufbuild/protobuf";
import { mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import type { DocumentStatus } from "../gen/clone/v1/enums_pb";
import { QueryService } from "../gen/clone/v1/query_service_pb";
import {
  createRawRpc,
  createTestStack,
  encodeFor,
  type RawAnswer,
  type RawRpc,
  type TestStack,
  wires,
} from "../testing";

const secret = "bad-input-e2e-secret-0123456789";
let stack: TestStack;
let rpc: RawRpc;
let grpcAddress: string;
let token: string;
const ada = crypto.randomUUID();
const MiB = 1024 * 1024;

beforeAll(async () => {
  stack = await createTestStack({ AUTH_JWT_SECRET: secret });
  await stack.start("worker");
  const addresses = await stack.addresses(await stack.start("gateway"));
  grpcAddress = addresses.grpc;
  rpc = createRawRpc(addresses);
  token = await mintToken({ sub: ada, role: "admin", secret });
}, 60_000);

afterAll(async () => {
  rpc?.close();
  await stack?.stop();
});

const commands = CommandService.method;
const queries = QueryService.method;

/** Calls `method` with `request` over `wire`, as an admin unless `authenticated` is false. */
function send<M extends DescMethod>(
  wire: (typeof wires)[number],
  method: M,
  request: MessageInitShape<M["input"] & DescMessage>,
  authenticated = true,
): Promise<RawAnswer> {
  const message = create(method.input, request as never);
  return rpc.call(wire, method, encodeFor(wire, method.input, message), authenticated ? { token } : {});
}

/** The answer without what differs by wire (the HTTP status, checked apart). */
const status = ({ code, message, violations }: RawAnswer) => ({ code, message, violations });

describe("text Postgres cannot store is INVALID_ARGUMENT naming the field, on every wire", () => {
  const nul = "bad\u0000text";
  const cases: [string, DescMethod, Record<string, unknown>, string][] = [
    ["display_name", commands.createUser, { email: "a@b.io", displayName: nul }, "display_name"],
    [
      "turn text",
      commands.recordConversationTurn,
      { conversationId: crypto.randomUUID(), speaker: 1, text: nul },
      "text",
    ],
    ["model name", commands.registerVoiceModel, { userId: ada, name: nul, sampleSeconds: 1 }, "name"],
    [
      "failure_reason",
      commands.completeFaceModelTraining,
      { faceModelId: crypto.randomUUID(), succeeded: false, failureReason: nul },
      "failure_reason",
    ],
    [
      "document title",
      commands.uploadDocument,
      { userId: ada, title: nul, contentType: "text/plain", content: new Uint8Array([97]) },
      "title",
    ],
    ["search query", queries.searchDocuments, { userId: ada, query: nul }, "query"],
    ["command id", commands.deleteUser, { userId: ada, options: { commandId: nul } }, "options.command_id"],
  ];
  for (const [name, method, request, field] of cases) {
    test(name, async () => {
      const answers = await Promise.all(wires.map((wire) => send(wire, method, request)));
      for (const answer of answers) {
        expect(status(answer)).toEqual({
          code: "INVALID_ARGUMENT",
          message: `${field}: must not contain U+0000 (NUL)`,
          violations: [{ field, description: "must not contain U+0000 (NUL)" }],
        });
      }
      expect(answers.filter((a) => a.httpStatus !== undefined).map((a) => a.httpStatus)).toEqual([
        200, 400, 400,
      ]);
    });
  }

  test("an unpaired surrogate in Connect JSON does not decode: INVALID_ARGUMENT", async () => {
    const body = new TextEncoder().encode(JSON.stringify({ email: "a@b.io", displayName: "\ud800" }));
    const answer = await rpc.call("connect-json", commands.createUser, body, { token });
    expect(answer.code).toBe("INVALID_ARGUMENT");
    expect(answer.httpStatus).toBe(400);
    expect(answer.message).toStartWith("the request is not a valid clone.v1.CreateUserRequest: ");
  });
});

describe("requests that do not decode are INVALID_ARGUMENT, the same on every binary wire, before auth", () => {
  const binaryWires = ["grpc", "grpc-web", "connect-proto"] as const;
  for (const [name, bytes, reason] of [
    [
      "invalid UTF-8 in a string",
      [0x1a, 0x02, 0xff, 0xfe],
      "The encoded data was not valid for encoding utf-8",
    ],
    ["a truncated field", [0x1a, 0x05, 0x61], "premature EOF"],
    ["an illegal wire type", [0x0f], "illegal tag: field no 1 wire type 7"],
  ] as const) {
    test(name, async () => {
      const answers = await Promise.all(
        binaryWires.map((wire) => rpc.call(wire, commands.createUser, new Uint8Array(bytes))),
      );
      const expected = `the request is not a valid clone.v1.CreateUserRequest: ${reason}`;
      for (const answer of answers) {
        expect(status(answer)).toEqual({
          code: "INVALID_ARGUMENT",
          message: expected,
          violations: [{ field: "", description: expected }],
        });
      }
      expect(answers.map((a) => a.httpStatus)).toEqual([undefined, 200, 400]);
    });
  }

  test("gRPC-web framing the request cannot be read by: INVALID_ARGUMENT", async () => {
    const frame = (flags: number, data: number[]) => [flags, 0, 0, 0, data.length, ...data];
    const valid = [0x12, 0x06, ...new TextEncoder().encode("a@b.io")];
    for (const [name, body, headers] of [
      ["no message", [], {}],
      ["two messages for a unary call", [...frame(0, valid), ...frame(0, valid)], {}],
      ["a cut frame", frame(0, valid).slice(0, 7), {}],
      ["a compressed frame without grpc-encoding", frame(1, valid), {}],
      ["gzip that is not gzip", frame(1, [1, 2, 3, 4]), { "grpc-encoding": "gzip" }],
    ] as const) {
      const answer = await rpc.call("grpc-web", commands.createUser, new Uint8Array(body), {
        framed: true,
        headers,
      });
      expect({ name, code: answer.code }).toEqual({ name, code: "INVALID_ARGUMENT" });
      expect(answer.message).toStartWith("the request is not a valid clone.v1.CreateUserRequest");
    }
  });

  test("native gRPC: a gzip or deflate body that does not decompress is INVALID_ARGUMENT (grpc-js says INTERNAL)", async () => {
    for (const encoding of ["gzip", "deflate"]) {
      const session = http2Connect(`http://${grpcAddress}`);
      const trailers = await new Promise<Record<string, unknown>>((resolve, reject) => {
        session.on("error", reject);
        const stream = session.request({
          ":method": "POST",
          ":path": "/clone.v1.CommandService/CreateUser",
          "content-type": "application/grpc",
          te: "trailers",
          "grpc-encoding": encoding,
          authorization: `Bearer ${token}`,
        });
        let head: Record<string, unknown> = {};
        stream.on("response", (h) => {
          head = h;
        });
        stream.on("trailers", (t) => resolve({ ...head, ...t }));
        stream.on("end", () => resolve(head));
        stream.on("error", reject);
        stream.resume();
        stream.end(Buffer.from([1, 0, 0, 0, 4, 1, 2, 3, 4]));
      }).finally(() => session.close());
      expect({ encoding, status: trailers["grpc-status"] }).toEqual({ encoding, status: "3" });
      expect(decodeURIComponent(String(trailers["grpc-message"]))).toBe(
        `the request body does not decompress (${encoding})`,
      );
    }
  });

  test("JSON that is not the message: INVALID_ARGUMENT and HTTP 400", async () => {
    for (const text of ["{", "[1]", '{"displayName": 5}', "\u0000"]) {
      const answer = await rpc.call("connect-json", commands.createUser, new TextEncoder().encode(text));
      expect(answer.code).toBe("INVALID_ARGUMENT");
      expect(answer.httpStatus).toBe(400);
      expect(answer.violations).toEqual([{ field: "", description: answer.message }]);
    }
  });
});

describe("unknown enum names and values are INVALID_ARGUMENT", () => {
  test("an unknown name over Connect JSON is not read as 'all'", async () => {
    const body = new TextEncoder().encode(JSON.stringify({ userId: ada, status: "DOCUMENT_STATUS_BOGUS" }));
    const answer = await rpc.call("connect-json", queries.listDocuments, body, { token });
    expect(answer.code).toBe("INVALID_ARGUMENT");
    expect(answer.httpStatus).toBe(400);
    expect(answer.message).toContain("DOCUMENT_STATUS_BOGUS");
  });

  test("an undeclared number, on every wire", async () => {
    for (const wire of wires) {
      expect(
        status(await send(wire, queries.listDocuments, { userId: ada, status: 99 as DocumentStatus })),
      ).toEqual({
        code: "INVALID_ARGUMENT",
        message: "status: 99 is not a value of clone.v1.DocumentStatus",
        violations: [{ field: "status", description: "99 is not a value of clone.v1.DocumentStatus" }],
      });
    }
  });
});

describe("sizes", () => {
  const upload = (bytes: number) => ({
    userId: ada,
    title: "big",
    contentType: "text/plain",
    content: new Uint8Array(bytes).fill(97),
  });

  test("content over 2 MiB: INVALID_ARGUMENT naming the content limit, on every wire", async () => {
    // 3 MiB in binary; over JSON (base64: 4/3 as large) 2 MiB + 1 byte, as 3 MiB would pass the message limit.
    for (const wire of wires) {
      const answer = await send(
        wire,
        commands.uploadDocument,
        upload(wire === "connect-json" ? 2 * MiB + 1 : 3 * MiB),
      );
      expect(status(answer)).toEqual({
        code: "INVALID_ARGUMENT",
        message: "content: must be at most 2097152 bytes (2 MiB)",
        violations: [{ field: "content", description: "must be at most 2097152 bytes (2 MiB)" }],
      });
    }
  });

  test("a message over the 4 MiB limit: INVALID_ARGUMENT naming the message-size limit, on every wire", async () => {
    const expected = "the request must be at most 4194304 bytes (the message-size limit)";
    for (const wire of wires) {
      const answer = await send(wire, commands.uploadDocument, upload(5 * MiB));
      expect(status(answer)).toEqual({
        code: "INVALID_ARGUMENT",
        message: expected,
        violations: [{ field: "", description: expected }],
      });
      if (wire.startsWith("connect")) expect(answer.httpStatus).toBe(400);
    }
  });

  test("over twice the limit, grpc-js refuses the message unread (RESOURCE_EXHAUSTED)", async () => {
    const answer = await send("grpc", commands.uploadDocument, upload(9 * MiB));
    expect(answer.code).toBe("RESOURCE_EXHAUSTED");
  });
});

describe("expected_version and int64 values", () => {
  test("expected_version on an aggregate that does not exist: NOT_FOUND", async () => {
    for (const wire of wires) {
      const missing = crypto.randomUUID();
      const answer = await send(wire, commands.updateUserProfile, {
        userId: missing,
        displayName: "X",
        options: { expectedVersion: 3n },
      });
      expect(status(answer)).toEqual({
        code: "NOT_FOUND",
        message: `user ${missing} not found`,
        violations: [],
      });
    }
  });

  test("a wrong expected_version is ABORTED and the message repeats the int64 exactly", async () => {
    const created = await send("grpc", commands.createUser, {
      userId: ada,
      email: "ada@example.com",
      displayName: "Ada",
    });
    expect(created.code).toBe("OK");
    for (const wire of wires) {
      const answer = await send(wire, commands.updateUserProfile, {
        userId: ada,
        displayName: "Ada L",
        options: { expectedVersion: 9223372036854775807n },
      });
      expect(answer.code).toBe("ABORTED");
      expect(answer.message).toBe(`user ${ada} is at version 1, not the expected 9223372036854775807`);
    }
  });

  test("an empty UpdateUserProfile names both fields, not just email", async () => {
    for (const wire of wires) {
      const answer = await send(wire, commands.updateUserProfile, { userId: ada });
      expect(answer.code).toBe("INVALID_ARGUMENT");
      expect(answer.violations.map((v) => v.field)).toEqual(["email", "display_name"]);
    }
  });
});
