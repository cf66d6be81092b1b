/**
 * Child-process entry of the peer behind gRPC: a grpc-js server (built with the gateway's `createGrpcServer`
 * over the CommandService descriptor, as the echo baseline is) whose CreateUser and RecordConversationTurn
 * handlers verify the caller's HS256 token (jose) and call the Emmett peer (emmett-peer.ts), as a one-process
 * service a team would write would. Run as `bun bench/emmett-server.ts <postgres url> <jwt secret>`; prints
 * `{"msg":"emmett listening","port":N}`.
 */
import { isExpectedVersionConflictError } from "@event-driven-io/emmett";
import { jwtVerify } from "jose";
import pino from "pino";
import { AppError } from "../src/errors";
import { bindGrpcServer, type CallContext, createGrpcServer, registerService } from "../src/gateway";
import { CommandService } from "../src/gen/clone/v1/command_service_pb";
import { createEmmettPeer } from "./emmett-peer";

const [url, secret] = process.argv.slice(2);
if (!url || !secret) throw new Error("usage: emmett-server.ts <postgres url> <jwt secret>");
const key = new TextEncoder().encode(secret);
const peer = createEmmettPeer(url);
await peer.migrate();

async function authenticate(ctx: CallContext): Promise<void> {
  const token = ctx.headers.get("authorization")?.replace(/^Bearer /i, "");
  if (!token) throw new AppError("UNAUTHENTICATED", "no token");
  await jwtVerify(token, key, { algorithms: ["HS256"] }).catch((error: unknown) => {
    throw new AppError("UNAUTHENTICATED", "bad token", { cause: error });
  });
}

/** A version conflict left after Emmett's retries is the caller's to retry (ABORTED), not INTERNAL. */
async function handled<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isExpectedVersionConflictError(error))
      throw new AppError("ABORTED", "version conflict", { cause: error });
    throw error;
  }
}

const server = createGrpcServer({
  log: pino({ name: "emmett-server" }, pino.destination(2)),
  services: [
    registerService(CommandService, {
      createUser: async (request, ctx) => {
        await authenticate(ctx);
        const userId = request.userId || crypto.randomUUID();
        const version = await handled(() => peer.createUser(userId, request.email, request.displayName));
        const commandId = request.options?.commandId ?? "";
        return { result: { commandId, aggregateId: userId, version, events: ["user.created"] } };
      },
      recordConversationTurn: async (request, ctx) => {
        await authenticate(ctx);
        const version = await handled(() => peer.recordTurn(request));
        const commandId = request.options?.commandId ?? "";
        const events = ["conversation.turn_recorded"];
        return { result: { commandId, aggregateId: request.conversationId, version, events } };
      },
    }),
  ],
  maxReceiveMessageBytes: 4 * 1024 * 1024,
});
const port = await bindGrpcServer(server, "127.0.0.1", 0);
console.log(JSON.stringify({ msg: "emmett listening", port }));
process.on("SIGTERM", () => server.tryShutdown(() => void peer.close().finally(() => process.exit(0))));
