/**
 * The HTTP port's plumbing, in process, with fake handlers (the domain is covered by gateway.e2e.test.ts):
 * Connect and gRPC-web calls through the same interceptors as grpc-js, errors with the same codes and a
 * BadRequest detail, streams ended by the client or the deadline, CORS, and the operational endpoints.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import {
  authInterceptor,
  createAuthenticator,
  type GatewayLogger,
  type Interceptor,
  mintToken,
  registerService,
} from "../gateway";
import { fakeCommands, fakeQueries, type Probes } from "../gateway/fakes.testkit";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { QueryService } from "../gen/clone/v1/query_service_pb";
import { BadRequestSchema } from "../gen/google/rpc/error_details_pb";
import type { ReadinessReport } from "../health";
import { corsExposedHeaders } from "./cors";
import { createHttpGateway, type HttpGateway } from "./server";

const secret = "http-test-secret-0123456789abcdef";
const logged: { obj: object; msg: string | undefined }[] = [];
const log: GatewayLogger = {
  error: (obj, msg) => logged.push({ obj, msg }),
  warn: (obj, msg) => logged.push({ obj, msg }),
  info: () => {},
};
const recorded: string[] = [];
const recording: Interceptor = (next) => async (request, ctx) => {
  recorded.push(`${ctx.kind} ${ctx.service}/${ctx.method} deadline=${ctx.deadline !== undefined}`);
  return next(request, ctx);
};

const probes: Probes = { produced: 0 };
let readiness: ReadinessReport = { ready: true, checks: { postgres: { up: true, since: 0 } } };
let gateway: HttpGateway;
let base: string;
let token: string;

beforeAll(async () => {
  gateway = createHttpGateway({
    services: [
      registerService(CommandService, fakeCommands(probes)),
      registerService(QueryService, fakeQueries(probes)),
    ],
    interceptors: [recording, authInterceptor(createAuthenticator({ jwtSecret: secret }))],
    corsOrigins: ["http://allowed.example"],
    maxReceiveMessageBytes: 1024 * 1024,
    metrics: async () => ({ contentType: "text/plain; version=0.0.4", body: "up 1\n" }),
    readiness: () => readiness,
    log,
  });
  base = `http://127.0.0.1:${await gateway.listen("127.0.0.1", 0)}`;
  token = await mintToken({ sub: "user-1", role: "user", secret });
});

afterAll(() => gateway?.close(1_000));

const transports: Record<string, () => Transport> = {
  connect: () => createConnectTransport({ baseUrl: base, httpVersion: "1.1" }),
  "grpc-web": () => createGrpcWebTransport({ baseUrl: base, httpVersion: "1.1" }),
};

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the call to fail");
}

for (const [protocol, transport] of Object.entries(transports)) {
  describe(`over ${protocol}`, () => {
    const auth = () => ({ headers: { authorization: `Bearer ${token}` } });

    test("a unary call runs the interceptors and sees the caller", async () => {
      const client = createClient(CommandService, transport());
      const response = await client.createUser({ userId: "u1", options: { commandId: "c1" } }, auth());
      expect(response.result).toMatchObject({
        aggregateId: "u1",
        commandId: "c1",
        consistencyToken: "actor:user-1",
      });
      expect(recorded).toContain("unary clone.v1.CommandService/CreateUser deadline=false");
    });

    test("no token: UNAUTHENTICATED, as over gRPC", async () => {
      const client = createClient(CommandService, transport());
      const error = await failure(client.createUser({ userId: "u1" }));
      expect(error.code).toBe(Code.Unauthenticated);
      expect(error.rawMessage).toContain("missing token");
    });

    test("violations: INVALID_ARGUMENT, the joined message, and a google.rpc.BadRequest detail", async () => {
      const client = createClient(CommandService, transport());
      const error = await failure(client.updateUserProfile({ userId: "u1" }, auth()));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.rawMessage).toBe(
        "email: must be a valid address; display_name: must be 1..100 characters",
      );
      const [badRequest] = error.findDetails(BadRequestSchema);
      expect(badRequest?.fieldViolations.map((v) => v.field)).toEqual(["email", "display_name"]);
    });

    test("an unexpected error is INTERNAL with a generic message; the cause is logged, not sent", async () => {
      const client = createClient(CommandService, transport());
      const error = await failure(client.deleteUser({ userId: "u1" }, auth()));
      expect(error.code).toBe(Code.Internal);
      expect(error.rawMessage).toBe("internal error");
      expect(JSON.stringify(error.metadata)).not.toContain("hunter2");
      expect(logged.some((l) => l.msg === "rpc failed")).toBe(true);
    });

    test("the deadline reaches the handler: DEADLINE_EXCEEDED", async () => {
      const client = createClient(CommandService, transport());
      let seen: unknown;
      probes.onAbort = (reason) => {
        seen = reason;
      };
      const error = await failure(
        client.endConversation({ conversationId: "c" }, { ...auth(), timeoutMs: 300 }),
      );
      expect(error.code).toBe(Code.DeadlineExceeded);
      await Bun.sleep(50);
      expect(String(seen)).toContain("deadline");
      expect(recorded).toContain("unary clone.v1.CommandService/EndConversation deadline=true");
    });

    test("a server stream is delivered in order and ends; an error after messages arrives after them", async () => {
      const client = createClient(QueryService, transport());
      const turns: number[] = [];
      for await (const m of client.watchConversation({ conversationId: "finite" }, auth())) {
        turns.push(m.turn?.sequence ?? 0);
      }
      expect(turns).toEqual([1, 2, 3]);
      const got: number[] = [];
      const error = await failure(
        (async () => {
          for await (const m of client.watchConversation({ conversationId: "fails" }, auth())) {
            got.push(m.turn?.sequence ?? 0);
          }
        })(),
      );
      expect(got).toEqual([1]);
      expect(error.code).toBe(Code.NotFound);
    });

    test("a client leaving a live stream closes the handler's iterator", async () => {
      const client = createClient(QueryService, transport());
      const closed = new Promise<void>((resolve) => {
        probes.onClose = resolve;
      });
      const controller = new AbortController();
      const got: number[] = [];
      await failure(
        (async () => {
          for await (const m of client.watchConversation(
            { conversationId: "live-iterator" },
            { ...auth(), signal: controller.signal },
          )) {
            got.push(m.turn?.sequence ?? 0);
            if (got.length === 3) controller.abort();
          }
        })(),
      );
      expect(got).toEqual([1, 2, 3]);
      await closed;
    });
  });
}

describe("CORS", () => {
  test("a preflight from an allowed origin lists the methods and headers gRPC-web and Connect need", async () => {
    const response = await fetch(`${base}/clone.v1.CommandService/CreateUser`, {
      method: "OPTIONS",
      headers: {
        origin: "http://allowed.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type,x-grpc-web,x-user-agent",
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("http://allowed.example");
    expect(response.headers.get("access-control-allow-methods")).toContain("POST");
    const allowed = (response.headers.get("access-control-allow-headers") ?? "").toLowerCase();
    for (const h of [
      "authorization",
      "content-type",
      "x-grpc-web",
      "x-user-agent",
      "grpc-timeout",
      "connect-protocol-version",
    ]) {
      expect(allowed).toContain(h);
    }
    expect(response.headers.get("vary")).toContain("Origin");
  });

  test("a preflight from another origin gets no allow headers", async () => {
    const response = await fetch(`${base}/clone.v1.CommandService/CreateUser`, {
      method: "OPTIONS",
      headers: { origin: "http://evil.example", "access-control-request-method": "POST" },
    });
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    expect(response.headers.get("access-control-allow-headers")).toBeNull();
  });

  test("an actual call exposes grpc-status, grpc-message and grpc-status-details-bin", async () => {
    const response = await fetch(`${base}/clone.v1.CommandService/CreateUser`, {
      method: "POST",
      headers: {
        origin: "http://allowed.example",
        "content-type": "application/grpc-web+proto",
        "x-grpc-web": "1",
      },
      body: new Uint8Array([0, 0, 0, 0, 0]),
    });
    expect(response.headers.get("access-control-allow-origin")).toBe("http://allowed.example");
    const exposed = (response.headers.get("access-control-expose-headers") ?? "").toLowerCase();
    for (const h of ["grpc-status", "grpc-message", "grpc-status-details-bin"]) expect(exposed).toContain(h);
    expect(corsExposedHeaders.map((h) => h.toLowerCase())).toContain("grpc-status-details-bin");
    await response.arrayBuffer();
  });
});

describe("operational endpoints", () => {
  test("/healthz is 200 while the process runs", async () => {
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
  });

  test("/readyz is 200 when ready, 503 naming what is down otherwise", async () => {
    const ok = await fetch(`${base}/readyz`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: "ready", down: [] });
    readiness = {
      ready: false,
      checks: { postgres: { up: false, error: "ECONNREFUSED", since: 0 }, nats: { up: true, since: 0 } },
    };
    const down = await fetch(`${base}/readyz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ status: "not ready", down: ["postgres"] });
  });

  test("/metrics serves what the metrics source renders, with its content type", async () => {
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4");
    expect(await response.text()).toBe("up 1\n");
  });

  test("an unknown path is 404", async () => {
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});
