/**
 * `bun bench/gateway-stages.bench.ts`: microseconds per call of each step the gateway takes for one
 * RecordConversationTurn, each run alone in a loop (no I/O), to see which steps are worth optimising. The
 * whole-call picture, with gRPC and NATS, is gateway-overhead.bench.ts.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Metadata } from "@grpc/grpc-js";
import { authorizeCommand } from "../src/commands/authorize";
import { buildEnvelope } from "../src/commands/build-envelope";
import { validateCommandRequest } from "../src/commands/validation";
import type { CommandOutcome } from "../src/contracts";
import { idsFromCommandId } from "../src/contracts";
import type { Interceptor, Next } from "../src/gateway";
import { createAuthenticator, createCallContext, metadataToHeaders, mintToken } from "../src/gateway";
import {
  RecordConversationTurnRequestSchema,
  RecordConversationTurnResponseSchema,
} from "../src/gen/clone/v1/command_service_pb";
import { Speaker } from "../src/gen/clone/v1/enums_pb";
import { createMetrics, metricsInterceptor } from "../src/metrics";
import type { SqlClient } from "../src/write-model";
import { createOwnerLookup } from "../src/write-model";
import { OVERHEAD_JWT_SECRET, OVERHEAD_USER_ID } from "./gateway-overhead-shared";

const token = await mintToken({ sub: OVERHEAD_USER_ID, role: "user", secret: OVERHEAD_JWT_SECRET });
const conversationId = crypto.randomUUID();
const request = create(RecordConversationTurnRequestSchema, {
  options: { commandId: crypto.randomUUID() },
  conversationId,
  speaker: Speaker.USER,
  text: "Sure, I remember that trip to Lisbon: the tram up to the castle and the custard tarts in Belem. (1)",
  audioMs: 2_400,
  latencyMs: 180,
});
const requestBytes = toBinary(RecordConversationTurnRequestSchema, request);
const metadata = new Metadata();
metadata.set("authorization", `Bearer ${token}`);
metadata.set("user-agent", "grpc-node-js/1.14.7");
const headers = metadataToHeaders(metadata);
const authenticator = createAuthenticator({ jwtSecret: OVERHEAD_JWT_SECRET });
const actor = await authenticator.authenticate(headers);
const fakeDb: SqlClient = {
  query: (async () => ({ rows: [{ owner: OVERHEAD_USER_ID }] })) as unknown as SqlClient["query"],
};
const ownerOf = createOwnerLookup(fakeDb);
const { command } = validateCommandRequest("RecordConversationTurn", request, idsFromCommandId("x"));
const { envelope } = buildEnvelope(command, { commandId: "c", actor, deadline: Date.now() + 30_000 });
const envelopeJson = JSON.stringify(envelope);
const outcome: CommandOutcome = {
  ok: true,
  result: {
    commandId: "c",
    aggregateId: conversationId,
    version: 3,
    events: ["conversation.turn_recorded"],
    position: "123456",
    duplicate: false,
  },
};
const outcomeBytes = new TextEncoder().encode(JSON.stringify(outcome));

async function time(name: string, fn: () => unknown, iterations = 20_000): Promise<void> {
  for (let i = 0; i < 2_000; i++) await fn();
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) await fn();
  const us = ((performance.now() - t0) * 1000) / iterations;
  console.log(`${name.padEnd(48)} ${us.toFixed(2).padStart(8)} µs`);
}

await time("fromBinary(request)", () => fromBinary(RecordConversationTurnRequestSchema, requestBytes));
await time("metadataToHeaders", () => metadataToHeaders(metadata));
await time("createCallContext + dispose (deadline)", () => {
  const m = createCallContext({
    service: "s",
    method: "m",
    kind: "unary",
    headers,
    deadline: Date.now() + 30_000,
  });
  m.dispose();
});
await time("createCallContext + dispose + cancel", () => {
  const m = createCallContext({
    service: "s",
    method: "m",
    kind: "unary",
    headers,
    deadline: Date.now() + 30_000,
  });
  m.dispose();
  m.cancel();
});
await time("authenticate (HS256)", () => authenticator.authenticate(headers));
await time("validateCommandRequest(RecordConversationTurn)", () =>
  validateCommandRequest("RecordConversationTurn", request, idsFromCommandId("x")),
);
await time("authorizeCommand (owner cached)", () => authorizeCommand(actor, command, ownerOf));
await time("buildEnvelope", () =>
  buildEnvelope(command, { commandId: "c", actor, deadline: Date.now() + 30_000 }),
);
await time("JSON.stringify + encode(envelope)", () => new TextEncoder().encode(JSON.stringify(envelope)));
await time("decode + JSON.parse(outcome)", () => JSON.parse(new TextDecoder().decode(outcomeBytes)));
await time("create + toBinary(response)", () =>
  toBinary(
    RecordConversationTurnResponseSchema,
    create(RecordConversationTurnResponseSchema, {
      result: {
        commandId: "c",
        aggregateId: conversationId,
        version: 3n,
        events: ["conversation.turn_recorded"],
        consistencyToken: "123456",
      },
    }),
  ),
);
await time("AbortSignal.timeout + any + listener", () => {
  const t = AbortSignal.timeout(30_000);
  const s = AbortSignal.any([t, new AbortController().signal]);
  s.addEventListener("abort", () => {}, { once: true });
});
const metricsNext: Next<unknown, unknown> = (
  metricsInterceptor(createMetrics({ role: "gateway" })) as Interceptor
)(async () => ({ kind: "unary", message: 1 }));
const bare: Next<unknown, unknown> = async () => ({ kind: "unary", message: 1 });
const metricsCtx = createCallContext({
  service: "clone.v1.CommandService",
  method: "RecordConversationTurn",
  kind: "unary",
  headers,
  deadline: undefined,
}).ctx;
await time("a bare async next (reference)", () => bare(request, metricsCtx));
await time("metricsInterceptor around it", () => metricsNext(request, metricsCtx));
console.log(`(envelope ${envelopeJson.length} bytes)`);
