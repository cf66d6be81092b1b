/**
 * The gateway's HTTP port, health and reflection end to end on the real tier (gateway, worker, relay and
 * consistency processes on Postgres + JetStream): commands and queries over Connect and gRPC-web, errors
 * with their BadRequest details, WatchConversation streamed over gRPC-web, CORS, /healthz and /readyz,
 * grpc.health.v1.Health over grpc-js (Check, and Watch following a Postgres outage simulated by a TCP proxy
 * the test cuts and restores), and server reflection with a real bidi client.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { create, createFileRegistry, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { Client, credentials, Metadata } from "@grpc/grpc-js";
import { createGrpcClient, grpcMethodDefinition, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { Speaker } from "../gen/clone/v1/enums_pb";
import { QueryService } from "../gen/clone/v1/query_service_pb";
import { BadRequestSchema } from "../gen/google/rpc/error_details_pb";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb";
import {
  ServerReflection,
  type ServerReflectionRequest,
  ServerReflectionRequestSchema,
  type ServerReflectionResponse,
  ServerReflectionResponseSchema,
} from "../gen/grpc/reflection/v1/reflection_pb";
import { createTestStack, type TestStack } from "../testing";
import { startTcpProxy, type TcpProxy } from "../testing/tcp-proxy";

const secret = "http-e2e-secret-0123456789abcdef";
const appOrigin = "http://app.example";
let stack: TestStack;
let proxy: TcpProxy;
let httpBase: string;
let grpcAddress: string;
let proxiedGrpcAddress: string;
let proxiedHttpBase: string;
const ada = crypto.randomUUID();
const bob = crypto.randomUUID();
let adaToken: string;
let bobToken: string;

beforeAll(async () => {
  stack = await createTestStack({ AUTH_JWT_SECRET: secret, CORS_ORIGINS: appOrigin, OUTBOX_POLL_MS: "200" });
  for (const role of ["worker", "relay", "consistency"] as const) await stack.start(role);
  ({ grpc: grpcAddress, http: httpBase } = await stack.addresses(await stack.start("gateway")));

  // A second gateway reaching Postgres through a proxy the test can cut.
  const pgUrl = new URL(stack.db.url);
  proxy = startTcpProxy(pgUrl.hostname, Number(pgUrl.port || 5432));
  pgUrl.hostname = "127.0.0.1";
  pgUrl.port = String(proxy.port);
  const proxied = await stack.start("gateway", { DATABASE_URL: pgUrl.toString() });
  ({ grpc: proxiedGrpcAddress, http: proxiedHttpBase } = await stack.addresses(proxied));

  adaToken = await mintToken({ sub: ada, role: "user", secret });
  bobToken = await mintToken({ sub: bob, role: "user", secret });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  proxy?.close();
});

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the call to fail");
}

describe("the API over the HTTP port", () => {
  test("Connect: CreateUser, then GetUserProfile reading that write", async () => {
    const transport = createConnectTransport({ baseUrl: httpBase, httpVersion: "1.1" });
    const commands = createClient(CommandService, transport);
    const queries = createClient(QueryService, transport);
    const created = await commands.createUser(
      { userId: ada, email: "ada@example.com", displayName: "Ada" },
      bearer(adaToken),
    );
    expect(created.result).toMatchObject({ aggregateId: ada, version: 1n, events: ["user.created"] });
    const { profile } = await queries.getUserProfile(
      { userId: ada, options: { minConsistencyToken: created.result?.consistencyToken ?? "" } },
      bearer(adaToken),
    );
    expect(profile).toMatchObject({ userId: ada, email: "ada@example.com", displayName: "Ada" });
  });

  test("gRPC-web: CreateUser and GetUserProfile", async () => {
    const transport = createGrpcWebTransport({ baseUrl: httpBase, httpVersion: "1.1" });
    const commands = createClient(CommandService, transport);
    const queries = createClient(QueryService, transport);
    const created = await commands.createUser(
      { userId: bob, email: "bob@example.com", displayName: "Bob" },
      bearer(bobToken),
    );
    const { profile, meta } = await queries.getUserProfile(
      { userId: bob, options: { minConsistencyToken: created.result?.consistencyToken ?? "" } },
      bearer(bobToken),
    );
    expect(profile?.displayName).toBe("Bob");
    expect(meta?.consistencyToken).not.toBe("");
  });

  for (const [protocol, transport] of [
    ["gRPC-web", () => createGrpcWebTransport({ baseUrl: httpBase, httpVersion: "1.1" })],
    ["Connect", () => createConnectTransport({ baseUrl: httpBase, httpVersion: "1.1" })],
  ] as const) {
    test(`${protocol}: validation errors are INVALID_ARGUMENT with every violation in a BadRequest`, async () => {
      const commands = createClient(CommandService, transport());
      const error = await failure(
        commands.createUser({ userId: ada, email: "not an email", displayName: "" }, bearer(adaToken)),
      );
      expect(error.code).toBe(Code.InvalidArgument);
      const [badRequest] = error.findDetails(BadRequestSchema);
      const fields = badRequest?.fieldViolations.map((v) => v.field) ?? [];
      expect(fields).toEqual(expect.arrayContaining(["email", "display_name"]));
      expect(error.rawMessage.split("; ")).toHaveLength(fields.length);
    });
  }

  test("the same codes as over gRPC: UNAUTHENTICATED, PERMISSION_DENIED, ALREADY_EXISTS", async () => {
    const commands = createClient(
      CommandService,
      createGrpcWebTransport({ baseUrl: httpBase, httpVersion: "1.1" }),
    );
    expect((await failure(commands.deleteUser({ userId: ada }))).code).toBe(Code.Unauthenticated);
    expect((await failure(commands.deleteUser({ userId: ada }, bearer(bobToken)))).code).toBe(
      Code.PermissionDenied,
    );
    const taken = await failure(
      commands.createUser({ userId: ada, email: "ada@example.com", displayName: "Ada" }, bearer(adaToken)),
    );
    expect(taken.code).toBe(Code.AlreadyExists);
  });

  test("gRPC-web: WatchConversation streams past and live turns and ends with the conversation", async () => {
    const transport = createGrpcWebTransport({ baseUrl: httpBase, httpVersion: "1.1" });
    const commands = createClient(CommandService, transport);
    const queries = createClient(QueryService, transport);
    const started = await commands.startConversation({ userId: ada }, bearer(adaToken));
    const conversationId = started.result?.aggregateId ?? "";
    const turn = (text: string) =>
      commands.recordConversationTurn(
        { conversationId, speaker: Speaker.USER, text, audioMs: 10, latencyMs: 1 },
        bearer(adaToken),
      );
    await turn("before 1");
    await turn("before 2");
    const seen: string[] = [];
    const watching = (async () => {
      for await (const r of queries.watchConversation(
        { conversationId, afterSequence: 0 },
        bearer(adaToken),
      )) {
        seen.push(`${r.turn?.sequence}:${r.turn?.text}`);
      }
    })();
    while (seen.length < 2) await Bun.sleep(20);
    await turn("live 3");
    await turn("live 4");
    await commands.endConversation({ conversationId }, bearer(adaToken));
    await watching;
    expect(seen).toEqual(["1:before 1", "2:before 2", "3:live 3", "4:live 4"]);
  });
});

describe("CORS on the HTTP port", () => {
  test("the configured origin gets a preflight answer and exposed gRPC status headers", async () => {
    const preflight = await fetch(`${httpBase}/clone.v1.QueryService/GetUserProfile`, {
      method: "OPTIONS",
      headers: {
        origin: appOrigin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type,x-grpc-web,x-user-agent",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(appOrigin);
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    const call = await fetch(`${httpBase}/clone.v1.QueryService/GetUserProfile`, {
      method: "POST",
      headers: { origin: appOrigin, "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
      body: new Uint8Array([0, 0, 0, 0, 0]),
    });
    // gRPC-web sends the status in a trailer frame at the end of the body.
    expect(new TextDecoder().decode(await call.arrayBuffer())).toMatch(/grpc-status:\s*16/);
    expect(call.headers.get("access-control-expose-headers")?.toLowerCase()).toContain(
      "grpc-status-details-bin",
    );
  });

  test("another origin is not allowed", async () => {
    const preflight = await fetch(`${httpBase}/clone.v1.QueryService/GetUserProfile`, {
      method: "OPTIONS",
      headers: { origin: "http://evil.example", "access-control-request-method": "POST" },
    });
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("health", () => {
  test("/healthz is 200 and /readyz is 200 with Postgres and NATS up", async () => {
    expect((await fetch(`${httpBase}/healthz`)).status).toBe(200);
    const ready = await fetch(`${httpBase}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: "ready",
      checks: { postgres: { up: true }, nats: { up: true } },
    });
  });

  test("grpc.health.v1.Health Check over gRPC, without a token: overall and per service", async () => {
    const health = createGrpcClient(Health, grpcAddress);
    try {
      for (const service of ["", "clone.v1.CommandService", "clone.v1.QueryService"]) {
        expect((await health.call("check", { service })).status).toBe(ServingStatus.SERVING);
      }
      const unknown = await health
        .call("check", { service: "no.Such" })
        .catch((e: { code: number }) => e.code);
      expect(unknown).toBe(5); // NOT_FOUND
    } finally {
      health.close();
    }
  });

  test("Health Check over gRPC-web too", async () => {
    const health = createClient(Health, createGrpcWebTransport({ baseUrl: httpBase, httpVersion: "1.1" }));
    expect((await health.check({ service: "clone.v1.QueryService" })).status).toBe(ServingStatus.SERVING);
  });

  test("Watch goes NOT_SERVING within a second of losing Postgres, and SERVING once it is back", async () => {
    const health = createGrpcClient(Health, proxiedGrpcAddress);
    const controller = new AbortController();
    const statuses: { status: ServingStatus; at: number }[] = [];
    const watching = (async () => {
      for await (const r of health.stream("watch", { service: "" }, { signal: controller.signal })) {
        statuses.push({ status: r.status, at: performance.now() });
      }
    })().catch(() => {});
    const waitFor = async (status: ServingStatus, after: number, timeoutMs: number) => {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const hit = statuses.find((s) => s.status === status && s.at >= after);
        if (hit) return hit.at - after;
        if (performance.now() > deadline)
          throw new Error(`no ${ServingStatus[status]} within ${timeoutMs} ms`);
        await Bun.sleep(10);
      }
    };
    try {
      await waitFor(ServingStatus.SERVING, 0, 5_000);
      const cutAt = performance.now();
      proxy.cut();
      expect(await waitFor(ServingStatus.NOT_SERVING, cutAt, 3_000)).toBeLessThan(1_000);
      const down = await fetch(`${proxiedHttpBase}/readyz`);
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({ status: "not ready", down: ["postgres"] });
      const check = createGrpcClient(Health, proxiedGrpcAddress);
      expect((await check.call("check", { service: "clone.v1.CommandService" })).status).toBe(
        ServingStatus.NOT_SERVING,
      );
      check.close();

      const restoredAt = performance.now();
      proxy.restore();
      expect(await waitFor(ServingStatus.SERVING, restoredAt, 5_000)).toBeLessThan(3_000);
      expect((await fetch(`${proxiedHttpBase}/readyz`)).status).toBe(200);
    } finally {
      proxy.restore();
      controller.abort();
      await watching;
      health.close();
    }
  });
});

describe("server reflection (grpc.reflection.v1, bidi streaming)", () => {
  /** Sends each request on one bidi stream and collects the answers, as grpcurl does. */
  async function reflect(
    requests: Partial<Pick<ServerReflectionRequest, "messageRequest">>[],
    servicePath?: string,
  ): Promise<ServerReflectionResponse[]> {
    const client = new Client(grpcAddress, credentials.createInsecure());
    const def = grpcMethodDefinition(ServerReflection.method.serverReflectionInfo);
    try {
      const call = client.makeBidiStreamRequest(
        servicePath ?? def.path,
        (m: ServerReflectionRequest) => Buffer.from(toBinary(ServerReflectionRequestSchema, m)),
        (b: Buffer) => fromBinary(ServerReflectionResponseSchema, b),
        new Metadata(),
      );
      const answers: ServerReflectionResponse[] = [];
      const done = new Promise<void>((resolve, reject) => {
        call.on("data", (m: ServerReflectionResponse) => answers.push(m));
        call.on("error", reject);
        call.on("end", resolve);
      });
      for (const r of requests) call.write(create(ServerReflectionRequestSchema, r));
      call.end();
      await done;
      return answers;
    } finally {
      client.close();
    }
  }

  test("list_services, then file_containing_symbol on the same stream, without a token", async () => {
    const [list, file] = await reflect([
      { messageRequest: { case: "listServices", value: "" } },
      { messageRequest: { case: "fileContainingSymbol", value: "clone.v1.CommandService" } },
    ]);
    expect(list?.messageResponse.case).toBe("listServicesResponse");
    const names =
      list?.messageResponse.case === "listServicesResponse"
        ? list.messageResponse.value.service.map((s) => s.name)
        : [];
    expect(names).toEqual(
      expect.arrayContaining([
        "clone.v1.CommandService",
        "clone.v1.QueryService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
      ]),
    );
    if (file?.messageResponse.case !== "fileDescriptorResponse") throw new Error("no descriptors");
    const protos = file.messageResponse.value.fileDescriptorProto.map((b) =>
      fromBinary(FileDescriptorProtoSchema, b),
    );
    expect(protos[0]?.name).toBe("clone/v1/command_service.proto");
    const placed = new Set<string>();
    const ordered = [];
    while (ordered.length < protos.length) {
      const next = protos.find((p) => !placed.has(p.name) && p.dependency.every((d) => placed.has(d)));
      if (next === undefined) throw new Error("an import is missing");
      ordered.push(next);
      placed.add(next.name);
    }
    const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: ordered }));
    expect(registry.getService("clone.v1.CommandService")?.methods.length).toBe(
      CommandService.methods.length,
    );
  });

  test("the v1alpha service answers too; an unknown symbol is a NOT_FOUND error response", async () => {
    const [answer] = await reflect(
      [{ messageRequest: { case: "fileContainingSymbol", value: "no.such.Symbol" } }],
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    );
    expect(answer?.messageResponse).toMatchObject({ case: "errorResponse", value: { errorCode: 5 } });
  });
});
