import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fromBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { type Server, type ServiceError, status } from "@grpc/grpc-js";
import { AppError } from "../errors";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { QueryService, type WatchConversationResponse } from "../gen/clone/v1/query_service_pb";
import { BadRequestSchema } from "../gen/google/rpc/error_details_pb";
import { StatusSchema } from "../gen/google/rpc/status_pb";
import { authInterceptor, createAuthenticator, mintToken } from "./auth";
import { type GatewayLogger, parseStatusDetails, statusDetailsKey } from "./error-status";
import { fakeCommands, fakeQueries, type Probes } from "./fakes.testkit";
import { createGrpcClient, type GrpcClient } from "./grpc-client";
import { bindGrpcServer, createGrpcServer, shutdownGrpcServer } from "./grpc-server";
import { type Interceptor, registerService } from "./handler";
import { mapStream } from "./interceptors";

const secret = "e2e-test-secret-0123456789abcdef";
const MiB = 1024 * 1024;
const logged: { obj: object; msg: string | undefined }[] = [];
const log: GatewayLogger = {
  error: (obj, msg) => logged.push({ obj, msg }),
  warn: (obj, msg) => logged.push({ obj, msg }),
  info: () => {},
};

/** Records every call and, for streams, how many messages went out: interceptors see streaming calls too. */
const recorded: string[] = [];
const recording: Interceptor = (next) => async (request, ctx) => {
  recorded.push(`${ctx.kind} ${ctx.service}/${ctx.method}`);
  const response = await next(request, ctx);
  if (response.kind === "unary") return response;
  let count = 0;
  const counted = mapStream(
    response.stream,
    (message) => {
      count++;
      return message;
    },
    (error) =>
      recorded.push(`${ctx.method} ended after ${count}${error === undefined ? "" : " with an error"}`),
  );
  return { kind: "server_streaming", stream: counted };
};

let server: Server;
let commands: GrpcClient<typeof CommandService>;
let queries: GrpcClient<typeof QueryService>;
let token: string;
const probes: Probes = { produced: 0 };

beforeAll(async () => {
  server = createGrpcServer({
    services: [
      registerService(CommandService, fakeCommands(probes)),
      registerService(QueryService, fakeQueries(probes)),
    ],
    interceptors: [recording, authInterceptor(createAuthenticator({ jwtSecret: secret }))],
    maxReceiveMessageBytes: 3 * MiB,
    log,
  });
  const port = await bindGrpcServer(server, "127.0.0.1", 0);
  commands = createGrpcClient(CommandService, `127.0.0.1:${port}`);
  queries = createGrpcClient(QueryService, `127.0.0.1:${port}`);
  token = await mintToken({ sub: "user-1", role: "user", secret });
});

afterAll(async () => {
  commands?.close();
  queries?.close();
  if (server) await shutdownGrpcServer(server, 1_000);
});

async function failure(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error("expected the call to fail");
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)),
  ]);
}

describe("unary", () => {
  test("a call succeeds and the handler sees the actor", async () => {
    const response = await commands.call(
      "createUser",
      { options: { commandId: "c-1" }, userId: "user-1", email: "a@example.com", displayName: "A" },
      { token },
    );
    expect(response.result?.commandId).toBe("c-1");
    expect(response.result?.aggregateId).toBe("user-1");
    expect(response.result?.version).toBe(1n);
    expect(response.result?.events).toEqual(["user.created"]);
    expect(response.result?.consistencyToken).toBe("actor:user-1");
  });

  test("no token: UNAUTHENTICATED", async () => {
    const error = await failure(commands.call("createUser", { userId: "user-1" }));
    expect(error.code).toBe(status.UNAUTHENTICATED);
    expect(error.details).toContain("missing token");
  });

  test("violations: INVALID_ARGUMENT listing each, with a google.rpc.BadRequest", async () => {
    const error = await failure(commands.call("updateUserProfile", { userId: "user-1" }, { token }));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toBe("email: must be a valid address; display_name: must be 1..100 characters");
    const raw = error.metadata.get(statusDetailsKey)[0];
    expect(raw).toBeInstanceOf(Buffer);
    const rpcStatus = fromBinary(StatusSchema, raw as Buffer);
    expect(rpcStatus.code).toBe(status.INVALID_ARGUMENT);
    const badRequest = anyUnpack(rpcStatus.details[0]!, BadRequestSchema);
    expect(badRequest?.fieldViolations.map((v) => v.field)).toEqual(["email", "display_name"]);
    expect(parseStatusDetails(error.metadata)).toEqual({
      code: status.INVALID_ARGUMENT,
      message: error.details,
      violations: [
        { field: "email", description: "must be a valid address" },
        { field: "display_name", description: "must be 1..100 characters" },
      ],
    });
  });

  test("a plain Error: INTERNAL with a generic message, the cause only logged", async () => {
    logged.length = 0;
    const error = await failure(commands.call("deleteUser", { userId: "user-1" }, { token }));
    expect(error.code).toBe(status.INTERNAL);
    expect(error.details).toBe("internal error");
    expect(JSON.stringify(error.metadata.getMap())).not.toContain("hunter2");
    const entry = logged[0]?.obj as { err?: unknown } | undefined;
    expect(String(entry?.err)).toContain("hunter2");
  });

  test("a method without a handler: UNIMPLEMENTED", async () => {
    const error = await failure(commands.call("deleteDocument", { documentId: "d-1" }, { token }));
    expect(error.code).toBe(status.UNIMPLEMENTED);
  });

  test("undecodable request bytes: INVALID_ARGUMENT, not INTERNAL", async () => {
    const error = await failure(
      new Promise((resolve, reject) => {
        commands.raw.makeUnaryRequest(
          "/clone.v1.CommandService/CreateUser",
          () => Buffer.from([0x0a, 0xff, 0xff, 0xff]),
          (b: Buffer) => b,
          null,
          (err, value) => (err ? reject(err) : resolve(value)),
        );
      }),
    );
    expect(error.code).toBe(status.INVALID_ARGUMENT);
  });

  test("deadline: the handler's signal aborts and the client gets DEADLINE_EXCEEDED", async () => {
    const seen = new Promise<unknown>((resolve) => {
      probes.onAbort = resolve;
    });
    const error = await failure(
      commands.call("endConversation", { conversationId: "c-1" }, { token, deadline: Date.now() + 200 }),
    );
    expect(error.code).toBe(status.DEADLINE_EXCEEDED);
    const reason = await within(seen, 2_000, "the handler's abort");
    expect(reason).toBeInstanceOf(AppError);
    expect((reason as AppError).code).toBe("DEADLINE_EXCEEDED");
  });

  test("a 2 MiB document passes; over the 3 MiB limit INVALID_ARGUMENT, over twice it RESOURCE_EXHAUSTED", async () => {
    const upload = (bytes: number) =>
      commands.call(
        "uploadDocument",
        {
          documentId: "d-1",
          userId: "user-1",
          contentType: "text/plain",
          content: new Uint8Array(bytes).fill(97),
        },
        { token },
      );
    const ok = await upload(2 * MiB);
    expect(ok.result?.version).toBe(BigInt(2 * MiB));
    const error = await failure(upload(5 * MiB));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toBe(`the request must be at most ${3 * MiB} bytes (the message-size limit)`);
    expect((await failure(upload(7 * MiB))).code).toBe(status.RESOURCE_EXHAUSTED);
  });
});

describe("server streaming", () => {
  test("delivers every message in order and ends", async () => {
    const turns: number[] = [];
    for await (const message of queries.stream(
      "watchConversation",
      { conversationId: "finite" },
      { token },
    )) {
      turns.push(message.turn?.sequence ?? -1);
    }
    expect(turns).toEqual([1, 2, 3]);
  });

  test("interceptors run around streaming calls and can observe the stream", async () => {
    recorded.length = 0;
    await drain(queries.stream("watchConversation", { conversationId: "finite" }, { token }));
    expect(recorded).toEqual([
      "server_streaming clone.v1.QueryService/WatchConversation",
      "WatchConversation ended after 3",
    ]);
  });

  test("no token: UNAUTHENTICATED", async () => {
    const error = await failure(drain(queries.stream("watchConversation", { conversationId: "finite" })));
    expect(error.code).toBe(status.UNAUTHENTICATED);
  });

  test("an error after some messages arrives after them", async () => {
    const got: number[] = [];
    const error = await failure(
      drain(queries.stream("watchConversation", { conversationId: "fails" }, { token }), (m) =>
        got.push(m.turn?.sequence ?? -1),
      ),
    );
    expect(got).toEqual([1]);
    expect(error.code).toBe(status.NOT_FOUND);
  });

  for (const conversationId of ["live-generator", "live-iterator"]) {
    test(`a client cancel closes the handler's iterator (${conversationId})`, async () => {
      const closed = new Promise<void>((resolve) => {
        probes.onClose = resolve;
      });
      const turns: number[] = [];
      for await (const message of queries.stream("watchConversation", { conversationId }, { token })) {
        turns.push(message.turn?.sequence ?? -1);
        if (turns.length === 2) break;
      }
      expect(turns).toEqual([1, 2]);
      await within(closed, 2_000, "the handler's iterator to close");
    });
  }

  test("a slow client holds the producer back (backpressure)", async () => {
    probes.produced = 0;
    const closed = new Promise<void>((resolve) => {
      probes.onClose = resolve;
    });
    for await (const _ of queries.stream("watchConversation", { conversationId: "flood" }, { token })) {
      await Bun.sleep(300);
      break;
    }
    await within(closed, 2_000, "the flood to stop");
    // 64 KiB messages: without backpressure thousands would be produced in 300 ms.
    expect(probes.produced).toBeLessThan(100);
  });
});

async function drain(
  stream: AsyncIterable<WatchConversationResponse>,
  each: (m: WatchConversationResponse) => void = () => {},
): Promise<void> {
  for await (const message of stream) each(message);
}
