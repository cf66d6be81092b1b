/**
 * CommandService end to end: real gateway and worker processes on the real tier (Postgres + NATS JetStream),
 * called with a real gRPC client. Every RPC's success, and each error code of API.md.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ServiceError, status as Status } from "@grpc/grpc-js";
import { createGrpcClient, type GrpcClient, mintToken, parseStatusDetails } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { Speaker } from "../gen/clone/v1/enums_pb";
import { createTestStack, type TestDatabase, type TestStack } from "../testing";

const secret = "e2e-secret-0123456789abcdef";
let stack: TestStack;
let db: TestDatabase;
let client: GrpcClient<typeof CommandService>;
let admin: string;
let service: string;
const ada = crypto.randomUUID();
const bob = crypto.randomUUID();
let adaToken: string;
let bobToken: string;

beforeAll(async () => {
  stack = await createTestStack({ AUTH_JWT_SECRET: secret });
  db = stack.db;
  await stack.start("worker");
  const gateway = await stack.addresses(await stack.start("gateway"));
  client = createGrpcClient(CommandService, gateway.grpc);
  admin = await mintToken({ sub: "ops", role: "admin", secret });
  service = await mintToken({ sub: "trainer", role: "service", secret });
  adaToken = await mintToken({ sub: ada, role: "user", secret });
  bobToken = await mintToken({ sub: bob, role: "user", secret });
}, 60_000);

afterAll(async () => {
  client?.close();
  await stack?.stop();
});

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string; fields: string[] }> {
  try {
    await p;
  } catch (e) {
    const err = e as ServiceError;
    const details = parseStatusDetails(err.metadata);
    return {
      code: Status[err.code] as string,
      message: err.details,
      fields: details?.violations.map((v) => v.field) ?? [],
    };
  }
  throw new Error("expected the call to fail");
}

describe("CommandService over gRPC (gateway and worker processes, Postgres, JetStream)", () => {
  test("CreateUser: a user creates itself; the result carries id, version, events and a token", async () => {
    const r = await client.call(
      "createUser",
      { userId: ada, email: "ada@example.com", displayName: "Ada" },
      { token: adaToken },
    );
    expect(r.result).toMatchObject({
      aggregateId: ada,
      version: 1n,
      events: ["user.created"],
      duplicate: false,
    });
    expect(r.result?.commandId).not.toBe("");
    expect(r.result?.consistencyToken).toStartWith("c1.");
    await client.call(
      "createUser",
      { userId: bob, email: "bob@example.com", displayName: "Bob" },
      { token: bobToken },
    );
  });

  test("CreateUser: generated id when empty (admin), and the same command id gives the same id again", async () => {
    const req = { options: { commandId: "gen-id-1" }, email: "gen@example.com", displayName: "Gen" };
    const first = await client.call("createUser", req, { token: admin });
    const again = await client.call("createUser", req, { token: admin });
    expect(first.result?.aggregateId).toMatch(/^[0-9a-f-]{36}$/);
    expect(again.result).toMatchObject({ aggregateId: first.result?.aggregateId, duplicate: true });
  });

  test("UNAUTHENTICATED without a token or with a bad one", async () => {
    expect(
      (await failure(client.call("createUser", { email: "x@example.com", displayName: "X" }))).code,
    ).toBe("UNAUTHENTICATED");
    const forged = await mintToken({ sub: ada, role: "admin", secret: "another-secret-0123456789" });
    expect((await failure(client.call("deleteUser", { userId: ada }, { token: forged }))).code).toBe(
      "UNAUTHENTICATED",
    );
    const expired = await mintToken({ sub: ada, role: "user", secret, expiresIn: -10 });
    expect((await failure(client.call("deleteUser", { userId: ada }, { token: expired }))).code).toBe(
      "UNAUTHENTICATED",
    );
  });

  test("INVALID_ARGUMENT lists every violation and carries google.rpc.BadRequest", async () => {
    const f = await failure(
      client.call("createUser", { email: "not-an-email", displayName: "" }, { token: admin }),
    );
    expect(f.code).toBe("INVALID_ARGUMENT");
    expect(f.fields.sort()).toEqual(["display_name", "email"]);
    expect(f.message).toContain("; ");
  });

  test("PERMISSION_DENIED: a user acting for another, or recording training results", async () => {
    expect(
      (
        await failure(
          client.call("updateUserProfile", { userId: bob, displayName: "B" }, { token: adaToken }),
        )
      ).code,
    ).toBe("PERMISSION_DENIED");
    const vm = crypto.randomUUID();
    await client.call(
      "registerVoiceModel",
      { voiceModelId: vm, userId: ada, name: "mine", sampleSeconds: 12 },
      { token: adaToken },
    );
    const f = await failure(
      client.call(
        "completeVoiceModelTraining",
        { voiceModelId: vm, succeeded: true, qualityScore: 0.8 },
        { token: adaToken },
      ),
    );
    expect(f.code).toBe("PERMISSION_DENIED");
    expect(
      (await failure(client.call("activateVoiceModel", { voiceModelId: vm }, { token: bobToken }))).code,
    ).toBe("PERMISSION_DENIED");
  });

  test("ALREADY_EXISTS for a taken email (any case) and a used id", async () => {
    expect(
      (
        await failure(
          client.call("createUser", { email: "ADA@example.com", displayName: "Other" }, { token: admin }),
        )
      ).code,
    ).toBe("ALREADY_EXISTS");
    expect(
      (
        await failure(
          client.call(
            "createUser",
            { userId: ada, email: "z@example.com", displayName: "Z" },
            { token: admin },
          ),
        )
      ).code,
    ).toBe("ALREADY_EXISTS");
  });

  test("UpdateUserProfile and ABORTED on a wrong expected_version", async () => {
    const r = await client.call(
      "updateUserProfile",
      { userId: ada, displayName: "Ada L." },
      { token: adaToken },
    );
    expect(r.result).toMatchObject({ version: 2n, events: ["user.profile_updated"] });
    const f = await failure(
      client.call(
        "updateUserProfile",
        { options: { expectedVersion: 1n }, userId: ada, displayName: "Nope" },
        { token: adaToken },
      ),
    );
    expect(f.code).toBe("ABORTED");
  });

  test("INVALID_ARGUMENT for a command id reused with another payload", async () => {
    await client.call(
      "updateUserProfile",
      { options: { commandId: "reuse-1" }, userId: ada, displayName: "A1" },
      { token: adaToken },
    );
    const f = await failure(
      client.call(
        "updateUserProfile",
        { options: { commandId: "reuse-1" }, userId: ada, displayName: "A2" },
        { token: adaToken },
      ),
    );
    expect(f.code).toBe("INVALID_ARGUMENT");
  });

  test("voice and face models: register, complete (service), activate; FAILED_PRECONDITION before training", async () => {
    for (const kind of ["voice", "face"] as const) {
      const id = crypto.randomUUID();
      const reg =
        kind === "voice"
          ? await client.call(
              "registerVoiceModel",
              { voiceModelId: id, userId: ada, name: "v", sampleSeconds: 30 },
              { token: adaToken },
            )
          : await client.call(
              "registerFaceModel",
              { faceModelId: id, userId: ada, name: "f", sampleSeconds: 30 },
              { token: adaToken },
            );
      expect(reg.result?.events).toEqual([`${kind}_model.registered`]);
      const early =
        kind === "voice"
          ? failure(client.call("activateVoiceModel", { voiceModelId: id }, { token: adaToken }))
          : failure(client.call("activateFaceModel", { faceModelId: id }, { token: adaToken }));
      expect((await early).code).toBe("FAILED_PRECONDITION");
      const done =
        kind === "voice"
          ? await client.call(
              "completeVoiceModelTraining",
              { voiceModelId: id, succeeded: true, qualityScore: 0.9 },
              { token: service },
            )
          : await client.call(
              "completeFaceModelTraining",
              { faceModelId: id, succeeded: true, qualityScore: 0.9 },
              { token: service },
            );
      expect(done.result?.events).toEqual([`${kind}_model.trained`]);
      const act =
        kind === "voice"
          ? await client.call("activateVoiceModel", { voiceModelId: id }, { token: adaToken })
          : await client.call("activateFaceModel", { faceModelId: id }, { token: adaToken });
      expect(act.result?.events).toEqual([`${kind}_model.activated`]);
    }
    const failed = crypto.randomUUID();
    await client.call(
      "registerVoiceModel",
      { voiceModelId: failed, userId: ada, name: "bad", sampleSeconds: 1 },
      { token: adaToken },
    );
    const r = await client.call(
      "completeVoiceModelTraining",
      { voiceModelId: failed, succeeded: false, failureReason: "too noisy" },
      { token: service },
    );
    expect(r.result?.events).toEqual(["voice_model.training_failed"]);
  });

  test("NOT_FOUND for a missing aggregate and for a missing referenced user", async () => {
    expect(
      (
        await failure(
          client.call("activateVoiceModel", { voiceModelId: crypto.randomUUID() }, { token: admin }),
        )
      ).code,
    ).toBe("NOT_FOUND");
    expect(
      (
        await failure(
          client.call(
            "registerFaceModel",
            { userId: crypto.randomUUID(), name: "x", sampleSeconds: 3 },
            { token: admin },
          ),
        )
      ).code,
    ).toBe("NOT_FOUND");
    expect(
      (
        await failure(
          client.call(
            "startConversation",
            { userId: ada, voiceModelId: crypto.randomUUID() },
            { token: adaToken },
          ),
        )
      ).code,
    ).toBe("NOT_FOUND");
  });

  test("documents: a 2 MiB upload passes, a 5 MiB one is refused cleanly, delete works", async () => {
    const big = new Uint8Array(2 * 1024 * 1024).fill(0x61);
    const up = await client.call(
      "uploadDocument",
      { userId: ada, title: "big", contentType: "text/plain", content: big },
      { token: adaToken },
    );
    expect(up.result?.events).toEqual(["document.uploaded"]);
    const stored = await db.pool.query("SELECT size_bytes FROM documents WHERE id = $1", [
      up.result?.aggregateId,
    ]);
    expect(stored.rows[0].size_bytes).toBe(big.length);
    const huge = await failure(
      client.call(
        "uploadDocument",
        { userId: ada, title: "huge", contentType: "text/plain", content: new Uint8Array(5 * 1024 * 1024) },
        { token: adaToken },
      ),
    );
    expect(["RESOURCE_EXHAUSTED", "INVALID_ARGUMENT"]).toContain(huge.code);
    const bad = await failure(
      client.call(
        "uploadDocument",
        { userId: ada, title: "x", contentType: "image/png", content: new Uint8Array(3) },
        { token: adaToken },
      ),
    );
    expect(bad.code).toBe("INVALID_ARGUMENT");
    const del = await client.call(
      "deleteDocument",
      { documentId: up.result?.aggregateId ?? "" },
      { token: adaToken },
    );
    expect(del.result?.events).toEqual(["document.deleted"]);
    expect(
      (
        await failure(
          client.call("deleteDocument", { documentId: up.result?.aggregateId ?? "" }, { token: adaToken }),
        )
      ).code,
    ).toBe("NOT_FOUND");
  });

  test("RecordDocumentProcessing: service only; records chunks once, then FAILED_PRECONDITION", async () => {
    const up = await client.call(
      "uploadDocument",
      {
        userId: ada,
        title: "notes",
        contentType: "text/plain",
        content: new TextEncoder().encode("a b c d"),
      },
      { token: adaToken },
    );
    const documentId = up.result?.aggregateId ?? "";
    const request = { documentId, succeeded: true, chunks: ["a b", "c d"], wordCount: 4 };
    expect((await failure(client.call("recordDocumentProcessing", request, { token: adaToken }))).code).toBe(
      "PERMISSION_DENIED",
    );
    const done = await client.call("recordDocumentProcessing", request, { token: service });
    expect(done.result?.events).toEqual(["document.processed"]);
    const chunks = await db.pool.query(
      "SELECT count(*)::int AS n FROM document_chunks WHERE document_id = $1",
      [documentId],
    );
    expect(chunks.rows[0].n).toBe(2);
    expect((await failure(client.call("recordDocumentProcessing", request, { token: service }))).code).toBe(
      "FAILED_PRECONDITION",
    );
  });

  test("conversations: start with the active models, turns 1..n, end, FAILED_PRECONDITION after", async () => {
    const start = await client.call("startConversation", { userId: ada }, { token: adaToken });
    const conversationId = start.result?.aggregateId ?? "";
    const row = await db.pool.query("SELECT voice_model_id, face_model_id FROM conversations WHERE id = $1", [
      conversationId,
    ]);
    expect(row.rows[0].voice_model_id).not.toBeNull();
    expect(row.rows[0].face_model_id).not.toBeNull();
    for (let i = 0; i < 3; i++) {
      await client.call(
        "recordConversationTurn",
        {
          conversationId,
          speaker: i % 2 ? Speaker.CLONE : Speaker.USER,
          text: `hello ${i}`,
          audioMs: 100,
          latencyMs: 20,
        },
        { token: adaToken },
      );
    }
    const end = await client.call("endConversation", { conversationId }, { token: adaToken });
    expect(end.result).toMatchObject({ version: 5n, events: ["conversation.ended"] });
    const late = await failure(
      client.call(
        "recordConversationTurn",
        { conversationId, speaker: Speaker.USER, text: "late", audioMs: 1, latencyMs: 1 },
        { token: adaToken },
      ),
    );
    expect(late.code).toBe("FAILED_PRECONDITION");
    const turns = await db.pool.query(
      "SELECT sequence FROM turns WHERE conversation_id = $1 ORDER BY sequence",
      [conversationId],
    );
    expect(turns.rows.map((r) => r.sequence)).toEqual([1, 2, 3]);
  });

  test("DeleteUser: later commands on the user are NOT_FOUND", async () => {
    const r = await client.call("deleteUser", { userId: bob }, { token: bobToken });
    expect(r.result?.events).toEqual(["user.deleted"]);
    expect(
      (
        await failure(
          client.call("updateUserProfile", { userId: bob, displayName: "B" }, { token: bobToken }),
        )
      ).code,
    ).toBe("NOT_FOUND");
  });

  test("DEADLINE_EXCEEDED when the caller's deadline passes first", async () => {
    const f = await failure(
      client.call(
        "createUser",
        { email: "late@example.com", displayName: "Late" },
        { token: admin, deadline: Date.now() + 1 },
      ),
    );
    expect(f.code).toBe("DEADLINE_EXCEEDED");
  });
});
